import { create, fromBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type DeliveryTask,
  type DeliveryTaskBatch,
  DeliveryTaskBatchSchema,
  DeliveryTaskSchema,
} from "@herald/contracts";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openQueue, type QueueContext } from "../amqp/queues.js";
import { HEAVY_TENANT, OVERFLOW_SHARD, QUEUE_SHARDS, shardOf, topologyNames } from "../amqp/topology.js";
import { createLogger } from "../logger.js";
import { openTestBroker, receiveMessages, type TestBroker, testEnv } from "../testing/index.js";
import { enableTracePropagation, inTestTrace, testTraceparent } from "../testing/tracing.js";
import { MAX_BATCH_PAYLOAD_BYTES, MAX_TASKS_PER_MESSAGE, taskQueue } from "./queues.js";

const TIERS_MS = [1_000, 60_000];
const env = testEnv({ RETRY_TIERS: "1s,1m" });
const names = topologyNames(env.AMQP_NAMESPACE);
const logger = createLogger({ service: "test", level: "silent" });
let broker: TestBroker;
let disablePropagation = () => {};

beforeAll(async () => {
  disablePropagation = enableTracePropagation();
  broker = await openTestBroker(env, TIERS_MS);
});

afterAll(async () => {
  disablePropagation();
  await broker?.close();
});

const queueContext = (): QueueContext => ({ ...broker, names, logger, config: { RETRY_TIERS: TIERS_MS } });

function task(endpointId: string, payloadBytes = 16) {
  return create(DeliveryTaskSchema, {
    eventId: `evt_${endpointId}`,
    tenantId: "t1",
    endpointId,
    eventType: "order.created",
    payload: Buffer.alloc(payloadBytes, 120),
    attempt: 1,
  });
}

/** The shard queue of tenant t1's tasks. */
const t1Shard = names.shardQueue(names.queues.deliveryTasks, shardOf("t1"));

/** Consumes t1's shard of delivery.tasks until `tasks` tasks came, resolving with the messages that held them. */
function receiveBatches(tasks: number): Promise<DeliveryTaskBatch[]> {
  return receiveMessages(
    broker.rabbit,
    {
      names,
      queue: t1Shard,
      schema: DeliveryTaskBatchSchema,
      count: (b) => b.tasks.length,
    },
    tasks,
  );
}

async function depth(queue: string): Promise<number> {
  return (await broker.rabbit.queueDeclare({ queue, passive: true })).messageCount;
}

describe("the task queue", () => {
  it("puts the tasks published in one turn into one message, each with its own trace context", async () => {
    const received = receiveBatches(3);
    const tasks = openQueue(taskQueue, queueContext());
    await Promise.all([1, 2, 3].map((n) => inTestTrace(n, () => tasks.publish(task(`ep_${n}`)))));
    const batches = await received;
    expect(batches.map((b) => b.tasks.map((t) => t.endpointId))).toEqual([["ep_1", "ep_2", "ep_3"]]);
    expect(batches[0]?.tasks.map((t) => t.traceContext.traceparent)).toEqual([1, 2, 3].map(testTraceparent));
    expect(Buffer.from(batches[0]?.tasks[0]?.payload ?? [])).toEqual(Buffer.alloc(16, 120));
  });

  it(`sends at most ${MAX_TASKS_PER_MESSAGE} tasks or ${MAX_BATCH_PAYLOAD_BYTES} payload bytes to a message`, async () => {
    const count = MAX_TASKS_PER_MESSAGE + 3;
    const received = receiveBatches(count + 2);
    const tasks = openQueue(taskQueue, queueContext());
    await Promise.all([
      ...Array.from({ length: count }, (_, i) => tasks.publish(task(`small_${i}`))),
      tasks.publish(task("big", MAX_BATCH_PAYLOAD_BYTES + 1)),
      tasks.publish(task("after_big", MAX_BATCH_PAYLOAD_BYTES / 2)),
    ]);
    const batches = await received;
    expect(batches.map((b) => b.tasks.length).sort((a, b) => a - b)).toEqual([
      1,
      1,
      3,
      MAX_TASKS_PER_MESSAGE,
    ]);
    expect(batches.find((b) => b.tasks.some((t) => t.endpointId === "big"))?.tasks).toHaveLength(1);
    expect(new Set(batches.flatMap((b) => b.tasks.map((t) => t.endpointId))).size).toBe(count + 2);
  });

  it("publishes a task to come back later into the longest tier that fits, its due set", async () => {
    const tasks = openQueue(taskQueue, queueContext());
    const now = Date.now();
    await tasks.publishAt(task("later"), now + 3_600_000, { now });
    const tier = names.retryQueue(60_000);
    expect(await depth(tier)).toBe(1);
    await broker.rabbit.queuePurge({ queue: tier });
    await expect(tasks.publishAt(task("x"), now, { now, notBefore: true })).resolves.toBeUndefined();
    expect(await depth(names.retryQueue(1_000))).toBeLessThanOrEqual(1);
  });

  it("sends the tasks sent back in one turn to their tier in one message, each with its trace and due", async () => {
    const tasks = openQueue(taskQueue, queueContext());
    const tier = names.retryQueue(60_000);
    await broker.rabbit.queuePurge({ queue: tier });
    const now = Date.now();
    const dues = [1, 2, 3].map((n) => now + 3_600_000 + n);
    await Promise.all(
      [1, 2, 3].map((n) =>
        inTestTrace(n, () => tasks.publishAt(task(`back_${n}`), dues[n - 1] as number, { now })),
      ),
    );
    expect(await depth(tier)).toBe(1);
    const got = await broker.rabbit.basicGet({ queue: tier, noAck: true });
    const message = fromBinary(DeliveryTaskBatchSchema, got?.body as Buffer);
    expect(message.tasks.map((t) => t.endpointId)).toEqual(["back_1", "back_2", "back_3"]);
    expect(message.tasks.map((t) => t.traceContext.traceparent)).toEqual([1, 2, 3].map(testTraceparent));
    expect(message.tasks.map((t) => (t.dueTime ? timestampDate(t.dueTime).getTime() : 0))).toEqual(dues);
  });

  it("sends a task that came back early on to its next hop, unhandled, and hands over one that is due", async () => {
    const tasks = openQueue(taskQueue, queueContext());
    const early = create(DeliveryTaskSchema, {
      ...task("early"),
      dueTime: timestampFromDate(new Date(Date.now() + 7_200_000)),
    });
    const due = create(DeliveryTaskSchema, { ...task("due"), dueTime: timestampFromDate(new Date()) });
    const handled: string[] = [];
    const forwarded: string[] = [];
    const consumers = tasks.consume({
      concurrency: 2,
      span: "deliver task",
      handle: async (t: DeliveryTask) => void handled.push(t.endpointId),
      onForwarded: (t) => forwarded.push(t.endpointId),
    });
    try {
      await tasks.publishAlone(early);
      await tasks.publishAlone(due);
      await vi.waitFor(() => expect([...handled, ...forwarded].sort()).toEqual(["due", "early"]), 10_000);
      expect(handled).toEqual(["due"]);
      expect(forwarded).toEqual(["early"]);
      await vi.waitFor(async () => expect(await depth(names.retryQueue(60_000))).toBe(1), 5_000);
    } finally {
      await Promise.all(consumers.map((c) => c.close()));
    }
  });

  it("acks a batch once its tasks are handled, and sends a failed one back alone", async () => {
    await broker.rabbit.queuePurge({ queue: t1Shard });
    const tasks = openQueue(taskQueue, queueContext());
    const attempts = new Map<string, number>();
    const consumers = tasks.consume({
      concurrency: 4,
      itemsAtOnce: 2,
      span: "deliver task",
      handle: async (t: DeliveryTask) => {
        const n = (attempts.get(t.endpointId) ?? 0) + 1;
        attempts.set(t.endpointId, n);
        if (t.endpointId === "b" && n === 1) throw new Error("b failed once");
      },
    });
    try {
      await Promise.all(["a", "b", "c"].map((id) => tasks.publish(task(id))));
      await vi.waitFor(() => expect(attempts.get("b")).toBe(2), 10_000);
      expect(Object.fromEntries(attempts)).toEqual({ a: 1, b: 2, c: 1 });
    } finally {
      await Promise.all(consumers.map((c) => c.close()));
    }
    expect(await depth(t1Shard)).toBe(0);
  });

  it("publishes each tenant's tasks to its own shard, and reads every shard and the unsharded queue", async () => {
    const tasks = openQueue(taskQueue, queueContext());
    const other = tenantOnAnotherShard("t1");
    await Promise.all([
      tasks.publish(task("mine")),
      tasks.publish(create(DeliveryTaskSchema, { ...task("theirs"), tenantId: other })),
    ]);
    const otherShard = names.shardQueue(names.queues.deliveryTasks, shardOf(other));
    await vi.waitFor(async () => expect(await depth(otherShard)).toBe(1), 5_000);
    expect(await depth(t1Shard)).toBe(1);
    // A retry comes back from its tier to the unsharded queue, which is a lane too.
    await broker.publisher.publish(
      { exchange: names.exchanges.deliveries, messageId: "evt_legacy" },
      DeliveryTaskSchema,
      task("legacy"),
    );
    const handled: string[] = [];
    const consumers = tasks.consume({
      concurrency: 2,
      span: "deliver task",
      handle: async (t: DeliveryTask) => void handled.push(t.endpointId),
    });
    try {
      // The shards, the overflow shard and the unsharded queue.
      expect(consumers).toHaveLength(QUEUE_SHARDS + 2);
      await vi.waitFor(() => expect(handled.sort()).toEqual(["legacy", "mine", "theirs"]), 10_000);
    } finally {
      await Promise.all(consumers.map((c) => c.close()));
    }
  });

  it("sends a heavy tenant's tasks to the overflow shard, not ahead of those of its shard's other tenants", async () => {
    let now = 0;
    const tasks = openQueue(taskQueue, {
      ...queueContext(),
      heavyTenant: { ...HEAVY_TENANT, now: () => now },
    });
    const heavy = "heavy";
    const neighbour = tenantOnSameShard(heavy);
    const home = names.shardQueue(names.queues.deliveryTasks, shardOf(heavy));
    const overflow = names.shardQueue(names.queues.deliveryTasks, OVERFLOW_SHARD);
    await broker.rabbit.queuePurge({ queue: home });
    const publish = (tenantId: string, count: number, prefix: string) =>
      Promise.all(
        Array.from({ length: count }, (_, n) =>
          tasks.publish(create(DeliveryTaskSchema, { ...task(`${prefix}${n}`), tenantId })),
        ),
      );
    // A window's worth makes the tenant heavy from the next window on (the windows are the publisher's).
    await publish(heavy, HEAVY_TENANT.minItems, "first");
    now += HEAVY_TENANT.windowMs;
    await publish(heavy, 1_000, "later");
    await publish(neighbour, 10, "n");
    const items = async (queue: string) => {
      const got: DeliveryTaskBatch[] = [];
      const { messageCount } = await broker.rabbit.queueDeclare({ queue, passive: true });
      for (let n = 0; n < messageCount; n++) {
        const msg = await broker.rabbit.basicGet({ queue, noAck: true });
        if (msg) got.push(fromBinary(DeliveryTaskBatchSchema, msg.body as Buffer));
      }
      return got.flatMap((b) => b.tasks.map((t) => t.endpointId));
    };
    const inHome = await items(home);
    const inOverflow = await items(overflow);
    expect(inOverflow).toHaveLength(1_000);
    expect(inOverflow.every((id) => id.startsWith("later"))).toBe(true);
    expect(inHome).toHaveLength(HEAVY_TENANT.minItems + 10);
    // The neighbour's tasks wait behind the heavy tenant's first window only, not behind its flood.
    expect(inHome.slice(-10)).toEqual(Array.from({ length: 10 }, (_, n) => `n${n}`));
  });

  it("serves a quiet tenant's 50 tasks before a flooding tenant's first 20%", async () => {
    const tasks = openQueue(taskQueue, queueContext());
    const flood = "flood";
    const quiet = tenantOnAnotherShard(flood);
    const floodCount = 2_000;
    // The flood is published first, all of it, so a single FIFO queue would hold every one ahead.
    await Promise.all(
      Array.from({ length: floodCount }, (_, n) =>
        tasks.publish(create(DeliveryTaskSchema, { ...task(`f${n}`), tenantId: flood })),
      ),
    );
    await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        tasks.publish(create(DeliveryTaskSchema, { ...task(`q${n}`), tenantId: quiet })),
      ),
    );
    let floodHandled = 0;
    let quietHandled = 0;
    let floodWhenQuietDone = -1;
    const consumers = tasks.consume({
      concurrency: 4,
      itemsAtOnce: 4,
      span: "deliver task",
      handle: async (t: DeliveryTask) => {
        await new Promise((r) => setImmediate(r));
        if (t.tenantId === flood) floodHandled += 1;
        else if (++quietHandled === 50) floodWhenQuietDone = floodHandled;
      },
    });
    try {
      await vi.waitFor(() => expect(quietHandled).toBe(50), 20_000);
      expect(floodWhenQuietDone).toBeGreaterThanOrEqual(0);
      expect(floodWhenQuietDone).toBeLessThan(floodCount * 0.2);
      await vi.waitFor(() => expect(floodHandled).toBe(floodCount), 30_000);
    } finally {
      await Promise.all(consumers.map((c) => c.close()));
    }
  });
});

/** A tenant id whose tasks go to the same shard as `tenantId`'s. */
function tenantOnSameShard(tenantId: string): string {
  for (let n = 0; ; n++) if (shardOf(`same${n}`) === shardOf(tenantId)) return `same${n}`;
}

/** A tenant id whose tasks go to another shard than `tenantId`'s. */
function tenantOnAnotherShard(tenantId: string): string {
  for (let n = 0; ; n++) if (shardOf(`other${n}`) !== shardOf(tenantId)) return `other${n}`;
}
