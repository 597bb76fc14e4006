import { setTimeout as sleep } from "node:timers/promises";
import type { Collection, Filter } from "mongodb";

/** How a purge deletes: a bounded batch at a time, with a pause between batches. */
export interface BatchOptions {
  /** Documents one delete removes at most. */
  batchSize: number;
  /**
   * Ids one read selects at most (default 10,000, and never fewer than `batchSize`): on a server that
   * decodes each document it reads, larger reads mean fewer of them, and more ids held in memory.
   */
  idsPerRead?: number;
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

const IDS_PER_READ = 10_000;

/** One read's selection: the ids to delete, and whether it was the last read. */
interface Selected {
  ids: string[];
  last: boolean;
}

/**
 * Deletes every document matching `filter`, `batchSize` at a time: up to `idsPerRead` ids are read at once,
 * then deleted by `_id`. Deletes by a list of ids are short writes, and a filter is evaluated once per
 * read rather than once per batch. No TTL index is needed, so one code path serves every server.
 * Returns how many documents were deleted.
 */
export function purgeInBatches<T extends { _id: string }>(
  collection: Collection<T>,
  filter: Filter<T>,
  options: BatchOptions,
): Promise<number> {
  return purgeSelected(collection, options, async (limit) => {
    const docs = await collection
      .find(filter, { projection: { _id: 1 } })
      .limit(limit)
      .toArray();
    return { ids: docs.map((doc) => doc._id), last: docs.length < limit };
  });
}

/** What {@link purgeOlderThan} removes: documents dated before `cutoff`, but those a tenant keeps. */
export interface AgeSelection {
  /** The top-level field that dates each document; an index on it serves the reads. */
  timeField: string;
  cutoff: Date;
  /** Tenants (by `tenant_id`) that keep their documents dated from a cutoff of their own, earlier than `cutoff`. */
  keptFrom?: ReadonlyMap<string, Date>;
}

/**
 * Deletes the documents dated before `selection.cutoff`, except those of a tenant in `keptFrom` dated from
 * that tenant's own cutoff. Reads select by the time range alone, in time order, so the embedded server
 * translates the whole filter to an index range with the limit (`$nin` is never translated); the kept
 * documents are dropped from each read here, and the next read starts at the last time read, so a
 * tenant's kept documents are read once per pass rather than once per read. Batches, pauses and the
 * return value are those of {@link purgeInBatches}.
 */
export function purgeOlderThan<T extends { _id: string }>(
  collection: Collection<T>,
  selection: AgeSelection,
  options: BatchOptions,
): Promise<number> {
  const { timeField, cutoff, keptFrom } = selection;
  let from: { time: Date; after: boolean } | undefined;
  return purgeSelected(collection, options, async (limit) => {
    const range = from ? { [from.after ? "$gt" : "$gte"]: from.time, $lt: cutoff } : { $lt: cutoff };
    const docs = (await collection
      .find({ [timeField]: range } as Filter<T>, { projection: { _id: 1, tenant_id: 1, [timeField]: 1 } })
      .sort({ [timeField]: 1 })
      .limit(limit)
      .toArray()) as unknown as Array<{ _id: string; tenant_id?: string } & Record<string, unknown>>;
    const ids = docs.filter((doc) => !keeps(doc, doc[timeField], keptFrom)).map((doc) => doc._id);
    const first = docs[0]?.[timeField];
    const last = docs.at(-1)?.[timeField];
    if (last instanceof Date) {
      // A full read of kept documents all dated alike would come back forever: step past that time.
      const stuck = ids.length === 0 && first instanceof Date && first.getTime() === last.getTime();
      from = { time: last, after: stuck };
    }
    return { ids, last: docs.length < limit };
  });
}

/** Whether a document dated `time` is kept by its tenant's own cutoff. */
export function keeps(
  doc: { tenant_id?: string },
  time: unknown,
  keptFrom: ReadonlyMap<string, Date> | undefined,
): boolean {
  const own = doc.tenant_id === undefined ? undefined : keptFrom?.get(doc.tenant_id);
  return own !== undefined && time instanceof Date && time.getTime() >= own.getTime();
}

/**
 * Deletes what each `read` selects, `batchSize` ids at a time, until a read says it was the last. Every
 * read and delete is followed by a pause sized by {@link pauseAfter}, so the purge's share of the
 * database's time stays bounded.
 */
async function purgeSelected<T extends { _id: string }>(
  collection: Collection<T>,
  options: BatchOptions,
  read: (limit: number) => Promise<Selected>,
): Promise<number> {
  const readLimit = Math.max(options.idsPerRead ?? IDS_PER_READ, options.batchSize);
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
    const selected = await paced(() => read(readLimit));
    if (!selected) break;
    for (let start = 0; start < selected.ids.length; start += options.batchSize) {
      const ids = selected.ids.slice(start, start + options.batchSize);
      const result = await paced(() => collection.deleteMany({ _id: { $in: ids } } as Filter<T>));
      if (!result) break;
      deleted += result.deletedCount;
      if (result.deletedCount > 0) options.onBatch?.(result.deletedCount);
    }
    if (selected.last) break;
  }
  return deleted;
}

/** The pause after a read or delete that took `elapsedMs`, so they fill at most `share` of the time. */
export function pauseAfter(elapsedMs: number, minPauseMs: number, share: number): number {
  if (!(share > 0 && share < 1)) return minPauseMs;
  return Math.max(minPauseMs, Math.ceil((elapsedMs * (1 - share)) / share));
}
