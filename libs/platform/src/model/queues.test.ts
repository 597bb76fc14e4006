import { create, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AuditRecordBatchSchema,
  AuditRecordSchema,
  DeliveryTaskBatchSchema,
  DeliveryTaskSchema,
  EventBatchSchema,
  EventSchema,
} from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { decodeItems } from "../amqp/queues.js";
import { auditRecordQueue, deadTaskQueue, eventQueue, taskQueue } from "./queues.js";

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
const event = (id: string) =>
  create(EventSchema, { id, tenantId: "t1", eventType: "order.created", payload: new Uint8Array([1, 2]) });

describe("the task queue's messages", () => {
  const decode = decodeItems(taskQueue);

  it("are DeliveryTaskBatches, each task with the trace context it carries", () => {
    const body = toBinary(
      DeliveryTaskBatchSchema,
      create(DeliveryTaskBatchSchema, { tasks: [task("a"), task("b")] }),
    );
    const tasks = decode(body, DeliveryTaskBatchSchema.typeName);
    expect(tasks.map((t) => t.endpointId)).toEqual(["a", "b"]);
    expect(tasks.map((t) => t.traceContext.traceparent)).toEqual([traceparent, traceparent]);
  });

  it("or a single DeliveryTask (a retry), whose trace is its message's", () => {
    const tasks = decode(toBinary(DeliveryTaskSchema, task("retried")), DeliveryTaskSchema.typeName);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.endpointId).toBe("retried");
    expect(tasks[0]?.payload).toEqual(new Uint8Array([1, 2]));
    expect(tasks[0]?.traceContext).toEqual({});
  });

  it("and a body that is not protobuf is refused", () => {
    expect(() => decode(new Uint8Array([0xff, 0xff, 0xff]), DeliveryTaskBatchSchema.typeName)).toThrow();
  });

  it("carry a task's due time, which a new due replaces on a copy", () => {
    const due = taskQueue.due;
    expect(due?.of(task("a"))).toBeUndefined();
    const original = task("a");
    const delayed = due?.set(original, 1_700_000_000_123);
    expect(delayed?.dueTime && timestampDate(delayed.dueTime).getTime()).toBe(1_700_000_000_123);
    expect(due?.of(delayed ?? original)).toBe(1_700_000_000_123);
    expect(original.dueTime).toBeUndefined();
    const redelayed = due?.set(create(DeliveryTaskSchema, { dueTime: timestampFromDate(new Date(5)) }), 9);
    expect(due?.of(redelayed ?? original)).toBe(9);
  });
});

describe("the event queue's messages", () => {
  const decode = decodeItems(eventQueue);

  it("are EventBatches", () => {
    const body = toBinary(EventBatchSchema, create(EventBatchSchema, { events: [event("a"), event("b")] }));
    expect(decode(body, EventBatchSchema.typeName).map((e) => e.id)).toEqual(["a", "b"]);
  });

  it("or a single Event of an older ingest", () => {
    const events = decode(toBinary(EventSchema, event("old")), EventSchema.typeName);
    expect(events).toHaveLength(1);
    expect(events[0]?.id).toBe("old");
    expect(events[0]?.payload).toEqual(new Uint8Array([1, 2]));
  });

  it("and a body that is not protobuf is refused", () => {
    expect(() => decode(new Uint8Array([0xff, 0xff, 0xff]), EventBatchSchema.typeName)).toThrow();
  });
});

describe("the audit record and dead task queues' messages", () => {
  it("are AuditRecordBatches", () => {
    const record = create(AuditRecordSchema, {
      record: { case: "attempt", value: { id: "att_1", tenantId: "t1", eventId: "evt_1" } },
    });
    const body = toBinary(AuditRecordBatchSchema, create(AuditRecordBatchSchema, { records: [record] }));
    const records = decodeItems(auditRecordQueue)(body, undefined);
    expect(records.map((r) => (r.record.case === "attempt" ? r.record.value.id : ""))).toEqual(["att_1"]);
  });

  it("are single DeliveryTasks", () => {
    const tasks = decodeItems(deadTaskQueue)(toBinary(DeliveryTaskSchema, task("dead")), undefined);
    expect(tasks.map((t) => t.endpointId)).toEqual(["dead"]);
  });
});
