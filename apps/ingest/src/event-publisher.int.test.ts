import { type EventBatch, EventBatchSchema } from "@herald/contracts";
import { createLogger, openQueue, shardOf, topologyNames } from "@herald/platform";
import {
  type EventDocument,
  eventQueue,
  MAX_BATCH_PAYLOAD_BYTES,
  MAX_EVENTS_PER_MESSAGE,
} from "@herald/platform/model";
import {
  enableTracePropagation,
  inTestTrace,
  openTestBroker,
  receiveMessages,
  type TestBroker,
  testEnv,
  testTraceparent,
} from "@herald/platform/testing";
import { Binary } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventPublisher } from "./event-publisher.js";

const env = testEnv();
const names = topologyNames(env.AMQP_NAMESPACE);
let broker: TestBroker;
const logger = createLogger({ service: "test", level: "silent" });
let disablePropagation = () => {};

beforeAll(async () => {
  disablePropagation = enableTracePropagation();
  broker = await openTestBroker(env, [1_000]);
});

afterAll(async () => {
  disablePropagation();
  await broker?.close();
});

function eventDoc(id: string, payloadBytes = 16): EventDocument {
  return {
    _id: id,
    tenant_id: "t1",
    event_type: "order.created",
    payload: new Binary(Buffer.alloc(payloadBytes, 120)),
    channels: [],
    dedupe_key: id,
    create_time: new Date(),
    published: false,
  };
}

/** Consumes t1's shard of routing.events until `events` events came, resolving with the messages that held them. */
function receiveBatches(events: number): Promise<EventBatch[]> {
  return receiveMessages(
    broker.rabbit,
    {
      names,
      queue: names.shardQueue(names.queues.routingEvents, shardOf("t1")),
      schema: EventBatchSchema,
      count: (b) => b.events.length,
    },
    events,
  );
}

describe("eventPublisher", () => {
  it("puts the events published in one turn into one message, each with its own trace context", async () => {
    const received = receiveBatches(3);
    const publish = eventPublisher(openQueue(eventQueue, { ...broker, names, logger }));
    await Promise.all([1, 2, 3].map((n) => inTestTrace(n, () => publish(eventDoc(`evt_${n}`)))));
    const batches = await received;
    expect(batches.map((b) => b.events.map((e) => e.id))).toEqual([["evt_1", "evt_2", "evt_3"]]);
    const traceparents = batches[0]?.events.map((e) => e.traceContext.traceparent);
    expect(traceparents).toEqual([1, 2, 3].map(testTraceparent));
    expect(Buffer.from(batches[0]?.events[0]?.payload ?? [])).toEqual(Buffer.alloc(16, 120));
  });

  it(`sends at most ${MAX_EVENTS_PER_MESSAGE} events or ${MAX_BATCH_PAYLOAD_BYTES} payload bytes to a message, and a bigger event alone`, async () => {
    const count = MAX_EVENTS_PER_MESSAGE + 5;
    const received = receiveBatches(count + 3);
    const publish = eventPublisher(openQueue(eventQueue, { ...broker, names, logger }));
    const over = 0.6 * MAX_BATCH_PAYLOAD_BYTES;
    await Promise.all([
      ...Array.from({ length: count }, (_, i) => publish(eventDoc(`small_${i}`))),
      publish(eventDoc("big", MAX_BATCH_PAYLOAD_BYTES + 1)),
      publish(eventDoc("over_half_a", over)),
      publish(eventDoc("over_half_b", over)),
    ]);
    const batches = await received;
    const sizes = batches.map((b) => b.events.length).sort((a, b) => a - b);
    expect(sizes).toEqual([1, 1, 1, 5, MAX_EVENTS_PER_MESSAGE]);
    for (const id of ["big", "over_half_a", "over_half_b"]) {
      expect(batches.find((b) => b.events.some((e) => e.id === id))?.events).toHaveLength(1);
    }
    expect(new Set(batches.flatMap((b) => b.events.map((e) => e.id))).size).toBe(count + 3);
  });
});
