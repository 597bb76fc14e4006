import { create } from "@bufbuild/protobuf";
import { type Event, EventBatchSchema, EventSchema } from "@herald/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { openTestBroker, receiveMessages, type TestBroker, testEnv } from "../testing/index.js";
import { handleBatch, republishEachAlone } from "./batch-handling.js";
import { topologyNames } from "./topology.js";

const env = testEnv();
const names = topologyNames(env.AMQP_NAMESPACE);
let broker: TestBroker;

beforeAll(async () => {
  broker = await openTestBroker(env, [1_000]);
});

afterAll(() => broker?.close());

const event = (id: string) =>
  create(EventSchema, { id, tenantId: "t1", eventType: "order.created", traceContext: { traceparent: id } });

describe("republishEachAlone", () => {
  it("sends each failed item of a batch back to its queue in a message of its own", async () => {
    const received = receiveMessages(
      broker.rabbit,
      { names, queue: names.queues.routingEvents, schema: EventBatchSchema, count: (b) => b.events.length },
      2,
    );
    await handleBatch(
      ["a", "b", "c"].map(event),
      async (e) => {
        if (e.id !== "b") throw new Error(`${e.id} failed`);
      },
      republishEachAlone(broker.publisher, {
        exchange: names.exchanges.events,
        schema: EventBatchSchema,
        batchOf: (events: Event[]) => create(EventBatchSchema, { events }),
        idOf: (e) => e.id,
        logger: createLogger({ service: "test", level: "silent" }),
        itemsName: "events",
      }),
    );
    const batches = await received;
    expect(batches.map((b) => b.events.map((e) => [e.id, e.traceContext.traceparent])).sort()).toEqual([
      [["a", "a"]],
      [["c", "c"]],
    ]);
  });
});
