import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AuditRecordSchema, DeliveryState, DeliveryTaskSchema, IngestService } from "./index.js";

describe("contracts", () => {
  it("round-trips a delivery task with its exact payload bytes", () => {
    const payload = new TextEncoder().encode('{"a": 1,  "b":"é"}');
    const task = create(DeliveryTaskSchema, {
      eventId: "evt_1",
      tenantId: "t1",
      endpointId: "ep_1",
      payload,
      attempt: 2,
    });
    const back = fromBinary(DeliveryTaskSchema, toBinary(DeliveryTaskSchema, task));
    expect(back.payload).toEqual(payload);
    expect(back.attempt).toBe(2);
  });

  it("keeps the oneof case of an audit record", () => {
    const rec = create(AuditRecordSchema, {
      record: { case: "routing", value: { eventId: "evt_1", endpointIds: [] } },
      state: DeliveryState.PENDING,
    });
    const back = fromBinary(AuditRecordSchema, toBinary(AuditRecordSchema, rec));
    expect(back.record.case).toBe("routing");
  });

  it("describes the ingest service with its fully-qualified name", () => {
    expect(IngestService.typeName).toBe("herald.v1.IngestService");
    expect(Object.keys(IngestService.method)).toEqual(["publishEvent", "publishEvents"]);
  });
});
