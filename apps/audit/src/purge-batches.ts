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
  /** Aborted: stop after the batch under way. */
  signal?: AbortSignal;
  /** Told how many documents each batch deleted, as it goes: a long purge shows its progress. */
  onBatch?(deleted: number): void;
}

/** Ids one read selects at most: a read that must scan the collection runs once per this many. */
const IDS_PER_READ = 10_000;

/**
 * Deletes every document matching `filter`, `batchSize` at a time, pausing between batches: up to
 * 10,000 ids are read at once, then deleted by `_id`. Deletes by a list of ids are short writes, and the
 * part of a filter an index does not serve (`tenant_id: {$nin}` beside the time range) is checked once
 * per 10,000 documents rather than once per batch. No TTL index is needed, so one code path serves every
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
  let pauseMs = options.pauseMs;
  let deleted = 0;
  while (!options.signal?.aborted) {
    const selected = await collection
      .find(filter, { projection: { _id: 1 } })
      .limit(readLimit)
      .toArray();
    for (let start = 0; start < selected.length && !options.signal?.aborted; start += options.batchSize) {
      if (start > 0 || deleted > 0) {
        await sleep(pauseMs, undefined, { signal: options.signal }).catch(() => undefined);
        if (options.signal?.aborted) break;
      }
      const ids = selected.slice(start, start + options.batchSize).map((doc) => doc._id);
      const started = now();
      const result = await collection.deleteMany({ _id: { $in: ids } } as Filter<T>);
      pauseMs = pauseAfter(now() - started, options.pauseMs, share);
      deleted += result.deletedCount;
      if (result.deletedCount > 0) options.onBatch?.(result.deletedCount);
    }
    if (selected.length < readLimit) break;
  }
  return deleted;
}

/** The pause after a delete that took `elapsedMs`, so deletes fill at most `share` of the time. */
export function pauseAfter(elapsedMs: number, minPauseMs: number, share: number): number {
  if (!(share > 0 && share < 1)) return minPauseMs;
  return Math.max(minPauseMs, Math.ceil((elapsedMs * (1 - share)) / share));
}
