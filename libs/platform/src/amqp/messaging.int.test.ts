import { create, toBinary } from "@bufbuild/protobuf";
import { type DeliveryTask, DeliveryTaskSchema } from "@herald/contracts";
import { SpanKind } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createLogger } from "../logger.js";
import { openTestBroker, type TestBroker, testEnv } from "../testing/index.js";
import { inSpan } from "../tracing.js";
import { consumeProto, type MessageMeta } from "./messaging.js";
import { DELIVERY_LIMIT, topologyNames } from "./topology.js";
import { useTestTracing } from "./tracing.test-support.js";

const env = testEnv({ RETRY_TIERS: "1s,3s" });
const names = topologyNames(env.AMQP_NAMESPACE);
const exporter = useTestTracing();
const logger = createLogger({ service: "test", level: "silent" });
let broker: TestBroker;

beforeAll(async () => {
  broker = await openTestBroker(env, [1_000, 3_000]);
});

afterAll(() => broker?.close());

/** Resolves with the first `count` messages that reach `queue`. */
function receive(queue: string, count: number) {
  const got: Array<{ task: DeliveryTask; meta: MessageMeta; at: number }> = [];
  return new Promise<typeof got>((resolve) => {
    const consumer = consumeProto(broker.rabbit, {
      names,
      queue,
      schema: DeliveryTaskSchema,
      logger,
      handler: async (task, meta) => {
        got.push({ task, meta, at: Date.now() });
        if (got.length === count) void consumer.close().then(() => resolve(got));
      },
    });
  });
}

describe("RabbitMQ topology and protobuf messaging", () => {
  it("round-trips a protobuf message with its trace context", async () => {
    const payload = new TextEncoder().encode('{"exact":  "bytes"}');
    const task = create(DeliveryTaskSchema, {
      eventId: "evt_1",
      tenantId: "t1",
      endpointId: "ep_1",
      payload,
      attempt: 1,
    });
    const received = receive(names.queues.deliveryTasks, 1);
    let traceId = "";
    await inSpan("test-root", { kind: SpanKind.INTERNAL }, async (span) => {
      traceId = span.spanContext().traceId;
      await broker.publisher.publish(
        { exchange: names.exchanges.deliveries, messageId: "evt_1" },
        DeliveryTaskSchema,
        task,
      );
    });
    const [message] = await received;
    expect(message?.task.eventId).toBe("evt_1");
    expect(new Uint8Array(message?.task.payload ?? [])).toEqual(payload);
    expect(message?.meta.messageId).toBe("evt_1");
    expect(String(message?.meta.headers.traceparent)).toContain(traceId);

    // The consumer span ends just after the handler returns.
    const consumerSpan = await vi.waitFor(() => {
      const span = exporter
        .getFinishedSpans()
        .find((s) => s.name === `process ${names.exchanges.deliveries}`);
      if (!span) throw new Error("consumer span not finished yet");
      return span;
    });
    expect(consumerSpan.spanContext().traceId).toBe(traceId);
    expect(consumerSpan.attributes["messaging.system"]).toBe("rabbitmq");
  });

  it("names the span of a server-named queue's message after its exchange, never `process `", async () => {
    let consumer: ReturnType<typeof consumeProto> | undefined;
    const handled = new Promise<void>((resolve) => {
      consumer = consumeProto(broker.rabbit, {
        names,
        queue: "",
        queueOptions: { durable: false, exclusive: true, autoDelete: true },
        bindExchange: names.exchanges.control,
        schema: DeliveryTaskSchema,
        logger,
        handler: async () => resolve(),
      });
    });
    await new Promise<void>((resolve) => consumer?.once("ready", () => resolve()));
    await broker.publisher.publish(
      { exchange: names.exchanges.control },
      DeliveryTaskSchema,
      create(DeliveryTaskSchema, { eventId: "control" }),
    );
    await handled;
    const span = await vi.waitFor(() => {
      const found = exporter
        .getFinishedSpans()
        .find((s) => s.attributes["messaging.destination.anonymous"] === true);
      if (!found) throw new Error("consumer span not finished yet");
      return found;
    });
    await consumer?.close();
    expect(span.name).toBe(`process ${names.exchanges.control}`);
    expect(span.attributes["messaging.destination.name"]).toBe(names.exchanges.control);
    expect(exporter.getFinishedSpans().filter((s) => s.name.trim() !== s.name)).toEqual([]);
  });

  it("delays a message in a retry tier, then dead-letters it back to the task queue", async () => {
    const received = receive(names.queues.deliveryTasks, 2);
    const sentAt = Date.now();
    // The 3 s message goes first: with one queue per tier it must not hold up the 1 s one.
    await broker.publisher.publish(
      { exchange: names.exchanges.retry, routingKey: "3000" },
      DeliveryTaskSchema,
      create(DeliveryTaskSchema, { eventId: "slow", attempt: 2 }),
    );
    await broker.publisher.publish(
      { exchange: names.exchanges.retry, routingKey: "1000" },
      DeliveryTaskSchema,
      create(DeliveryTaskSchema, { eventId: "fast", attempt: 2 }),
    );
    const messages = await received;
    expect(messages.map((m) => m.task.eventId)).toEqual(["fast", "slow"]);
    expect((messages[0]?.at ?? 0) - sentAt).toBeGreaterThanOrEqual(900);
    expect((messages[1]?.at ?? 0) - sentAt).toBeGreaterThanOrEqual(2_900);
  });

  it("requeues a message whose handler failed, and the failure does not escape as an unhandled error", async () => {
    // Regression (test/chaos): a Consumer re-emits handler failures as "error"; without a listener that
    // threw and crashed the service at the first MongoDB or RabbitMQ hiccup.
    const handled: number[] = [];
    let calls = 0;
    let consumer: ReturnType<typeof consumeProto> | undefined;
    const done = new Promise<void>((resolve) => {
      consumer = consumeProto(broker.rabbit, {
        names,
        queue: names.queues.deliveryTasks,
        schema: DeliveryTaskSchema,
        logger,
        handler: async (task) => {
          calls += 1;
          if (calls === 1) throw new Error("MongoDB is away");
          handled.push(task.attempt);
          resolve();
        },
      });
    });
    await broker.publisher.publish(
      { exchange: names.exchanges.deliveries },
      DeliveryTaskSchema,
      create(DeliveryTaskSchema, { eventId: "flaky", attempt: 7 }),
    );
    await done;
    await consumer?.close();
    expect(calls).toBe(2);
    expect(handled).toEqual([7]);
  });

  it("parks an undecodable message instead of redelivering it", async () => {
    const raw = broker.rabbit.createPublisher({ confirm: true });
    await raw.send({ exchange: names.exchanges.deliveries, durable: true }, Buffer.from([0xff, 0xff, 0xff]));
    await raw.close();
    const deadline = Date.now() + 10_000;
    let parked = 0;
    const ch = await broker.rabbit.acquire();
    try {
      const consumer = consumeProto(broker.rabbit, {
        names,
        queue: names.queues.deliveryTasks,
        schema: DeliveryTaskSchema,
        logger,
        handler: async () => undefined,
      });
      while (Date.now() < deadline && parked === 0) {
        await new Promise((r) => setTimeout(r, 200));
        parked = (await ch.queueDeclare({ queue: names.queues.parked, passive: true })).messageCount;
      }
      await consumer.close();
    } finally {
      await ch.close();
    }
    expect(parked).toBe(1);
  });

  it("logs a message that fails its last delivery as parked", async () => {
    const lines: Array<{ msg: string; deliveries?: number }> = [];
    const capture = createLogger({
      service: "test",
      level: "warn",
      destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
    });
    // As RabbitMQ delivers a message that failed DELIVERY_LIMIT times before.
    const raw = broker.rabbit.createPublisher({ confirm: true });
    await raw.send(
      { exchange: names.exchanges.dead, durable: true, headers: { "x-delivery-count": DELIVERY_LIMIT } },
      Buffer.from(toBinary(DeliveryTaskSchema, create(DeliveryTaskSchema, { eventId: "poison" }))),
    );
    await raw.close();
    const consumer = consumeProto(broker.rabbit, {
      names,
      queue: names.queues.deliveryDead,
      schema: DeliveryTaskSchema,
      logger: capture,
      handler: async () => {
        throw new Error("fails every time");
      },
    });
    try {
      await vi.waitFor(
        () => expect(lines.map((l) => l.msg)).toContain("message parked after failing too often"),
        {
          timeout: 10_000,
        },
      );
    } finally {
      await consumer.close();
      await broker.rabbit.queuePurge({ queue: names.queues.deliveryDead });
    }
    expect(lines.find((l) => l.msg.startsWith("message parked"))?.deliveries).toBe(DELIVERY_LIMIT + 1);
  });
});
