import { configFields, serviceConfigSchema } from "@herald/platform";
import { operatorTenant } from "@herald/platform/model";
import type { z } from "zod";

/** A duration of at least 100 ms: a purge interval of zero would run without a break. */
const interval = configFields.duration.refine((ms) => ms >= 100, "must be at least 100ms");

/** Variables of the audit service: the common ones plus how attempt records are batched. */
export const configSchema = serviceConfigSchema(7004).extend({
  /**
   * Records written to MongoDB in one batch; also sizes the consumer's prefetch. A bigger batch carries
   * more per write round trip, so audit keeps up with delivery (docs/decisions/throughput-defaults.md).
   */
  AUDIT_BATCH_SIZE: configFields.positiveInt
    .max(5_000)
    .default(800)
    .describe("attempt records per MongoDB write"),
  /** Longest a record waits for its batch to fill before it is written anyway, in ms. */
  AUDIT_BATCH_DELAY_MS: configFields.positiveInt
    .max(10_000)
    .default(50)
    .describe("the longest a record waits for its batch, in ms"),
  /**
   * Longest the attempts of a write wait for their endpoint health rollups, which are then written for
   * every write in that time at once: one upsert per endpoint and bucket rather than one per write. The
   * records are acked once their rollups are written (docs/decisions/endpoint-health-rollups.md).
   */
  HEALTH_ROLLUP_INTERVAL: configFields.duration
    .refine((ms) => ms <= 10_000, "must be at most 10s")
    .default(1_000)
    .describe("the longest attempts wait for their endpoint health rollups, which are written together"),
  /**
   * Database of audit's own collections (attempts, deliveries, event_routes); default MONGO_DB. Events
   * and endpoints are read from MONGO_DB. A server that writes one transaction per database at a time
   * then writes audit records and ingest's events at once (see docs/storage.md).
   */
  AUDIT_MONGO_DB: configFields.databaseName.optional().meta({
    description: "database of attempts, deliveries and routes; events and endpoints stay in `MONGO_DB`",
    defaultText: "`MONGO_DB` (`npm start`: `herald_audit`)",
  }),
  /** Most deliveries one Recover or Redrive call publishes again. */
  AUDIT_REPLAY_LIMIT: configFields.positiveInt
    .max(10_000)
    .default(1_000)
    .describe("deliveries one Recover or Redrive call requeues (it answers `truncated` when more match)"),
  /** Days events (with payloads), deliveries and attempts are kept for tenants without their own. */
  HERALD_RETENTION_DAYS: configFields.positiveInt
    .max(3650)
    .default(30)
    .describe(
      "days events (with payloads), deliveries and attempts are kept unless the tenant sets `retention_days`",
    ),
  RETENTION_PURGE_INTERVAL: interval
    .default(3_600_000)
    .describe("how often data older than its retention is purged"),
  /** How often tenants being deleted are looked for and purged. */
  TENANT_PURGE_INTERVAL: interval.default(10_000).describe("how often deleted tenants are purged"),
  /**
   * How long after DeleteTenant the purge still expects stragglers (a publish racing the deletion, an
   * ingest whose cache missed it: at most its 30 s expiry); the id is free again after it.
   */
  TENANT_PURGE_GRACE: configFields.duration
    .default(60_000)
    .describe("a deleted tenant's id is free again after the first purge pass past this"),
  /**
   * How often audit counts every endpoint's backlog for GetEndpointHealth, reading the unfinished
   * deliveries (FAILED, PENDING) by an index: one pass for all endpoints rather than a count per call.
   */
  HEALTH_BACKLOG_INTERVAL: interval
    .default(300_000)
    .describe("how often the endpoints' backlogs shown by GetEndpointHealth are counted"),
  PURGE_BATCH_SIZE: configFields.positiveInt
    .max(10_000)
    .default(100)
    .describe("documents one purge delete removes at most"),
  /** Pause between two purge batches, so deliveries never wait behind a purge. */
  PURGE_BATCH_PAUSE: configFields.duration
    .default(50)
    .describe("the shortest pause between two purge deletes"),
  /** The purge pauses longer after a slow delete, so it never takes more than this share of the database's time. */
  PURGE_MAX_BUSY_SHARE: configFields.share
    .default(0.2)
    .describe(
      "largest share of time the purge spends reading and deleting: after a read or delete of t ms it pauses at least t × (1 − share) / share (1: only `PURGE_BATCH_PAUSE`)",
    ),
  HERALD_OPERATOR_TENANT: operatorTenant,
  /** Dead letters of one tenant within DEAD_LETTERS_GROWING_WINDOW that emit `herald.dead_letters.growing`. */
  DEAD_LETTERS_GROWING_COUNT: configFields.positiveInt
    .default(100)
    .describe(
      "dead-lettered deliveries of a tenant within `DEAD_LETTERS_GROWING_WINDOW` (counted per audit instance) that emit `herald.dead_letters.growing`, once per window",
    ),
  DEAD_LETTERS_GROWING_WINDOW: configFields.duration
    .refine((ms) => ms >= 60_000, "must be at least 1m")
    .default(900_000)
    .describe("the window, aligned to the clock, in which a tenant's dead letters are counted"),
});

export type AuditConfig = z.infer<typeof configSchema>;
