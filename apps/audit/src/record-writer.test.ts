import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AttemptTrigger,
  AttemptWait,
  AuditRecordSchema,
  DeliveryState,
  EventSummarySchema,
  RoutingRecordSchema,
} from "@herald/contracts";
import type { EventDocument } from "@herald/platform/model";
import { Binary } from "mongodb";
import { describe, expect, it } from "vitest";
import {
  type AttemptDocument,
  type DeliveryDocument,
  eventDeliveries,
  eventSummaryFromDocument,
  payloadOf,
} from "./documents.js";
import { recordProblem } from "./record-writer.js";
import { replayTask } from "./replay.js";

const T = Date.parse("2025-01-01T00:00:00Z");

describe("recordProblem", () => {
  const attempt = {
    id: "a1",
    tenantId: "t1",
    eventId: "e1",
    endpointId: "ep1",
    attemptTime: timestampFromDate(new Date()),
  };

  it("accepts complete records", () => {
    expect(
      recordProblem(create(AuditRecordSchema, { record: { case: "attempt", value: attempt } })),
    ).toBeUndefined();
    const routing = create(RoutingRecordSchema, { tenantId: "t1", eventId: "e1" });
    expect(
      recordProblem(create(AuditRecordSchema, { record: { case: "routing", value: routing } })),
    ).toBeUndefined();
  });

  it("names what is missing", () => {
    const without = (field: keyof typeof attempt) =>
      recordProblem(
        create(AuditRecordSchema, { record: { case: "attempt", value: { ...attempt, [field]: undefined } } }),
      );
    expect(without("id")).toBe("attempt without id");
    expect(without("endpointId")).toContain("endpoint");
    expect(without("attemptTime")).toBe("attempt without attempt_time");
    expect(recordProblem(create(AuditRecordSchema))).toBe("empty record");
    const routing = create(RoutingRecordSchema, { eventId: "e1" });
    expect(
      recordProblem(create(AuditRecordSchema, { record: { case: "routing", value: routing } })),
    ).toContain("tenant");
  });
});

describe("events", () => {
  const payload = new TextEncoder().encode('{"a":  1}');
  const event: EventDocument = {
    _id: "e1",
    tenant_id: "t1",
    event_type: "order.created",
    payload: new Binary(payload),
    channels: ["eu"],
    dedupe_key: "e1",
    create_time: new Date("2025-01-01T00:00:00Z"),
    published: true,
  };

  it("become a manual replay task, due now, carrying the exact payload", () => {
    const now = new Date("2025-02-01T00:00:00Z");
    const task = replayTask(event, "ep1", 4, now);
    expect(task).toMatchObject({
      eventId: "e1",
      tenantId: "t1",
      endpointId: "ep1",
      eventType: "order.created",
      attempt: 4,
      eventTime: timestampFromDate(event.create_time),
      dueTime: timestampFromDate(now),
      trigger: AttemptTrigger.MANUAL,
    });
    expect(task.payload).toEqual(payload);
    expect(payloadOf(event)).toEqual(payload);
  });

  it("summarise as routed only with a route", () => {
    expect(eventSummaryFromDocument(event)).toEqual(
      create(EventSummarySchema, {
        id: "e1",
        tenantId: "t1",
        eventType: "order.created",
        channels: ["eu"],
        createTime: timestampFromDate(event.create_time),
      }),
    );
    const routed = eventSummaryFromDocument(event, {
      _id: "e1",
      tenant_id: "t1",
      endpoint_ids: [],
      route_time: new Date(),
    });
    expect(routed.routed).toBe(true);
    expect(routed.endpointIds).toEqual([]);
  });

  it("list an event's deliveries with a PENDING one for each routed endpoint not attempted yet", () => {
    const route = {
      _id: "e1",
      tenant_id: "t1",
      endpoint_ids: ["ep_c", "ep_a", "ep_b"],
      route_time: new Date(T),
    };
    const attempted: DeliveryDocument = {
      _id: "e1:ep_b",
      tenant_id: "t1",
      event_id: "e1",
      endpoint_id: "ep_b",
      state: DeliveryState.SUCCEEDED,
      attempt_count: 1,
      last_attempt_number: 1,
      last_attempt_time: new Date(T + 1_000),
      last_response_status: 200,
      update_time: new Date(T + 1_000),
      version: 0,
    };
    const listed = eventDeliveries(route, [attempted]);
    expect(listed.map((d) => [d.endpointId, d.state, d.attemptCount])).toEqual([
      ["ep_a", DeliveryState.PENDING, 0],
      ["ep_b", DeliveryState.SUCCEEDED, 1],
      ["ep_c", DeliveryState.PENDING, 0],
    ]);
    expect(listed[0]).toMatchObject({
      tenantId: "t1",
      eventId: "e1",
      updateTime: timestampFromDate(new Date(T)),
    });
    expect(eventDeliveries(null, [attempted]).map((d) => d.endpointId)).toEqual(["ep_b"]);
    expect(listed[1]).toMatchObject({ waitedMs: 0, waitedFor: AttemptWait.UNSPECIFIED });
  });

  it("say how long a delivery's attempts waited in all, and what its longest wait was for", () => {
    const doc: DeliveryDocument = {
      _id: "e1:ep_a",
      tenant_id: "t1",
      event_id: "e1",
      endpoint_id: "ep_a",
      state: DeliveryState.SUCCEEDED,
      attempt_count: 3,
      last_attempt_number: 3,
      last_attempt_time: new Date(T + 3_000),
      last_response_status: 200,
      waits: [
        { attempt_number: 1, waited_ms: 200, waited_for: AttemptWait.TENANT_TURN },
        { attempt_number: 3, waited_ms: 1_000, waited_for: AttemptWait.ENDPOINT_LIMIT },
      ],
      update_time: new Date(T + 3_000),
      version: 2,
    };
    expect(eventDeliveries(null, [doc])[0]).toMatchObject({
      endpointId: "ep_a",
      waitedMs: 1_200,
      waitedFor: AttemptWait.ENDPOINT_LIMIT,
    });
  });

  it("take the status of a delivery without a document from its accepted attempts", () => {
    const route = {
      _id: "e1",
      tenant_id: "t1",
      endpoint_ids: ["ep_a", "ep_b", "ep_c"],
      route_time: new Date(T),
    };
    const accepted = (endpoint: string, id: string, at: number, extra: Partial<AttemptDocument> = {}) =>
      ({
        _id: id,
        tenant_id: "t1",
        event_id: "e1",
        endpoint_id: endpoint,
        attempt_number: 1,
        trigger: AttemptTrigger.SCHEDULED,
        response_status: 204,
        attempt_time: new Date(T + at),
        ...extra,
      }) as AttemptDocument;
    const documented: DeliveryDocument = {
      _id: "e1:ep_c",
      tenant_id: "t1",
      event_id: "e1",
      endpoint_id: "ep_c",
      state: DeliveryState.FAILED,
      attempt_count: 2,
      last_attempt_number: 2,
      last_attempt_time: new Date(T + 5_000),
      last_response_status: 500,
      update_time: new Date(T + 5_000),
      version: 3,
    };
    const listed = eventDeliveries(
      route,
      [documented],
      [
        accepted("ep_a", "a1", 1_000, { waited_ms: 40, waited_for: AttemptWait.TENANT_TURN }),
        // Two tasks of the same first attempt both got through: one attempt counted, and the first
        // success stays the delivery's, as a document folding both would say.
        accepted("ep_a", "a2", 1_200, { response_status: 200 }),
        // ep_c's document says more than its accepted attempt: the document wins.
        accepted("ep_c", "a3", 900),
        // A test delivery is not a delivery of the event.
        accepted("ep_t", "a4", 800, { trigger: AttemptTrigger.TEST }),
      ],
    );
    expect(listed.map((d) => [d.endpointId, d.state, d.attemptCount, d.lastResponseStatus])).toEqual([
      ["ep_a", DeliveryState.SUCCEEDED, 1, 204],
      ["ep_b", DeliveryState.PENDING, 0, 0],
      ["ep_c", DeliveryState.FAILED, 2, 500],
    ]);
    expect(listed[0]).toMatchObject({
      tenantId: "t1",
      eventId: "e1",
      lastAttemptTime: timestampFromDate(new Date(T + 1_000)),
      updateTime: timestampFromDate(new Date(T + 1_000)),
      waitedMs: 40,
      waitedFor: AttemptWait.TENANT_TURN,
    });
  });
});
