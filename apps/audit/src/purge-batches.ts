import { setTimeout as sleep } from "node:timers/promises";
import type { Collection, Filter } from "mongodb";

/** How a purge deletes: a bounded batch at a time, with a pause between batches. */
export interface BatchOptions {
  /** Documents one delete removes at most. */
  batchSize: number;
  /** Pause between two batches, so a purge never holds the database for long. */
  pauseMs: number;
  /** Aborted: stop after the batch under way. */
  signal?: AbortSignal;
  /** Told how many documents each batch deleted, as it goes: a long purge shows its progress. */
  onBatch?(deleted: number): void;
}

/**
 * Deletes every document matching `filter`, `batchSize` at a time: the ids of a batch are read, then
 * deleted by `_id`, then the purge pauses. A delete by a list of ids is one short write on MongoDB and
 * on the embedded FerretDB (which looks documents up by `_id` only and scans for any other filter), so
 * no single write holds the database long enough to delay deliveries, and no TTL index is needed: the
 * same code path serves both servers. Returns how many documents were deleted.
 */
export async function purgeInBatches<T extends { _id: string }>(
  collection: Collection<T>,
  filter: Filter<T>,
  options: BatchOptions,
): Promise<number> {
  let deleted = 0;
  while (!options.signal?.aborted) {
    const batch = await collection
      .find(filter, { projection: { _id: 1 } })
      .limit(options.batchSize)
      .toArray();
    if (batch.length === 0) break;
    const ids = batch.map((doc) => doc._id);
    const result = await collection.deleteMany({ _id: { $in: ids } } as Filter<T>);
    deleted += result.deletedCount;
    if (result.deletedCount > 0) options.onBatch?.(result.deletedCount);
    if (batch.length < options.batchSize) break;
    await sleep(options.pauseMs, undefined, { signal: options.signal }).catch(() => undefined);
  }
  return deleted;
}
