import { create, toBinary } from "@bufbuild/protobuf";
import { DeliveryTaskBatchSchema, DeliveryTaskSchema } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { decodeTasks } from "./task-batch.js";

const traceparent = `00-${"1".repeat(32)}-${"2".repeat(16)}-01`;
const task = (endpointId: string) =>
  create(DeliveryTaskSchema, {
    eventId: "evt_1",
    tenantId: "t1",
    endpointId,
    payload: new Uint8Array([1, 2]),
    attempt: 1,
    traceContext: { traceparent },
  });

describe("decodeTasks", () => {
  it("reads a DeliveryTaskBatch, each task with the trace context it carries", () => {
    const body = toBinary(
      DeliveryTaskBatchSchema,
      create(DeliveryTaskBatchSchema, { tasks: [task("a"), task("b")] }),
    );
    const batch = decodeTasks(body, DeliveryTaskBatchSchema.typeName);
    expect(batch.tasks.map((t) => t.endpointId)).toEqual(["a", "b"]);
    expect(batch.tasks.map((t) => t.traceContext.traceparent)).toEqual([traceparent, traceparent]);
  });

  it("reads a single DeliveryTask (a retry) as a batch of one, whose trace is its message's", () => {
    const batch = decodeTasks(toBinary(DeliveryTaskSchema, task("retried")), DeliveryTaskSchema.typeName);
    expect(batch.tasks).toHaveLength(1);
    expect(batch.tasks[0]?.endpointId).toBe("retried");
    expect(batch.tasks[0]?.payload).toEqual(new Uint8Array([1, 2]));
    expect(batch.tasks[0]?.traceContext).toEqual({});
  });

  it("refuses a body that is not protobuf", () => {
    expect(() => decodeTasks(new Uint8Array([0xff, 0xff, 0xff]), DeliveryTaskBatchSchema.typeName)).toThrow();
  });
});
