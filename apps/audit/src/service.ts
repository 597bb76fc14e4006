import { AuditService } from "@herald/contracts";
import { Collections, ensureIndexes, type IndexPlan, type ServiceDefinition } from "@herald/platform";
import { auditWriteMetrics } from "./audit-metrics.js";
import { configSchema } from "./config.js";
import { consumeDeadTasks } from "./dead-tasks.js";
import { createAuditHandlers } from "./handlers.js";
import { consumeAuditRecords } from "./record-writer.js";
import { Replayer } from "./replay.js";
import { AuditStore } from "./store.js";

/** Indexes of the audit service's queries. ListEvents uses ingest's `tenant_time` index on events. */
export const auditIndexes: IndexPlan = {
  [Collections.attempts]: [
    // ListAttempts by tenant, newest first, and its page cursor.
    { key: { tenant_id: 1, attempt_time: -1, _id: -1 } },
    { key: { tenant_id: 1, event_id: 1 } },
    { key: { tenant_id: 1, endpoint_id: 1, attempt_time: -1 } },
  ],
  [Collections.deliveries]: [
    // Recover, and Redrive of one endpoint.
    { key: { tenant_id: 1, endpoint_id: 1, state: 1, last_attempt_time: 1 } },
    // GetEvent.
    { key: { tenant_id: 1, event_id: 1 } },
    // Redrive of a whole tenant.
    { key: { tenant_id: 1, state: 1, last_attempt_time: 1 } },
  ],
};

/**
 * The audit service: writes attempt records in batches, keeps one delivery status per (event,
 * endpoint), records dead-lettered tasks, answers AuditService queries and publishes replays.
 */
export const auditService: ServiceDefinition<typeof configSchema> = {
  name: "audit",
  configSchema,
  async start({ config, logger, rabbit, names, publisher, mongo, metrics }) {
    const auditDb = config.AUDIT_MONGO_DB ? mongo.client.db(config.AUDIT_MONGO_DB) : mongo.db;
    await ensureIndexes(auditDb, auditIndexes);
    const store = new AuditStore(mongo.db, auditDb);
    const { consumer, batcher } = consumeAuditRecords(rabbit, {
      names,
      logger,
      store,
      batchSize: config.AUDIT_BATCH_SIZE,
      batchDelayMs: config.AUDIT_BATCH_DELAY_MS,
      onWritten: auditWriteMetrics(metrics),
    });
    const deadTasks = consumeDeadTasks(rabbit, {
      names,
      logger,
      store,
      batchDelayMs: config.AUDIT_BATCH_DELAY_MS,
    });
    const handlers = createAuditHandlers({
      store,
      replayer: new Replayer(store, publisher, names),
      replayLimit: config.AUDIT_REPLAY_LIMIT,
    });
    return {
      services: [AuditService],
      routes: (router) => router.service(AuditService, handlers),
      consumers: [consumer, deadTasks.consumer],
      // The consumers have stopped and their handlers awaited their batches; nothing should be left, but
      // a batch still being written must finish before MongoDB closes.
      stop: async () => {
        await Promise.all([batcher.drain(), deadTasks.batcher.drain()]);
      },
    };
  },
};
