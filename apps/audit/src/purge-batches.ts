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
}

/**
 * Deletes every document matching `filter`, `batchSize` at a time: the ids of a batch are read, then
 * deleted by `_id`, then the purge pauses. A delete by a list of ids is one short write, so no single
 * write holds the database long enough to delay deliveries, and no TTL index is needed: one code path on
 * every server (see docs/storage.md). Returns how many documents were deleted.
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
    if (batch.length < options.batchSize) break;
    await sleep(options.pauseMs, undefined, { signal: options.signal }).catch(() => undefined);
  }
  return deleted;
}
