import { AuditService } from "@herald/contracts";
import { ensureIndexes, type IndexPlan, openQueue, type ServiceDefinition } from "@herald/platform";
import {
  apiKeyAuthentication,
  auditRecordQueue,
  Collections,
  ControlPlaneCache,
  controlFeed,
  deadTaskQueue,
  eventQueue,
  isOperationalEventType,
  OperationalEmitter,
  taskQueue,
  tenantsCollection,
} from "@herald/platform/model";
import { AttemptLogReader } from "./attempt-log-reader.js";
import { AttemptLogWriter } from "./attempt-log-writer.js";
import { auditMetrics } from "./audit-metrics.js";
import { configSchema } from "./config.js";
import { DataPurge, schedulePurges } from "./data-purge.js";
import { DeadLetterGrowth } from "./dead-letter-growth.js";
import { consumeDeadTasks } from "./dead-tasks.js";
import { dropRecordsOfDeletedTenants, refuseDeletedTenants } from "./deleted-tenants.js";
import { EndpointHealthStore, scheduleBacklogCounts } from "./endpoint-health-store.js";
import { createAuditHandlers } from "./handlers.js";
import { auditWritesAtOnce, consumeAuditRecords } from "./record-writer.js";
import { Replayer } from "./replay.js";
import { warmUpRecordPath } from "./warm-up.js";

/**
 * Indexes of the audit service's queries: equality fields first, then the sort or range fields, so an
 * index serves each read on MongoDB and on the embedded server (query-plans.int.test.ts checks them).
 * ListEvents uses ingest's indexes on events.
 */
export const auditIndexes: IndexPlan = {
  [Collections.attempts]: [
    // ListAttempts by tenant, newest first, and its page cursor; the tenant purge.
    { key: { tenant_id: 1, attempt_time: -1, _id: -1 } },
    // ListAttempts by event.
    { key: { tenant_id: 1, event_id: 1, attempt_time: -1, _id: -1 } },
    // ListAttempts by endpoint.
    { key: { tenant_id: 1, endpoint_id: 1, attempt_time: -1, _id: -1 } },
    // The retention purge.
    { key: { attempt_time: 1 } },
  ],
  [Collections.eventRoutes]: [
    // The tenant purge and the retention purge.
    { key: { tenant_id: 1, route_time: 1 } },
    { key: { route_time: 1 } },
  ],
  [Collections.deliveries]: [
    // The retention purge.
    { key: { update_time: 1 } },
    // Recover, and Redrive of one endpoint.
    { key: { tenant_id: 1, endpoint_id: 1, state: 1, last_attempt_time: 1, _id: 1 } },
    // GetEvent; the tenant purge.
    { key: { tenant_id: 1, event_id: 1, endpoint_id: 1 } },
    // Redrive of a whole tenant.
    { key: { tenant_id: 1, state: 1, last_attempt_time: 1, _id: 1 } },
  ],
  [Collections.endpointHealth]: [
    // The tenant purge and the retention purge; GetEndpointHealth reads by _id.
    { key: { tenant_id: 1 } },
    { key: { bucket_start: 1 } },
  ],
};

/**
 * The audit service: writes attempt records in batches, keeps one delivery status per (event,
 * endpoint), records dead-lettered tasks, answers AuditService queries and publishes replays.
 */
export const auditService: ServiceDefinition<typeof configSchema> = {
  name: "audit",
  authentication: apiKeyAuthentication,
  configSchema,
  async start(ctx) {
    const { config, logger, mongo, metrics } = ctx;
    const auditDb = config.AUDIT_MONGO_DB ? mongo.client.db(config.AUDIT_MONGO_DB) : mongo.db;
    await ensureIndexes(auditDb, auditIndexes);
    // One writer for every consumer: it serializes the updates of each delivery within the instance.
    const writer = new AttemptLogWriter(auditDb, { rollupIntervalMs: config.HEALTH_ROLLUP_INTERVAL });
    const writesAtOnce = auditWritesAtOnce(mongo.capabilities);
    const reader = new AttemptLogReader(mongo.db, auditDb);
    const recorders = auditMetrics(metrics);
    // Control notifications drop a changed tenant at once, a deleted one included, so calls about it are
    // refused from then on; an instance that was disconnected drops every tenant when it reconnects.
    const tenants = new ControlPlaneCache(mongo.db);
    controlFeed(ctx).listen((change) => tenants.onControlChange(change));
    const { consumer, batcher } = consumeAuditRecords(openQueue(auditRecordQueue, ctx), {
      logger,
      writer,
      batchSize: config.AUDIT_BATCH_SIZE,
      batchDelayMs: config.AUDIT_BATCH_DELAY_MS,
      writesAtOnce,
      onWritten: recorders.recordWrite,
      // A deletion whose notification was missed reaches the cache within its expiry (30 s), well
      // inside the purge's grace period, which catches what was written meanwhile.
      keep: dropRecordsOfDeletedTenants((tenantId) => tenants.tenant(tenantId), config.TENANT_PURGE_GRACE),
    });
    const operational = new OperationalEmitter({
      db: mongo.db,
      events: openQueue(eventQueue, ctx),
      operatorTenantId: config.HERALD_OPERATOR_TENANT,
      logger,
    });
    const growth = new DeadLetterGrowth({
      threshold: config.DEAD_LETTERS_GROWING_COUNT,
      windowMs: config.DEAD_LETTERS_GROWING_WINDOW,
    });
    const deadTasks = consumeDeadTasks(openQueue(deadTaskQueue, ctx), {
      logger,
      writer,
      batchDelayMs: config.AUDIT_BATCH_DELAY_MS,
      writesAtOnce,
      onRecorded(task) {
        // Dead operational events are not counted: they would report themselves (see delivery's rule).
        if (isOperationalEventType(task.eventType)) return;
        const fact = growth.record(task.tenantId, Date.now());
        if (fact) void operational.emit(fact);
      },
    });
    const health = new EndpointHealthStore(auditDb);
    const stopBacklogCounts = scheduleBacklogCounts(
      health,
      // The tenants collection holds one small document per tenant, read whole as the purges do.
      () =>
        tenantsCollection(ctx.mongo.db)
          .find({}, { projection: { _id: 1 } })
          .map((tenant) => tenant._id)
          .toArray(),
      config.HEALTH_BACKLOG_INTERVAL,
      logger,
    );
    const handlers = refuseDeletedTenants(
      createAuditHandlers({
        reader,
        replayer: new Replayer(reader, writer, openQueue(taskQueue, ctx)),
        health,
        replayLimit: config.AUDIT_REPLAY_LIMIT,
      }),
      (tenantId) => tenants.tenant(tenantId),
    );
    const stopPurges = schedulePurges(
      new DataPurge({
        db: mongo.db,
        auditDb,
        batch: {
          batchSize: config.PURGE_BATCH_SIZE,
          pauseMs: config.PURGE_BATCH_PAUSE,
          maxBusyShare: config.PURGE_MAX_BUSY_SHARE,
        },
        defaultRetentionDays: config.HERALD_RETENTION_DAYS,
        tenantPurgeGraceMs: config.TENANT_PURGE_GRACE,
        logger,
        onPurged: recorders.countPurged,
      }),
      {
        tenantPurgeIntervalMs: config.TENANT_PURGE_INTERVAL,
        retentionPurgeIntervalMs: config.RETENTION_PURGE_INTERVAL,
        logger,
      },
    );
    return {
      services: [AuditService],
      routes: (router) => router.service(AuditService, handlers),
      consumers: [consumer, deadTasks.consumer],
      // Parked messages come from every work queue; audit, which keeps the records, reports them.
      queues: [ctx.names.queues.auditAttempts, ctx.names.queues.deliveryDead, ctx.names.queues.parked],
      warmUp: async () => {
        await warmUpRecordPath();
      },
      // The consumers have stopped and their handlers awaited their batches; nothing should be left, but
      // a batch still being written must finish before MongoDB closes.
      stop: async () => {
        await Promise.all([stopPurges(), stopBacklogCounts()]);
        await Promise.all([batcher.drain(), deadTasks.batcher.drain()]);
        await writer.drainRollups();
        await operational.drain();
      },
    };
  },
};
