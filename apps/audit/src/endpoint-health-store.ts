import { DeliveryState, type EndpointHealth } from "@herald/contracts";
import { KeyedSerializer, type Logger } from "@herald/platform";
import { Collections } from "@herald/platform/model";
import { type AnyBulkWriteOperation, type Collection, type Db, MongoBulkWriteError } from "mongodb";
import { type AttemptDocument, type DeliveryDocument, deliveriesCollection } from "./documents.js";
import {
  type EndpointHealthDocument,
  endpointHealth,
  rollupIdsToRead,
  rollupUpdates,
} from "./endpoint-health.js";

/** The states of a delivery that is still to be attempted: what an endpoint's backlog counts. */
const BACKLOG_STATES = [DeliveryState.FAILED, DeliveryState.PENDING];

/** Tenants whose backlogs one read counts: the `$in` of tenant ids stays short. */
const BACKLOG_TENANTS_PER_READ = 100;

/** `_id` of the document that says when the backlogs were last counted. */
const BACKLOG_SWEEP_ID = "backlog-sweep";

/** `_id` of the marker that says the attempts of write `batch` are in their rollups. */
function countedBatchId(batch: string): string {
  return `counted:${batch}`;
}

/** `_id` of an endpoint's backlog, as of the last count. */
function backlogId(endpointId: string): string {
  return `${endpointId}:backlog`;
}

/** An endpoint's backlog as of `bucket_start`, or (`_id` {@link BACKLOG_SWEEP_ID}) when the last count ran. */
interface BacklogDocument {
  _id: string;
  tenant_id?: string;
  endpoint_id?: string;
  backlog?: number;
  bucket_start: Date;
}

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
  readonly #backlogs: Collection<BacklogDocument>;
  readonly #writes = new KeyedSerializer();

  constructor(auditDb: Db) {
    this.#rollups = endpointHealthCollection(auditDb);
    this.#deliveries = deliveriesCollection(auditDb);
    this.#backlogs = auditDb.collection<BacklogDocument>(Collections.endpointHealth);
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

  /**
   * Records that the attempts of each write of `batches` are in their rollups: one small document per
   * write, purged with the rollups (`bucket_start`), all in one insert.
   */
  async markCounted(batches: readonly string[], now: Date): Promise<void> {
    if (batches.length === 0) return;
    await this.#backlogs.insertMany(
      batches.map((batch) => ({ _id: countedBatchId(batch), bucket_start: now })),
    );
  }

  /** Which of `batches` are marked counted, read by `_id`. */
  async countedBatches(batches: readonly string[]): Promise<Set<string>> {
    if (batches.length === 0) return new Set();
    const marked = await this.#backlogs
      .find({ _id: { $in: batches.map(countedBatchId) } }, { projection: { _id: 1 } })
      .toArray();
    return new Set(marked.map((m) => m._id.slice("counted:".length)));
  }

  /**
   * Counts the backlog of every endpoint of `tenantIds` and stores it by endpoint: deliveries whose
   * retry is due (FAILED) or that a replay queued (PENDING). It reads only those deliveries, by the
   * index that leads with `tenant_id, state` (Redrive's), a hundred tenants a read, so a count costs
   * what the backlogs hold, not what the deliveries ever were. An endpoint left out of a count has none;
   * its stored figure, older than the count, then reads as 0.
   */
  async countBacklogs(tenantIds: readonly string[], now: Date): Promise<number> {
    const byEndpoint = new Map<string, { tenant: string; endpoint: string; n: number }>();
    for (let i = 0; i < tenantIds.length; i += BACKLOG_TENANTS_PER_READ) {
      const unfinished = this.#deliveries.find(
        {
          tenant_id: { $in: tenantIds.slice(i, i + BACKLOG_TENANTS_PER_READ) },
          state: { $in: BACKLOG_STATES },
        },
        { projection: { _id: 0, tenant_id: 1, endpoint_id: 1 } },
      );
      for await (const d of unfinished) {
        const key = `${d.tenant_id}\u0000${d.endpoint_id}`;
        const count = byEndpoint.get(key);
        if (count) count.n++;
        else byEndpoint.set(key, { tenant: d.tenant_id, endpoint: d.endpoint_id, n: 1 });
      }
    }
    const counts = [...byEndpoint.values()].map((c) => ({
      _id: { tenant: c.tenant, endpoint: c.endpoint },
      n: c.n,
    }));
    const ops: AnyBulkWriteOperation<BacklogDocument>[] = counts.map((c) => ({
      replaceOne: {
        filter: { _id: backlogId(c._id.endpoint) },
        replacement: {
          tenant_id: c._id.tenant,
          endpoint_id: c._id.endpoint,
          backlog: c.n,
          bucket_start: now,
        },
        upsert: true,
      },
    }));
    ops.push({
      replaceOne: { filter: { _id: BACKLOG_SWEEP_ID }, replacement: { bucket_start: now }, upsert: true },
    });
    await this.#backlogs.bulkWrite(ops, { ordered: false });
    return counts.length;
  }

  /** The endpoint's health at `now`: its 180 rollups, its backlog and the last count's time, by `_id`. */
  async health(tenantId: string, endpointId: string, now: Date): Promise<EndpointHealth> {
    return (await this.healthOfEndpoints(tenantId, [endpointId], now))[0] as EndpointHealth;
  }

  /** The health of each of the tenant's `endpointIds`, in their order, read in two queries by `_id`. */
  async healthOfEndpoints(
    tenantId: string,
    endpointIds: readonly string[],
    now: Date,
  ): Promise<EndpointHealth[]> {
    const [rollups, backlogs] = await Promise.all([
      this.#rollups
        .find({ _id: { $in: endpointIds.flatMap((id) => rollupIdsToRead(id, now)) }, tenant_id: tenantId })
        .toArray(),
      this.#backlogs.find({ _id: { $in: [...endpointIds.map(backlogId), BACKLOG_SWEEP_ID] } }).toArray(),
    ]);
    const sweep = backlogs.find((b) => b._id === BACKLOG_SWEEP_ID);
    return endpointIds.map((endpointId) => {
      const own = backlogs.find((b) => b._id === backlogId(endpointId) && b.tenant_id === tenantId);
      const current = own && sweep && own.bucket_start >= sweep.bucket_start;
      return endpointHealth(
        { tenantId, endpointId },
        rollups.filter((r) => r.endpoint_id === endpointId),
        { count: current ? (own.backlog ?? 0) : 0, countTime: sweep?.bucket_start },
        now,
      );
    });
  }
}

/** Indexes of the failed operations when all failed on a duplicate key; otherwise undefined. */
function duplicateKeyIndexes(err: unknown): Set<number> | undefined {
  if (!(err instanceof MongoBulkWriteError) || err.writeConcernError) return undefined;
  const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
  if (errors.length === 0 || errors.some((e) => e.code !== 11000)) return undefined;
  return new Set(errors.map((e) => e.index));
}

/**
 * Counts the backlogs of the tenants `tenantIds` lists now and then every `intervalMs`, never two counts
 * at once. Returns a function that
 * stops the schedule, waiting for a count under way.
 */
export function scheduleBacklogCounts(
  store: EndpointHealthStore,
  tenantIds: () => Promise<string[]>,
  intervalMs: number,
  logger: Logger,
  now: () => Date = () => new Date(),
): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = tenantIds()
      .then((ids) => store.countBacklogs(ids, now()))
      .then(() => undefined)
      .catch((err) => logger.warn({ err }, "endpoint backlog count failed; retried on the next run"))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs).unref();
      });
  };
  timer = setTimeout(tick, 0).unref();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
