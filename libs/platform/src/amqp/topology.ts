import type { Connection } from "rabbitmq-client";

/**
 * Names of every exchange and queue. The names are those of the design brief; a non-empty namespace
 * prefixes them all ("ns.herald.events"), so several Herald installations, or parallel test runs, can
 * share one broker without seeing each other's messages.
 */
export function topologyNames(namespace = "") {
  const p = namespace ? `${namespace}.` : "";
  return {
    exchanges: {
      events: `${p}herald.events`,
      deliveries: `${p}herald.deliveries`,
      attempts: `${p}herald.attempts`,
      dead: `${p}herald.dead`,
      retry: `${p}herald.retry`,
      control: `${p}herald.control`,
      /** Where messages that keep failing (undecodable, or over the delivery limit) are kept for inspection. */
      parked: `${p}herald.parked`,
    },
    queues: {
      routingEvents: `${p}routing.events`,
      deliveryTasks: `${p}delivery.tasks`,
      auditAttempts: `${p}audit.attempts`,
      deliveryDead: `${p}delivery.dead`,
      /** Bounded (see parkedQueueArguments); replaces the unbounded `herald.parked` queue. */
      parked: `${p}herald.parked.recent`,
      /** Test deliveries, by request/reply from routing (model/test-deliveries.ts). */
      deliveryTests: `${p}delivery.tests`,
    },
    /**
     * Direct exchanges of the sharded work queues: an item goes to shard `shardOf(tenant)` by routing
     * key, to the queue `shardQueue(queue, shard)` (docs/decisions/fair-delivery.md).
     */
    shardExchanges: {
      events: `${p}herald.events.shards`,
      deliveries: `${p}herald.deliveries.shards`,
    },
    shardQueue: (queue: string, shard: number | typeof OVERFLOW_SHARD) => `${queue}.${shard}`,
    /** Every shard queue of `queue`, the overflow shard last. */
    shardQueues: (queue: string) => [
      ...Array.from({ length: QUEUE_SHARDS }, (_, shard) => `${queue}.${shard}`),
      `${queue}.${OVERFLOW_SHARD}`,
    ],
    /** Queues of earlier versions, which declareTopology unbinds (docs/decisions/bounded-dead-and-parked-queues.md). */
    legacyQueues: { parked: `${p}herald.parked` },
    retryQueue: (delayMs: number) => `${p}herald.retry.${delayMs}ms`,
    /** A `herald listen` endpoint's own queue of tasks (model/listen-endpoints.ts). */
    listenQueue: (endpointId: string) => `${p}delivery.listen.${endpointId}`,
    /** A delivery instance's queue of reports for the listen streams it holds. */
    listenReportQueue: (instanceId: string) => `${p}delivery.listen-reports.${instanceId}`,
  };
}

export type TopologyNames = ReturnType<typeof topologyNames>;

/**
 * Default retry tier delays in ms. A retry of any delay is made of hops through these tiers (largest
 * first), so per-tenant and per-endpoint schedules need no queues of their own.
 */
export const DEFAULT_RETRY_TIERS_MS = [
  1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 18_000_000,
  36_000_000,
];

/**
 * Shards of each sharded work queue (routing.events, delivery.tasks). Every publisher and consumer must
 * agree, so it is a constant: raising it is safe (consumers of the new version consume the new shards),
 * lowering it would strand the shards dropped.
 */
export const QUEUE_SHARDS = 8;

/**
 * The shard, and routing key, of a tenant that publishes heavily (see {@link HEAVY_TENANT}): its own lane,
 * so the tenants hashed to its shard do not wait behind its backlog.
 */
export const OVERFLOW_SHARD = "overflow";

/**
 * A tenant is heavy while it published at least `minItems` items to a sharded queue in the publisher's
 * last window of `windowMs`: 500 items/s is a quarter of the single-tenant rate the benchmarks keep up
 * with, and fifty times a quiet tenant's share of it. Each publisher instance counts on its own.
 */
export const HEAVY_TENANT = { windowMs: 1_000, minItems: 500 };

/** The shard of `key` (a tenant id) among `count`: FNV-1a, stable across versions and processes. */
export function shardOf(key: string, count = QUEUE_SHARDS): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}

/** A redelivered message is parked after this many deliveries, so a poison message cannot loop forever. */
export const DELIVERY_LIMIT = 20;

/**
 * The parked queue keeps the newest messages for inspection, within a count, a size and an age: a
 * parked message was logged when it was parked, and left unbounded the queue would one day raise the
 * broker's memory or disk alarm, which blocks every publisher. The oldest go first (drop-head).
 */
export const PARKED_LIMITS = { maxMessages: 10_000, maxBytes: 256 * 1024 * 1024, ttlMs: 7 * 86_400_000 };

/** Arguments of the parked queue; see {@link PARKED_LIMITS}. No dead-letter exchange: dropped is gone. */
export function parkedQueueArguments() {
  return {
    "x-queue-type": "quorum" as const,
    "x-max-length": PARKED_LIMITS.maxMessages,
    "x-max-length-bytes": PARKED_LIMITS.maxBytes,
    "x-overflow": "drop-head" as const,
    "x-message-ttl": PARKED_LIMITS.ttlMs,
  };
}

/** Arguments of a work queue: quorum, parked after repeated failures. Consumers must declare it alike. */
export function workQueueArguments(names: TopologyNames) {
  return {
    "x-queue-type": "quorum" as const,
    "x-delivery-limit": DELIVERY_LIMIT,
    "x-dead-letter-exchange": names.exchanges.parked,
  };
}

/**
 * Arguments of one retry tier: messages wait out the queue TTL, then dead-letter back to
 * herald.deliveries. at-least-once dead-lettering (which needs reject-publish overflow) means a
 * message is never dropped between the tier and the task queue.
 */
export function retryQueueArguments(names: TopologyNames, delayMs: number) {
  return {
    "x-queue-type": "quorum" as const,
    "x-message-ttl": delayMs,
    "x-dead-letter-exchange": names.exchanges.deliveries,
    "x-dead-letter-strategy": "at-least-once",
    "x-overflow": "reject-publish" as const,
  };
}

/** Declares every exchange, queue and binding. Idempotent; run by every service at start. */
export async function declareTopology(
  rabbit: Connection,
  names: TopologyNames,
  retryTiersMs: readonly number[],
): Promise<void> {
  const { exchanges, queues } = names;
  for (const exchange of [
    exchanges.events,
    exchanges.deliveries,
    exchanges.attempts,
    exchanges.dead,
    exchanges.parked,
  ]) {
    await rabbit.exchangeDeclare({ exchange, type: "fanout", durable: true });
  }
  await rabbit.exchangeDeclare({ exchange: exchanges.retry, type: "direct", durable: true });
  await rabbit.exchangeDeclare({ exchange: exchanges.control, type: "fanout", durable: true });

  await rabbit.queueDeclare({ queue: queues.parked, durable: true, arguments: parkedQueueArguments() });
  await rabbit.queueBind({ queue: queues.parked, exchange: exchanges.parked });
  // A queue's arguments cannot change once declared, so the bounded parked queue has a new name; the
  // old unbounded one stops receiving (its messages stay for the operator to read, then delete).
  await unbindIfExists(rabbit, names.legacyQueues.parked, exchanges.parked);

  const work: Array<[string, string]> = [
    [queues.routingEvents, exchanges.events],
    [queues.deliveryTasks, exchanges.deliveries],
    [queues.auditAttempts, exchanges.attempts],
    [queues.deliveryDead, exchanges.dead],
  ];
  for (const [queue, exchange] of work) {
    await rabbit.queueDeclare({ queue, durable: true, arguments: workQueueArguments(names) });
    await rabbit.queueBind({ queue, exchange });
  }

  // The unsharded queues stay: retries dead-letter to them from the tiers, and publishers of an earlier
  // version publish to them, so consumers read them as one more lane.
  const sharded: Array<[string, string]> = [
    [queues.routingEvents, names.shardExchanges.events],
    [queues.deliveryTasks, names.shardExchanges.deliveries],
  ];
  for (const [queue, exchange] of sharded) {
    await rabbit.exchangeDeclare({ exchange, type: "direct", durable: true });
    const shards = [...Array.from({ length: QUEUE_SHARDS }, (_, shard) => String(shard)), OVERFLOW_SHARD];
    for (const shard of shards) {
      const shardQueue = `${queue}.${shard}`;
      await rabbit.queueDeclare({ queue: shardQueue, durable: true, arguments: workQueueArguments(names) });
      await rabbit.queueBind({ queue: shardQueue, exchange, routingKey: shard });
    }
  }

  for (const delayMs of retryTiersMs) {
    const queue = names.retryQueue(delayMs);
    await rabbit.queueDeclare({ queue, durable: true, arguments: retryQueueArguments(names, delayMs) });
    await rabbit.queueBind({ queue, exchange: exchanges.retry, routingKey: String(delayMs) });
  }
}

async function unbindIfExists(rabbit: Connection, queue: string, exchange: string): Promise<void> {
  try {
    await rabbit.queueDeclare({ queue, passive: true });
  } catch (err) {
    if ((err as { code?: unknown }).code === "NOT_FOUND") return; // a new installation
    throw err;
  }
  await rabbit.queueUnbind({ queue, exchange });
}
