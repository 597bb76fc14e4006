import { type DeliveryTask, ListenService } from "@herald/contracts";
import {
  configFields,
  openQueue,
  RoundRobinSlots,
  type ServiceDefinition,
  serviceConfigSchema,
} from "@herald/platform";
import {
  apiKeyAuthentication,
  auditRecordQueue,
  ControlPlaneCache,
  controlFeed,
  deadTaskQueue,
  EndpointStore,
  eventQueue,
  HERALD_VERSION,
  isEventTypeChange,
  OperationalEmitter,
  operatorTenant,
  publishControlChange,
  SecretBox,
  secretKeyRing,
  serveTestDeliveries,
  taskQueue,
  urlAllowlist,
} from "@herald/platform/model";
import { trace } from "@opentelemetry/api";
import { z } from "zod";
import { CircuitBreakers } from "./circuit-breaker.js";
import { type DeliverDeps, type DeliveryOutcome, deliverTask, heldBack, heldForMs } from "./deliver-task.js";
import { BUSIEST_ENDPOINTS, deliveryMetrics } from "./delivery-metrics.js";
import { EndpointGate, type EndpointLimit, fairSlots } from "./endpoint-gate.js";
import { EndpointLimits, endpointLimitIndexes } from "./endpoint-limits.js";
import { listenIndexes } from "./listen/listen-expiry.js";
import { startListen } from "./listen/start-listen.js";
import { circuitNotifier } from "./operational-facts.js";
import { DEFAULT_RETRY_SCHEDULE_MS } from "./retry-policy.js";
import { answerTest } from "./test-delivery.js";
import { warmUpDeliveryPath } from "./warm-up.js";
import { WebhookClient } from "./webhook-client.js";

export const configSchema = serviceConfigSchema(7003).extend({
  HERALD_SECRET_KEYS: secretKeyRing,
  /**
   * Deliveries in flight at once per instance; twice as many delivery.tasks messages (each a batch of
   * tasks, or one) are prefetched. A delivery waits for the receiver and then for RabbitMQ to confirm
   * its attempt record, so the rate is about this many per round (docs/decisions/throughput-defaults.md).
   */
  DELIVERY_CONCURRENCY: configFields.positiveInt
    .max(10_000)
    .default(256)
    .describe("deliveries in flight per instance"),
  /**
   * Connections kept open to one receiver (scheme, host and port) per instance; an endpoint's own
   * max_concurrency limits it further. Too few cap what one busy receiver gets from an instance.
   */
  DELIVERY_CONNECTIONS_PER_ORIGIN: configFields.positiveInt
    .max(1_000)
    .default(64)
    .describe(
      "connections kept open to one receiver origin per instance (an endpoint's `max_concurrency` limits further)",
    ),
  /**
   * Requests in flight at once to one endpoint per instance, for endpoints whose `max_concurrency` is 0,
   * to begin with: the limit grows while the endpoint answers fast and falls back when it is slow
   * (docs/decisions/fair-delivery.md). Tasks over it wait in memory holding no delivery slot.
   */
  DELIVERY_ENDPOINT_CONCURRENCY: configFields.positiveInt
    .max(1_000)
    .default(16)
    .describe(
      "requests in flight at once to one endpoint per instance when its `max_concurrency` is 0 (the platform default), to begin with: it grows by one per round of fast answers up to `DELIVERY_CONNECTIONS_PER_ORIGIN` and falls back when the endpoint is slow; tasks over it wait without holding a delivery slot",
    ),
  /**
   * Tasks that wait in memory at a slow endpoint's limit (and no more than the limit itself); beyond
   * them they go back to RabbitMQ for about as long as the endpoint takes, so slow endpoints' backlogs
   * cannot fill the instance's prefetch. A fast endpoint's tasks all wait in memory.
   */
  DELIVERY_ENDPOINT_WAITING: configFields.positiveInt
    .max(10_000)
    .default(16)
    .describe(
      "tasks waiting in memory at a slow endpoint's concurrency limit per instance, and no more than that limit; more go back to a retry tier for about as long as the endpoint takes",
    ),
  DELIVERY_CONNECT_TIMEOUT_MS: configFields.positiveInt.default(5_000).describe("connect timeout, in ms"),
  DELIVERY_TIMEOUT_MS: configFields.positiveInt.default(15_000).describe("total request timeout, in ms"),
  /** Delays before attempts 2..N for endpoints and tenants without their own schedule. */
  RETRY_SCHEDULE: configFields.durationList
    .default(DEFAULT_RETRY_SCHEDULE_MS)
    .describe("default delays before attempts 2..N (tenants and endpoints may override)"),
  /** CIDRs and host names Herald may deliver to although private (local development, tests). */
  HERALD_URL_ALLOWLIST: urlAllowlist,
  /** Share of failed attempts in the window that opens an endpoint's circuit. */
  CIRCUIT_FAILURE_RATIO: z.coerce
    .number()
    .gt(0)
    .max(1)
    .default(0.5)
    .describe(
      "an endpoint's circuit opens when this share of at least `CIRCUIT_MIN_ATTEMPTS` attempts failed within `CIRCUIT_WINDOW`",
    ),
  /** Attempts in the window before the ratio counts. */
  CIRCUIT_MIN_ATTEMPTS: configFields.positiveInt
    .default(10)
    .describe("attempts within `CIRCUIT_WINDOW` before `CIRCUIT_FAILURE_RATIO` counts"),
  CIRCUIT_WINDOW: configFields.duration
    .default(60_000)
    .describe("the window in which an endpoint's attempts are counted for its circuit"),
  /** How long an open circuit parks tasks before a probe. */
  CIRCUIT_COOLDOWN: configFields.duration
    .default(30_000)
    .describe("while an endpoint's circuit is open its tasks are parked for this, then one probe goes"),
  /** Each failed probe doubles the cooldown, up to this. */
  CIRCUIT_MAX_COOLDOWN: configFields.duration
    .default(600_000)
    .describe(
      "each failed probe doubles the cooldown up to this; a successful one closes the circuit; an operator's replay probes at once and enabling the endpoint resets it",
    ),
  /** An endpoint failing without a break for this long is disabled. */
  ENDPOINT_DISABLE_AFTER: configFields.duration
    .default(5 * 86_400_000)
    .describe("an endpoint failing without a break this long is disabled (reason `FAILING`)"),
  HERALD_OPERATOR_TENANT: operatorTenant,
  /** An endpoint still failing this long after its run of failures began is reported again, every this long. */
  OPERATIONAL_FAILING_REPEAT: configFields.duration
    .default(3_600_000)
    .describe(
      "an endpoint still failing this long after its first failure gets `herald.endpoint.failing` (phase `sustained`) again, once per this",
    ),
  /** How long a `herald listen` stream has to report a delivery before the attempt fails. */
  LISTEN_REPORT_TIMEOUT: configFields.positiveDuration
    .default(30_000)
    .describe(
      "how long a `herald listen` stream has to report a delivery; unreported, the attempt fails (`LISTEN_UNREPORTED`) and is retried",
    ),
  /** A listen endpoint without a stream this long is deleted, with its queue of waiting deliveries. */
  LISTEN_SESSION_EXPIRY: configFields.duration
    .refine((ms) => ms >= 60_000, "must be at least 1m")
    .default(86_400_000)
    .describe(
      "a `herald listen` endpoint with no stream open this long is deleted, with the deliveries waiting for it",
    ),
});

/** Test deliveries sent at once per instance: someone waits for each, and they are rare. */
const TEST_DELIVERY_CONCURRENCY = 8;

/**
 * An endpoint is slow once a request to it has been in flight this long: only then do its tasks beyond
 * `DELIVERY_ENDPOINT_WAITING` go back to RabbitMQ, and its adaptive limit falls back to its base. A
 * healthy receiver answers in milliseconds; a second is also the shortest retry tier.
 */
const ENDPOINT_SLOW_AFTER_MS = 1_000;
/** How often the gate looks for slow endpoints and sends their excess back (nothing else wakes them). */
const ENDPOINT_SHED_INTERVAL_MS = 250;

/**
 * An endpoint's concurrency limit in one instance: its own `max_concurrency` (fixed), or for 0 the
 * platform default, which adapts to the endpoint up to the connections kept to its receiver.
 */
export function endpointConcurrency(
  maxConcurrency: number | undefined,
  config: { DELIVERY_ENDPOINT_CONCURRENCY: number; DELIVERY_CONNECTIONS_PER_ORIGIN: number },
): EndpointLimit {
  if (maxConcurrency && maxConcurrency > 0) return { base: maxConcurrency, max: maxConcurrency };
  const base = config.DELIVERY_ENDPOINT_CONCURRENCY;
  return { base, max: Math.max(base, config.DELIVERY_CONNECTIONS_PER_ORIGIN) };
}

/**
 * How long a task refused by its slow endpoint stays in RabbitMQ: as long as the endpoint's oldest
 * request has been waiting (its pace), or as long as the task has been held back already, whichever is
 * longer; at least a second and at most the request timeout. Growing with the time held, a task's trips
 * through the broker become rarer the longer its endpoint stays slow, so a deep backlog does not cycle
 * through RabbitMQ every few seconds (docs/decisions/fair-delivery.md).
 */
export function endpointRetryAfterMs(slowForMs: number, heldForMs: number, timeoutMs: number): number {
  return Math.min(
    Math.max(ENDPOINT_SLOW_AFTER_MS, slowForMs, heldForMs),
    Math.max(ENDPOINT_SLOW_AFTER_MS, timeoutMs),
  );
}

export const deliveryService: ServiceDefinition<typeof configSchema> = {
  name: "delivery",
  authentication: apiKeyAuthentication,
  configSchema,
  indexes: { ...endpointLimitIndexes, ...listenIndexes },
  async start(ctx) {
    const { config, logger, names, publisher, mongo, metrics } = ctx;
    const gate = new EndpointGate({
      maxWaiting: config.DELIVERY_ENDPOINT_WAITING,
      slowAfterMs: ENDPOINT_SLOW_AFTER_MS,
    });
    let lastTick = Date.now();
    const shedding = setInterval(() => {
      const now = Date.now();
      // The timer's lateness is how long this instance stood still: not the endpoints' time.
      gate.tick(Math.max(0, now - lastTick - ENDPOINT_SHED_INTERVAL_MS));
      lastTick = now;
    }, ENDPOINT_SHED_INTERVAL_MS);
    shedding.unref();
    const recorders = deliveryMetrics(
      metrics,
      () => breakers.counts(),
      () => ({ total: gate.waiting, busiest: gate.busiest(BUSIEST_ENDPOINTS) }),
    );
    const operational = new OperationalEmitter({
      db: mongo.db,
      events: openQueue(eventQueue, ctx),
      operatorTenantId: config.HERALD_OPERATOR_TENANT,
      logger,
    });
    const cache = new ControlPlaneCache(mongo.db);
    const tellCircuit = circuitNotifier({
      endpoint: async (id) => (await cache.endpoint(id)) ?? undefined,
      emit: (fact) => operational.emit(fact),
      now: () => Date.now(),
    });
    const breakers = new CircuitBreakers({
      failureRatio: config.CIRCUIT_FAILURE_RATIO,
      minimumAttempts: config.CIRCUIT_MIN_ATTEMPTS,
      windowMs: config.CIRCUIT_WINDOW,
      cooldownMs: config.CIRCUIT_COOLDOWN,
      maxCooldownMs: config.CIRCUIT_MAX_COOLDOWN,
      onTransition(to, endpointId, tenantId) {
        recorders.countCircuitTransition(to);
        logger.info({ endpointId, tenantId }, to === "open" ? "circuit opened" : "circuit closed");
        tellCircuit(to, endpointId, tenantId);
      },
    });
    controlFeed(ctx).listen((change) => {
      cache.onControlChange(change);
      // Circuits are per instance: an operator's change to an endpoint or tenant resets them on every one.
      if (change && !change.apiKeyId && !isEventTypeChange(change)) {
        breakers.reset(change.tenantId, change.endpointId);
      }
    });
    const client = new WebhookClient({
      connectTimeoutMs: config.DELIVERY_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: config.DELIVERY_TIMEOUT_MS,
      maxResponseBytes: 4096,
      connectionsPerOrigin: config.DELIVERY_CONNECTIONS_PER_ORIGIN,
      allowlist: config.HERALD_URL_ALLOWLIST,
    });
    const box = new SecretBox(config.HERALD_SECRET_KEYS);
    const endpoints = new EndpointStore(mongo.db);
    const limits = new EndpointLimits(mongo.db, { leaseMs: config.DELIVERY_TIMEOUT_MS + 5_000 });
    const sweeper = setInterval(() => {
      limits.sweep().catch((err) => logger.warn({ err }, "rate log sweep failed"));
    }, 10_000);
    sweeper.unref();
    const tasks = openQueue(taskQueue, ctx);
    // Each task waits for its records' confirms, so a stopped consumer leaves none unpublished.
    const auditRecords = openQueue(auditRecordQueue, ctx);
    const deadTasks = openQueue(deadTaskQueue, ctx);

    const deps: DeliverDeps = {
      cache,
      box,
      logger,
      post: (url, headers, body) => client.post(url, headers, body),
      publishAt: tasks.publishAt,
      publishDead: deadTasks.publish,
      publishAudit: auditRecords.publish,
      async disableEndpoint(endpoint, reason) {
        const disabled = await endpoints.disable(endpoint, reason, new Date());
        cache.invalidate(endpoint.tenant_id, endpoint._id);
        await publishControlChange(publisher, names, endpoint.tenant_id, endpoint._id);
        if (disabled) logger.warn({ endpointId: endpoint._id, reason }, "endpoint disabled");
        return disabled;
      },
      async setFailingSince(endpoint, since) {
        const began = await endpoints.setFailingSince(endpoint, since);
        cache.invalidate(endpoint.tenant_id, endpoint._id);
        return began;
      },
      emit: (fact) => operational.emit(fact),
      failingSustainedMs: config.OPERATIONAL_FAILING_REPEAT,
      breakers,
      async announceRecovered(endpoint) {
        await publishControlChange(publisher, names, endpoint.tenant_id, endpoint._id).catch((err) =>
          logger.warn({ err, endpointId: endpoint._id }, "circuit closed here but not announced"),
        );
      },
      admit: (endpoint) =>
        limits.admit(endpoint._id, {
          perSecond: endpoint.rate_limit_per_second,
          maxConcurrency: endpoint.max_concurrency,
        }),
      disableAfterMs: config.ENDPOINT_DISABLE_AFTER,
      platformScheduleMs: config.RETRY_SCHEDULE,
      userAgent: `Herald/${HERALD_VERSION}`,
      now: () => Date.now(),
    };
    // A task first waits for its endpoint to be under its limit (in memory, holding nothing), then for
    // one of DELIVERY_CONCURRENCY shared slots: a slow endpoint holds at most its own limit of slots.
    // The shared slots go round robin across tenants, by weight: a tenant's backlog waits behind itself.
    // Each task reads its tenant (deliverTask), so a contending tenant's weight is cached.
    const slots = new RoundRobinSlots(config.DELIVERY_CONCURRENCY, (tenantId) =>
      cache.tenantWeight(tenantId),
    );
    const fairRun = fairSlots<DeliveryTask>({
      gate,
      slot: (task, run) => slots.run(task.tenantId, run),
      endpointOf: (task) => task.endpointId,
      limitOf: async (task) =>
        endpointConcurrency((await cache.endpoint(task.endpointId))?.max_concurrency, config),
    });
    const listen = startListen({
      rabbit: ctx.rabbit,
      publisher,
      names,
      logger,
      control: controlFeed(ctx),
      cache,
      endpoints,
      breakers,
      deliverDeps: deps,
      recordOutcome: (task, outcome) => recorders.recordOutcome(task, outcome, Date.now()),
      concurrencyOf: (maxConcurrency) => endpointConcurrency(maxConcurrency, config).base,
      reportTimeoutMs: config.LISTEN_REPORT_TIMEOUT,
      sessionExpiryMs: config.LISTEN_SESSION_EXPIRY,
    });

    const deliver = async (task: DeliveryTask): Promise<DeliveryOutcome> => {
      const endpoint = await cache.endpoint(task.endpointId);
      if (endpoint?.listen && endpoint.tenant_id === task.tenantId) {
        await listen.relay(task);
        return { kind: "hop" };
      }
      const ran = await fairRun(task, (pass, waits) => {
        if (pass.waitedMs > 0) trace.getActiveSpan()?.setAttribute("herald.endpoint_wait_ms", pass.waitedMs);
        // The endpoint's place frees once it answered, not once the attempt is recorded.
        return deliverTask(deps, task, { waits, answered: (answer) => pass.release(answer) });
      });
      if ("result" in ran) return ran.result;
      // Its endpoint is slow and its wait list full: back to RabbitMQ (same attempt) for about as long as
      // the endpoint takes, so the prefetch stays free for others.
      const now = Date.now();
      const waitMs = endpointRetryAfterMs(ran.retryAfterMs, heldForMs(task, now), config.DELIVERY_TIMEOUT_MS);
      await tasks.publishAt(heldBack(task, now), now + waitMs, { now, lenient: true });
      return { kind: "endpoint_busy" };
    };
    // Every prefetched message is handled at once: the slots above bound the requests, and a message
    // whose tasks wait at their endpoint must not keep the others from starting.
    const consumers = tasks.consume({
      concurrency: config.DELIVERY_CONCURRENCY * 2,
      span: "deliver task",
      handle: async (task) => recorders.recordOutcome(task, await deliver(task), Date.now()),
      onForwarded: (task) => recorders.recordOutcome(task, { kind: "hop" }, Date.now()),
    });
    const tests = serveTestDeliveries(ctx, {
      concurrency: TEST_DELIVERY_CONCURRENCY,
      handle: (task) => answerTest(deps, task),
    });

    return {
      routes: (router) => router.service(ListenService, listen.service),
      services: [ListenService],
      consumers: [...consumers, tests, ...listen.consumers],
      drain: listen.drain,
      queues: [
        names.queues.deliveryTasks,
        ...names.shardQueues(names.queues.deliveryTasks),
        ...config.RETRY_TIERS.map((tierMs) => names.retryQueue(tierMs)),
        names.queues.deliveryTests,
      ],
      warmUp: async () => {
        await warmUpDeliveryPath({ box, userAgent: deps.userAgent, logger });
      },
      async stop() {
        clearInterval(sweeper);
        await operational.drain();
        listen.stop();
        clearInterval(shedding);
        await client.close();
      },
    };
  },
};
