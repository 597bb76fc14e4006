import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AttemptTrigger, DeliveryState, DeliveryTaskSchema } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { deadTaskChanges, deadTaskOutcome } from "./dead-tasks.js";
import { type AttemptOutcome, nextDeliveryState } from "./delivery-state.js";

const T = Date.parse("2025-01-01T00:00:00Z");
const task = create(DeliveryTaskSchema, {
  eventId: "e1",
  tenantId: "t1",
  endpointId: "ep1",
  attempt: 8,
  eventTime: timestampFromDate(new Date(T)),
  dueTime: timestampFromDate(new Date(T + 3_600_000)),
});
/** The attempt record of the same last attempt, as delivery publishes it (possibly before its due time). */
const record: AttemptOutcome = {
  attemptNumber: 8,
  attemptTime: new Date(T + 3_600_000 - 200),
  trigger: AttemptTrigger.SCHEDULED,
  state: DeliveryState.DEAD,
  responseStatus: 500,
  nextAttemptTime: null,
};

describe("dead tasks", () => {
  it("record the delivery DEAD when nothing else did", () => {
    expect(nextDeliveryState(undefined, deadTaskOutcome(task))).toMatchObject({
      state: DeliveryState.DEAD,
      attemptCount: 8,
      lastAttemptNumber: 8,
    });
  });

  it("give way to the attempt record, whichever arrives first", () => {
    const recordFirst = nextDeliveryState(nextDeliveryState(undefined, record), deadTaskOutcome(task));
    const taskFirst = nextDeliveryState(nextDeliveryState(undefined, deadTaskOutcome(task)), record);
    expect(recordFirst).toEqual(taskFirst);
    expect(taskFirst).toMatchObject({ lastResponseStatus: 500, lastAttemptTime: record.attemptTime });
  });

  it("do not undo a later replay that succeeded", () => {
    const redriven = nextDeliveryState(nextDeliveryState(undefined, record), {
      ...record,
      attemptNumber: 9,
      trigger: AttemptTrigger.MANUAL,
      state: DeliveryState.SUCCEEDED,
      responseStatus: 200,
      attemptTime: new Date(T + 7_200_000),
    });
    expect(nextDeliveryState(redriven, deadTaskOutcome(task))).toBe(redriven);
  });

  it("make one change per delivery and skip tasks without ids", () => {
    const changes = deadTaskChanges([task, task, create(DeliveryTaskSchema, { eventId: "e2", attempt: 1 })]);
    expect(changes).toHaveLength(1);
    expect(changes[0]?.outcomes).toHaveLength(2);
  });
});
