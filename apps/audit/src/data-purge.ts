import { Collections, type TenantDocument, tenantsCollection } from "@herald/platform/model";
import type { Collection, Db, Filter } from "mongodb";
import type { Logger } from "pino";
import { ROLLUP_RETENTION_MS } from "./endpoint-health.js";
import { type AgeSelection, type BatchOptions, purgeInBatches, purgeOlderThan } from "./purge-batches.js";

/** A document any purge can remove: keyed by a string id. */
type Purgeable = { _id: string };

/** One collection of a tenant's data, and the field that dates each document. */
interface TenantData {
  name: string;
  collection: Collection<Purgeable>;
  timeField: string;
}

/** Why documents were purged. */
export type PurgeReason = "tenant_deleted" | "retention";

/** Options of {@link DataPurge}. */
export interface DataPurgeOptions {
  /** Holds tenants, events and the delivery limits' state. */
  db: Db;
  /** Holds audit's deliveries, attempts and event routes (AUDIT_MONGO_DB; may be `db`). */
  auditDb: Db;
  batch: Omit<BatchOptions, "signal">;
  /** Days data is kept for tenants without their own retention. */
  defaultRetentionDays: number;
  /**
   * How long after DeleteTenant a purge pass still expects stragglers: events stored by a publish that
   * raced the deletion (or by an ingest whose cache missed the change), records still queued. The
   * first full pass after this marks the tenant purged, which frees its id.
   */
  tenantPurgeGraceMs: number;
  logger: Logger;
  /** Told how many documents each batch of a purge removed, by collection and reason. */
  onPurged?(collection: string, reason: PurgeReason, count: number): void;
}

const DAY_MS = 86_400_000;

/**
 * Removes data that must go: everything of a deleted tenant, and anything older than its tenant's
 * retention. It runs in the audit service, the one service that reaches both databases (events live in
 * MONGO_DB, audit's records in AUDIT_MONGO_DB); see docs/decisions/tenant-purge-and-retention.md.
 * Every delete goes through {@link purgeInBatches} or {@link purgeOlderThan}, so a purge never holds the
 * database for long.
 */
export class DataPurge {
  readonly #options: DataPurgeOptions;
  readonly #tenants: Collection<TenantDocument>;
  /** Events first: the payloads are what matters most, and audit's records mean nothing without them. */
  readonly #data: TenantData[];
  readonly #limitState: Collection<Purgeable & { endpoint_id: string }>[];
  /** Endpoint health rollups: aggregates without payloads, kept for a fixed time whatever the retention. */
  readonly #rollups: TenantData;

  constructor(options: DataPurgeOptions) {
    this.#options = options;
    const { db, auditDb } = options;
    this.#tenants = tenantsCollection(db);
    this.#data = [
      { name: Collections.events, collection: db.collection(Collections.events), timeField: "create_time" },
      {
        name: Collections.eventRoutes,
        collection: auditDb.collection(Collections.eventRoutes),
        timeField: "route_time",
      },
      {
        name: Collections.deliveries,
        collection: auditDb.collection(Collections.deliveries),
        timeField: "update_time",
      },
      {
        name: Collections.attempts,
        collection: auditDb.collection(Collections.attempts),
        timeField: "attempt_time",
      },
    ];
    this.#rollups = {
      name: Collections.endpointHealth,
      collection: auditDb.collection(Collections.endpointHealth),
      timeField: "bucket_start",
    };
    this.#limitState = [db.collection(Collections.rateLimits), db.collection(Collections.concurrencySlots)];
  }

  /**
   * Purges every tenant being deleted. A tenant whose grace period had ended when its pass began is
   * then marked purged (`purge_time`), so its id can be created again. Returns the ids of those.
   */
  async purgeDeletedTenants(now: Date, signal?: AbortSignal): Promise<string[]> {
    const deleting = await this.#tenants
      .find(
        { delete_time: { $exists: true }, purge_time: { $exists: false } },
        { projection: { delete_time: 1, deleted_endpoint_ids: 1 } },
      )
      .toArray();
    const finished: string[] = [];
    for (const tenant of deleting) {
      if (signal?.aborted) break;
      const graceOver =
        now.getTime() - (tenant.delete_time as Date).getTime() >= this.#options.tenantPurgeGraceMs;
      for (const data of [...this.#data, this.#rollups]) {
        await this.#purge(data.name, data.collection, { tenant_id: tenant._id }, "tenant_deleted", signal);
      }
      const endpointIds = tenant.deleted_endpoint_ids ?? [];
      if (endpointIds.length > 0) {
        for (const state of this.#limitState) {
          await this.#purge(
            state.collectionName,
            state,
            { endpoint_id: { $in: endpointIds } },
            "tenant_deleted",
            signal,
          );
        }
      }
      if (graceOver && !signal?.aborted) {
        // A tombstone stays (see TenantDocument.purge_time), emptied of what described the tenant.
        await this.#tenants.updateOne(
          { _id: tenant._id, delete_time: tenant.delete_time },
          {
            $set: { purge_time: now, name: "", metadata: {}, "settings.retention_days": 0 },
            $unset: { deleted_endpoint_ids: "" },
          },
        );
        this.#options.logger.info({ tenantId: tenant._id }, "deleted tenant purged; its id is free again");
        finished.push(tenant._id);
      }
    }
    return finished;
  }

  /**
   * Purges what is older than its tenant's retention (`settings.retention_days`, else the platform
   * default): one pass over everything older than the default cutoff, which keeps what tenants with a
   * longer retention still keep, then one pass per tenant with a shorter one. Data of tenants that no
   * longer exist gets the default. Endpoint health rollups go after ROLLUP_RETENTION_MS (8 days) for
   * every tenant. Returns how many documents were removed.
   */
  async purgeExpired(now: Date, signal?: AbortSignal): Promise<number> {
    const custom = await this.#tenants
      .find({ "settings.retention_days": { $gt: 0 } }, { projection: { "settings.retention_days": 1 } })
      .toArray();
    const defaultCutoff = new Date(now.getTime() - this.#options.defaultRetentionDays * DAY_MS);
    const longer = new Map<string, Date>();
    const shorter: Array<{ id: string; cutoff: Date }> = [];
    for (const tenant of custom) {
      const cutoff = new Date(now.getTime() - (tenant.settings.retention_days ?? 0) * DAY_MS);
      if (cutoff < defaultCutoff) longer.set(tenant._id, cutoff);
      else if (cutoff > defaultCutoff) shorter.push({ id: tenant._id, cutoff });
    }
    let deleted = 0;
    for (const data of this.#data) {
      deleted += await this.#purgeOlder(data, { cutoff: defaultCutoff, keptFrom: longer }, signal);
      for (const tenant of shorter) {
        deleted += await this.#purge(
          data.name,
          data.collection,
          { tenant_id: tenant.id, [data.timeField]: { $lt: tenant.cutoff } },
          "retention",
          signal,
        );
      }
    }
    const rollupCutoff = new Date(now.getTime() - ROLLUP_RETENTION_MS);
    deleted += await this.#purgeOlder(this.#rollups, { cutoff: rollupCutoff }, signal);
    return deleted;
  }

  #purgeOlder(
    data: TenantData,
    selection: Omit<AgeSelection, "timeField">,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    return this.#counted(data.name, "retention", signal, (batch) =>
      purgeOlderThan(data.collection, { ...selection, timeField: data.timeField }, batch),
    );
  }

  #purge<T extends Purgeable>(
    name: string,
    collection: Collection<T>,
    filter: Filter<T>,
    reason: PurgeReason,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    return this.#counted(name, reason, signal, (batch) => purgeInBatches(collection, filter, batch));
  }

  /** Runs one purge with the configured batches, reporting each batch and logging what it removed. */
  async #counted(
    name: string,
    reason: PurgeReason,
    signal: AbortSignal | undefined,
    purge: (batch: BatchOptions) => Promise<number>,
  ): Promise<number> {
    const count = await purge({
      ...this.#options.batch,
      signal,
      onBatch: (deleted) => this.#options.onPurged?.(name, reason, deleted),
    });
    if (count > 0) this.#options.logger.info({ collection: name, reason, count }, "purged");
    return count;
  }
}

/** Options of {@link schedulePurges}. */
export interface PurgeSchedule {
  /** How often tenants being deleted are looked for and purged. */
  tenantPurgeIntervalMs: number;
  /** How often expired data is purged. */
  retentionPurgeIntervalMs: number;
  logger: Logger;
  now?: () => Date;
}

/**
 * Runs the purges in the background, each on its own interval and never two runs of one at once.
 * Returns a function that stops them, waiting for the batch under way.
 */
export function schedulePurges(purge: DataPurge, schedule: PurgeSchedule): () => Promise<void> {
  const now = schedule.now ?? (() => new Date());
  const stopping = new AbortController();
  const running = new Set<Promise<unknown>>();
  const every = (ms: number, what: string, run: (signal: AbortSignal) => Promise<unknown>) => {
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
      const pass = run(stopping.signal)
        .catch((err) => schedule.logger.warn({ err }, `${what} failed; retried on the next run`))
        .finally(() => {
          running.delete(pass);
          if (!stopping.signal.aborted) timer = setTimeout(tick, ms).unref();
        });
      running.add(pass);
    };
    timer = setTimeout(tick, ms).unref();
    return () => clearTimeout(timer);
  };
  const cancel = [
    every(schedule.tenantPurgeIntervalMs, "tenant purge", (signal) =>
      purge.purgeDeletedTenants(now(), signal),
    ),
    every(schedule.retentionPurgeIntervalMs, "retention purge", (signal) =>
      purge.purgeExpired(now(), signal),
    ),
  ];
  return async () => {
    stopping.abort();
    for (const c of cancel) c();
    await Promise.all(running);
  };
}
