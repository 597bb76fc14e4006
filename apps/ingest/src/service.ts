import { IngestService } from "@herald/contracts";
import {
  BoundedLabel,
  ControlPlaneCache,
  Counter,
  configFields,
  consumeControlChanges,
  Histogram,
  type ServiceDefinition,
  serviceConfigSchema,
} from "@herald/platform";
import { eventPublisher } from "./event-publisher.js";
import { EventStore, eventIndexes } from "./event-store.js";
import { ingestRpc } from "./ingest-rpc.js";
import { DEFAULT_IDEMPOTENCY_WINDOW_MS } from "./publish-event.js";
import { RateLimiter } from "./rate-limiter.js";

export const configSchema = serviceConfigSchema(7001).extend({
  /** Largest payload of a tenant without its own limit. */
  INGEST_MAX_PAYLOAD_BYTES: configFields.positiveInt.max(1024 * 1024).default(256 * 1024),
  /** Events per second of a tenant without its own limit, per ingest instance. */
  INGEST_RATE_LIMIT_PER_SECOND: configFields.positiveInt.default(1_000),
  /** How long an idempotency key is remembered; a publish with the same key after it makes a new event. */
  INGEST_IDEMPOTENCY_WINDOW: configFields.duration
    .refine((ms) => ms >= 60_000, "must be at least 1m, or a retried call could publish its event twice")
    .default(DEFAULT_IDEMPOTENCY_WINDOW_MS),
});

export const ingestService: ServiceDefinition<typeof configSchema> = {
  name: "ingest",
  configSchema,
  indexes: eventIndexes,
  async start({ config, logger, rabbit, names, publisher, mongo, authenticator, metrics }) {
    const ingested = new Counter({
      name: "herald_events_ingested_total",
      help: "Events published, by tenant (the first 100 tenants seen; the rest as _other) and outcome",
      labelNames: ["tenant", "outcome"],
      registers: [metrics],
    });
    const stepSeconds = new Histogram({
      name: "herald_ingest_step_seconds",
      help: "Time of each step of publishing a new event: store (MongoDB insert) and confirm (RabbitMQ publish until confirmed)",
      labelNames: ["step"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [metrics],
    });
    const tenantLabel = new BoundedLabel(100);
    const cache = new ControlPlaneCache(mongo.db);
    const control = consumeControlChanges(rabbit, names, logger, (change) => {
      cache.invalidate(change?.tenantId, change?.endpointId);
      authenticator.invalidate(change?.tenantId);
    });
    const events = new EventStore(mongo.db);
    const rpc = ingestRpc({
      events,
      cache,
      logger,
      rateLimiter: new RateLimiter(),
      limits: {
        defaultMaxPayloadBytes: config.INGEST_MAX_PAYLOAD_BYTES,
        defaultRateLimitPerSecond: config.INGEST_RATE_LIMIT_PER_SECOND,
      },
      now: () => new Date(),
      idempotencyWindowMs: config.INGEST_IDEMPOTENCY_WINDOW,
      countEvent: (tenantId, outcome) => ingested.inc({ tenant: tenantLabel.value(tenantId), outcome }),
      observeStep: (step, ms) => stepSeconds.observe({ step }, ms / 1000),
      publish: eventPublisher(publisher, names),
    });
    return {
      services: [IngestService],
      routes: (router) => router.service(IngestService, rpc),
      consumers: [control],
    };
  },
};
