import { create } from "@bufbuild/protobuf";
import { type DeliveryTaskBatch, DeliveryTaskBatchSchema, DeliveryTaskSchema } from "@herald/contracts";
import { topologyNames } from "@herald/platform";
import { MAX_BATCH_PAYLOAD_BYTES } from "@herald/platform/model";
import {
  enableTracePropagation,
  inTestTrace,
  openTestBroker,
  receiveMessages,
  type TestBroker,
  testEnv,
  testTraceparent,
} from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_TASKS_PER_MESSAGE, taskPublisher } from "./task-publisher.js";

const env = testEnv();
const names = topologyNames(env.AMQP_NAMESPACE);
let broker: TestBroker;
let disablePropagation = () => {};

beforeAll(async () => {
  disablePropagation = enableTracePropagation();
  broker = await openTestBroker(env, [1_000]);
});

afterAll(async () => {
  disablePropagation();
  await broker?.close();
});

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

/** Consumes delivery.tasks until `tasks` tasks came, resolving with the messages that held them. */
function receiveBatches(tasks: number): Promise<DeliveryTaskBatch[]> {
  return receiveMessages(
    broker.rabbit,
    {
      names,
      queue: names.queues.deliveryTasks,
      schema: DeliveryTaskBatchSchema,
      count: (b) => b.tasks.length,
    },
    tasks,
  );
}

describe("taskPublisher", () => {
  it("puts the tasks published in one turn into one message, each with its own trace context", async () => {
    const received = receiveBatches(3);
    const publish = taskPublisher(broker.publisher, names);
    await Promise.all([1, 2, 3].map((n) => inTestTrace(n, () => publish(task(`ep_${n}`)))));
    const batches = await received;
    expect(batches.map((b) => b.tasks.map((t) => t.endpointId))).toEqual([["ep_1", "ep_2", "ep_3"]]);
    expect(batches[0]?.tasks.map((t) => t.traceContext.traceparent)).toEqual([1, 2, 3].map(testTraceparent));
    expect(Buffer.from(batches[0]?.tasks[0]?.payload ?? [])).toEqual(Buffer.alloc(16, 120));
  });

  it(`sends at most ${MAX_TASKS_PER_MESSAGE} tasks or ${MAX_BATCH_PAYLOAD_BYTES} payload bytes to a message`, async () => {
    const count = MAX_TASKS_PER_MESSAGE + 3;
    const received = receiveBatches(count + 2);
    const publish = taskPublisher(broker.publisher, names);
    await Promise.all([
      ...Array.from({ length: count }, (_, i) => publish(task(`small_${i}`))),
      publish(task("big", MAX_BATCH_PAYLOAD_BYTES + 1)),
      publish(task("after_big", MAX_BATCH_PAYLOAD_BYTES / 2)),
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
});
