import { IngestService } from "@herald/contracts";
import { configFields, openQueue, type ServiceDefinition, serviceConfigSchema } from "@herald/platform";
import {
  apiKeyAuthentication,
  ControlPlaneCache,
  controlFeed,
  EventSchemaCache,
  eventQueue,
  OperationalEmitter,
  operatorTenant,
} from "@herald/platform/model";
import { eventPublisher } from "./event-publisher.js";
import { DEFAULT_GATHER_MS, DEFAULT_INSERT_BATCH, EventStore, eventIndexes } from "./event-store.js";
import { ingestMetrics } from "./ingest-metrics.js";
import { ingestRpc } from "./ingest-rpc.js";
import { publishEventBody, publishEventsBody } from "./json-payload.js";
import { DEFAULT_IDEMPOTENCY_WINDOW_MS } from "./publish-event.js";
import { MongoRateBudgetStore, rateBudgetIndexes } from "./rate-budget-store.js";
import { rateLimitedFact } from "./rate-limited-events.js";
import { RateLimiter } from "./rate-limiter.js";
import { startRepublishSweep } from "./republish-sweep.js";
import { DEFAULT_TENANT_EVENTS_IN_FLIGHT, TenantGate } from "./tenant-gate.js";
import { warmUpEventPath } from "./warm-up.js";

export const configSchema = serviceConfigSchema(7001).extend({
  /** Largest payload of a tenant without its own limit. */
  INGEST_MAX_PAYLOAD_BYTES: configFields.positiveInt
    .max(1024 * 1024)
    .default(256 * 1024)
    .describe("payload limit of tenants without their own"),
  /** Events per second of a tenant without its own limit, all ingest instances together. */
  INGEST_RATE_LIMIT_PER_SECOND: configFields.positiveInt
    .default(1_000)
    .describe(
      "events/s of tenants without their own limit, all ingest instances together; a larger batch is `INVALID_ARGUMENT`",
    ),
  /**
   * An event stored this long ago whose publish RabbitMQ has not confirmed (ingest stopped in between)
   * is published by a background sweep, which runs as often. Shorter republishes sooner, but an event
   * whose publish is merely slow may then go out twice (receivers deduplicate by webhook-id).
   */
  INGEST_REPUBLISH_AFTER: configFields.duration
    .default(5_000)
    .describe(
      "an event stored this long without a publisher confirm (ingest stopped in between) is published by a sweep",
    ),
  /**
   * TEST ONLY, honoured only with NODE_ENV=test: "true" kills the process (SIGKILL) between storing a
   * new event and publishing it, so the chaos suite can strand an event.
   */
  HERALD_FAULT_EXIT_AFTER_INSERT: configFields.flag.default(false).meta({ internal: true }),
  /**
   * How long an insert arriving at ingest's idle writer waits for others to join its round (one marker,
   * one insertMany, one broker message for all); 0ms writes at once.
   */
  INGEST_INSERT_GATHER: configFields.duration
    .refine((ms) => ms <= 100, "must be at most 100ms: every call waits for it")
    .default(DEFAULT_GATHER_MS)
    .describe(
      "how long an event arriving at an idle writer waits for others to share its insert and broker message",
    ),
  /**
   * Events one round of ingest's writer inserts at most (one marker, one insertMany). An event arriving
   * while a round is written waits for it, whatever its tenant: smaller rounds shorten that wait when
   * one tenant floods, larger ones cost fewer writes per event.
   */
  INGEST_INSERT_BATCH: configFields.positiveInt
    .max(1_000)
    .default(DEFAULT_INSERT_BATCH)
    .describe(
      "events one insert round writes at most; the next round takes waiting events round robin by tenant",
    ),
  /**
   * Events of one tenant in this instance's publish path at once (stored, then confirmed); a call that
   * would take its tenant past it waits behind that tenant's earlier calls (slower answers, no refusal).
   */
  INGEST_TENANT_EVENTS_IN_FLIGHT: configFields.positiveInt
    .min(100, "must be at least 100, the largest batch a call may carry")
    .default(DEFAULT_TENANT_EVENTS_IN_FLIGHT)
    .describe(
      "events of one tenant being published at once per instance; a call past it waits behind that tenant's own",
    ),
  /** How long an idempotency key is remembered; a publish with the same key after it makes a new event. */
  INGEST_IDEMPOTENCY_WINDOW: configFields.duration
    .refine((ms) => ms >= 60_000, "must be at least 1m, or a retried call could publish its event twice")
    .default(DEFAULT_IDEMPOTENCY_WINDOW_MS)
    .describe("how long an idempotency key is remembered; the same key after it publishes a new event"),
  HERALD_OPERATOR_TENANT: operatorTenant,
});

export const ingestService: ServiceDefinition<typeof configSchema> = {
  name: "ingest",
  authentication: apiKeyAuthentication,
  configSchema,
  indexes: { ...eventIndexes, ...rateBudgetIndexes },
  async start(ctx) {
    const { config, logger, mongo, metrics } = ctx;
    const tenantGate = new TenantGate(config.INGEST_TENANT_EVENTS_IN_FLIGHT);
    const recorders = ingestMetrics(metrics, { callsWaiting: () => tenantGate.waiting });
    const cache = new ControlPlaneCache(mongo.db);
    const schemas = new EventSchemaCache();
    // The tenant cache and the compiled schemas of the tenants' event types hang off the one control feed.
    controlFeed(ctx).listen((change) => {
      cache.onControlChange(change);
      schemas.onControlChange(change);
    });
    // Tenants' weights from the tenants cached by `admit` (every call reads its tenant first).
    const tenantWeight = (tenantId: string) => cache.tenantWeight(tenantId);
    const events = new EventStore(mongo.db, {
      gatherMs: config.INGEST_INSERT_GATHER,
      maxBatch: config.INGEST_INSERT_BATCH,
      tenantWeight,
    });
    const rateBudget = new MongoRateBudgetStore(mongo.db);
    const sweeper = setInterval(() => {
      rateBudget.sweep().catch((err) => logger.warn({ err }, "rate budget sweep failed"));
    }, 10_000);
    sweeper.unref();
    const eventQueueOut = openQueue(eventQueue, { ...ctx, tenantWeight });
    const publish = eventPublisher(eventQueueOut);
    const operational = new OperationalEmitter({
      db: mongo.db,
      events: eventQueueOut,
      operatorTenantId: config.HERALD_OPERATOR_TENANT,
      logger,
    });
    const faultExitAfterInsert = config.HERALD_FAULT_EXIT_AFTER_INSERT && process.env.NODE_ENV === "test";
    if (config.HERALD_FAULT_EXIT_AFTER_INSERT && !faultExitAfterInsert)
      logger.warn("HERALD_FAULT_EXIT_AFTER_INSERT is ignored: it is honoured only with NODE_ENV=test");
    const rpc = ingestRpc({
      events,
      cache,
      schemas,
      logger,
      rateLimiter: new RateLimiter(rateBudget),
      tenantGate,
      // Not awaited: the refusal answers at once; the emitter dedupes the minute's other refusals.
      onRateLimited: (tenantId, limit) => void operational.emit(rateLimitedFact(tenantId, limit, new Date())),
      limits: {
        defaultMaxPayloadBytes: config.INGEST_MAX_PAYLOAD_BYTES,
        defaultRateLimitPerSecond: config.INGEST_RATE_LIMIT_PER_SECOND,
      },
      now: () => new Date(),
      idempotencyWindowMs: config.INGEST_IDEMPOTENCY_WINDOW,
      countEvent: recorders.countEvent,
      observeStep: recorders.observeStep,
      publish,
      ...(faultExitAfterInsert ? { afterInsert: () => process.kill(process.pid, "SIGKILL") } : {}),
    });
    const sweep = startRepublishSweep({
      events,
      publish,
      onPublished: recorders.countRepublished,
      afterMs: config.INGEST_REPUBLISH_AFTER,
      intervalMs: config.INGEST_REPUBLISH_AFTER,
      now: () => new Date(),
      logger,
    });
    return {
      warmUp: () => warmUpEventPath(),
      services: [IngestService],
      routes: (router) => router.service(IngestService, rpc),
      // Connect JSON callers may send the payload as a JSON object (json-payload.ts).
      jsonRequestRewrites: [
        { method: IngestService.method.publishEvent, rewrite: publishEventBody },
        { method: IngestService.method.publishEvents, rewrite: publishEventsBody },
      ],
      async stop() {
        clearInterval(sweeper);
        await sweep.stop();
        await operational.drain();
        await events.flush();
      },
    };
  },
};
