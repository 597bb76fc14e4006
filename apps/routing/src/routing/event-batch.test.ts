import { create, toBinary } from "@bufbuild/protobuf";
import { EventBatchSchema, EventSchema } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { decodeEvents } from "./event-batch.js";

const event = (id: string) =>
  create(EventSchema, { id, tenantId: "t1", eventType: "order.created", payload: new Uint8Array([1, 2]) });

describe("decodeEvents", () => {
  it("reads an EventBatch", () => {
    const body = toBinary(EventBatchSchema, create(EventBatchSchema, { events: [event("a"), event("b")] }));
    expect(decodeEvents(body, EventBatchSchema.typeName).events.map((e) => e.id)).toEqual(["a", "b"]);
  });

  it("reads a single Event of an older ingest as a batch of one", () => {
    const batch = decodeEvents(toBinary(EventSchema, event("old")), EventSchema.typeName);
    expect(batch.events).toHaveLength(1);
    expect(batch.events[0]?.id).toBe("old");
    expect(batch.events[0]?.payload).toEqual(new Uint8Array([1, 2]));
  });

  it("refuses a body that is not protobuf", () => {
    expect(() => decodeEvents(new Uint8Array([0xff, 0xff, 0xff]), EventBatchSchema.typeName)).toThrow();
  });
});
