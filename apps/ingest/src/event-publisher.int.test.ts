import { type EventBatch, EventBatchSchema } from "@herald/contracts";
import { declareTopology, type EventDocument, ProtoPublisher, topologyNames } from "@herald/platform";
import { cleanupTestEnv, receiveMessages, testEnv } from "@herald/platform/testing";
import { context, propagation, TraceFlags, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { Binary } from "mongodb";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventPublisher, MAX_BATCHED_PAYLOAD_BYTES, MAX_EVENTS_PER_MESSAGE } from "./event-publisher.js";

const env = testEnv();
const names = topologyNames(env.AMQP_NAMESPACE);
let rabbit: Connection;
let publisher: ProtoPublisher;

beforeAll(async () => {
  // W3C propagation and async context, as a running service has them, for the events' trace contexts.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  rabbit = new Connection(env.AMQP_URL);
  await declareTopology(rabbit, names, [1_000]);
  publisher = new ProtoPublisher(rabbit);
});

afterAll(async () => {
  propagation.disable();
  context.disable();
  await publisher?.close();
  await rabbit?.close();
  await cleanupTestEnv(env);
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

/** Consumes routing.events until `events` events came, resolving with the messages that held them. */
function receiveBatches(events: number): Promise<EventBatch[]> {
  return receiveMessages(
    rabbit,
    { names, queue: names.queues.routingEvents, schema: EventBatchSchema, count: (b) => b.events.length },
    events,
  );
}

/** Runs `fn` as if in the span `spanId` of its own trace. */
function inTrace<T>(n: number, fn: () => T): T {
  const spanContext = {
    traceId: n.toString(16).padStart(32, "0"),
    spanId: n.toString(16).padStart(16, "0"),
    traceFlags: TraceFlags.SAMPLED,
  };
  return context.with(trace.setSpanContext(context.active(), spanContext), fn);
}

describe("eventPublisher", () => {
  it("puts the events published in one turn into one message, each with its own trace context", async () => {
    const received = receiveBatches(3);
    const publish = eventPublisher(publisher, names);
    await Promise.all([1, 2, 3].map((n) => inTrace(n, () => publish(eventDoc(`evt_${n}`)))));
    const batches = await received;
    expect(batches.map((b) => b.events.map((e) => e.id))).toEqual([["evt_1", "evt_2", "evt_3"]]);
    const traceparents = batches[0]?.events.map((e) => e.traceContext.traceparent);
    expect(traceparents).toEqual([1, 2, 3].map((n) => `00-${"0".repeat(31)}${n}-${"0".repeat(15)}${n}-01`));
    expect(Buffer.from(batches[0]?.events[0]?.payload ?? [])).toEqual(Buffer.alloc(16, 120));
  });

  it(`sends at most ${MAX_EVENTS_PER_MESSAGE} events to a message, and a big one alone`, async () => {
    const count = MAX_EVENTS_PER_MESSAGE + 5;
    const received = receiveBatches(count + 1);
    const publish = eventPublisher(publisher, names);
    await Promise.all([
      ...Array.from({ length: count }, (_, i) => publish(eventDoc(`small_${i}`))),
      publish(eventDoc("big", MAX_BATCHED_PAYLOAD_BYTES + 1)),
    ]);
    const batches = await received;
    const sizes = batches.map((b) => b.events.length).sort((a, b) => a - b);
    expect(sizes).toEqual([1, 5, MAX_EVENTS_PER_MESSAGE]);
    const big = batches.find((b) => b.events.some((e) => e.id === "big"));
    expect(big?.events).toHaveLength(1);
    expect(new Set(batches.flatMap((b) => b.events.map((e) => e.id))).size).toBe(count + 1);
  });
});
