import { setTimeout as sleep } from "node:timers/promises";
import type { Collection, Filter } from "mongodb";

/** How a purge deletes: a bounded batch at a time, with a pause between batches. */
export interface BatchOptions {
  /** Documents one delete removes at most. */
  batchSize: number;
  /** Shortest pause between two batches, so a purge never holds the database for long. */
  pauseMs: number;
  /**
   * The largest share of time (0 < share <= 1) the purge may spend in deletes: after a delete that took
   * `t` ms it pauses at least `t * (1 - share) / share`. A busy database answers deletes slower, so the
   * purge backs off exactly when deliveries need the database most. 1 leaves only `pauseMs`.
   */
  maxBusyShare?: number;
  /** Reads the time in ms; tests pass a fake clock. */
  now?(): number;
  /** Waits `ms` (resolving early when `signal` aborts); tests pass a fake one. */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
  /** Aborted: stop after the batch under way. */
  signal?: AbortSignal;
  /** Told how many documents each batch deleted, as it goes: a long purge shows its progress. */
  onBatch?(deleted: number): void;
}

/** Ids one read selects at most: a read that must scan the collection runs once per this many. */
const IDS_PER_READ = 10_000;

/**
 * Deletes every document matching `filter`, `batchSize` at a time: up to 10,000 ids are read at once,
 * then deleted by `_id`. Deletes by a list of ids are short writes, and the part of a filter an index
 * does not serve (`tenant_id: {$nin}` beside the time range) is checked once per read rather than once
 * per batch. Every read and delete is followed by a pause sized by {@link pauseAfter}, so the purge's
 * share of the database's time stays bounded. No TTL index is needed, so one code path serves every
 * server. Returns how many documents were deleted.
 */
export async function purgeInBatches<T extends { _id: string }>(
  collection: Collection<T>,
  filter: Filter<T>,
  options: BatchOptions,
): Promise<number> {
  const readLimit = Math.max(IDS_PER_READ, options.batchSize);
  const now = options.now ?? performance.now.bind(performance);
  const share = options.maxBusyShare ?? 1;
  const { signal } = options;
  const pause =
    options.sleep ??
    ((ms: number, signal?: AbortSignal) =>
      sleep(ms, undefined, { signal }).catch(() => undefined) as Promise<void>);
  /** Runs one database call after the pause its predecessor asked for, and sizes the next pause. */
  let pauseMs = 0;
  const paced = async <R>(call: () => Promise<R>): Promise<R | undefined> => {
    if (pauseMs > 0) await pause(pauseMs, signal);
    if (signal?.aborted) return undefined;
    const started = now();
    const result = await call();
    pauseMs = pauseAfter(now() - started, options.pauseMs, share);
    return result;
  };
  let deleted = 0;
  while (!signal?.aborted) {
    const selected = await paced(() =>
      collection
        .find(filter, { projection: { _id: 1 } })
        .limit(readLimit)
        .toArray(),
    );
    if (!selected) break;
    for (let start = 0; start < selected.length; start += options.batchSize) {
      const ids = selected.slice(start, start + options.batchSize).map((doc) => doc._id);
      const result = await paced(() => collection.deleteMany({ _id: { $in: ids } } as Filter<T>));
      if (!result) break;
      deleted += result.deletedCount;
      if (result.deletedCount > 0) options.onBatch?.(result.deletedCount);
    }
    if (selected.length < readLimit) break;
  }
  return deleted;
}

/** The pause after a read or delete that took `elapsedMs`, so they fill at most `share` of the time. */
export function pauseAfter(elapsedMs: number, minPauseMs: number, share: number): number {
  if (!(share > 0 && share < 1)) return minPauseMs;
  return Math.max(minPauseMs, Math.ceil((elapsedMs * (1 - share)) / share));
}
