import { DeliveryState, type EndpointHealth } from "@herald/contracts";
import { KeyedSerializer } from "@herald/platform";
import { Collections } from "@herald/platform/model";
import { type AnyBulkWriteOperation, type Collection, type Db, MongoBulkWriteError } from "mongodb";
import { type AttemptDocument, type DeliveryDocument, deliveriesCollection } from "./documents.js";
import {
  type EndpointHealthDocument,
  endpointHealth,
  rollupIdsToRead,
  rollupUpdates,
} from "./endpoint-health.js";

/** Most backlog deliveries counted; beyond, the figure says "more than". */
export const BACKLOG_COUNT_LIMIT = 10_000;

export function endpointHealthCollection(db: Db): Collection<EndpointHealthDocument> {
  return db.collection<EndpointHealthDocument>(Collections.endpointHealth);
}

/**
 * Audit's rollups of attempts per endpoint and time bucket: written as attempts are recorded, read by
 * GetEndpointHealth. `$inc` upserts are not atomic on every server (docs/storage.md), so the updates of
 * one rollup are serialized within the process; across audit instances two batches touching one
 * rollup at once can still lose one's counts there (not on MongoDB).
 */
export class EndpointHealthStore {
  readonly #rollups: Collection<EndpointHealthDocument>;
  readonly #deliveries: Collection<DeliveryDocument>;
  readonly #writes = new KeyedSerializer();

  constructor(auditDb: Db) {
    this.#rollups = endpointHealthCollection(auditDb);
    this.#deliveries = deliveriesCollection(auditDb);
  }

  /** Adds newly stored attempts to their rollups: one upsert per rollup touched, in one bulk write. */
  add(attempts: readonly AttemptDocument[]): Promise<void> {
    if (attempts.length === 0) return Promise.resolve();
    const updates = rollupUpdates(attempts);
    return this.#writes.runAll(
      updates.map((u) => u._id),
      async () => {
        const ops: AnyBulkWriteOperation<EndpointHealthDocument>[] = updates.map((u) => ({
          updateOne: { filter: { _id: u._id }, update: u.update, upsert: true },
        }));
        try {
          await this.#rollups.bulkWrite(ops, { ordered: false });
        } catch (err) {
          // Another instance inserted one of the new rollups first: the failed upserts now find it.
          const failed = duplicateKeyIndexes(err);
          if (failed === undefined) throw err;
          await this.#rollups.bulkWrite(
            ops.filter((_, i) => failed.has(i)),
            { ordered: false },
          );
        }
      },
    );
  }

  /** The endpoint's health at `now`: 180 rollups read by `_id`, and a bounded count of its backlog. */
  async health(tenantId: string, endpointId: string, now: Date): Promise<EndpointHealth> {
    const [rollups, backlog] = await Promise.all([
      this.#rollups.find({ _id: { $in: rollupIdsToRead(endpointId, now) }, tenant_id: tenantId }).toArray(),
      this.#deliveries.countDocuments(
        {
          tenant_id: tenantId,
          endpoint_id: endpointId,
          state: { $in: [DeliveryState.FAILED, DeliveryState.PENDING] },
        },
        { limit: BACKLOG_COUNT_LIMIT + 1 },
      ),
    ]);
    return endpointHealth(
      { tenantId, endpointId },
      rollups,
      { count: Math.min(backlog, BACKLOG_COUNT_LIMIT), truncated: backlog > BACKLOG_COUNT_LIMIT },
      now,
    );
  }
}

/** Indexes of the failed operations when all failed on a duplicate key; otherwise undefined. */
function duplicateKeyIndexes(err: unknown): Set<number> | undefined {
  if (!(err instanceof MongoBulkWriteError) || err.writeConcernError) return undefined;
  const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
  if (errors.length === 0 || errors.some((e) => e.code !== 11000)) return undefined;
  return new Set(errors.map((e) => e.index));
}
