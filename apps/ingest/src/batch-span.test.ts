import type { Attributes, Span } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { recordBatchItem } from "./batch-span.js";

describe("recordBatchItem", () => {
  it("puts every accepted event's id on the call's span, and a refused item's position and code", () => {
    const events: Array<{ name: string; attributes?: Attributes }> = [];
    const span = { addEvent: (name: string, attributes?: Attributes) => events.push({ name, attributes }) };
    recordBatchItem(span as unknown as Span, 0, { eventId: "evt_a", duplicate: false });
    recordBatchItem(span as unknown as Span, 1, { errorCode: "invalid_argument" });
    recordBatchItem(span as unknown as Span, 2, { eventId: "evt_b", duplicate: true });
    expect(events).toEqual([
      {
        name: "event accepted",
        attributes: { "herald.event_id": "evt_a", "herald.batch_index": 0, "herald.duplicate": false },
      },
      { name: "event refused", attributes: { "herald.batch_index": 1, "error.type": "invalid_argument" } },
      {
        name: "event accepted",
        attributes: { "herald.event_id": "evt_b", "herald.batch_index": 2, "herald.duplicate": true },
      },
    ]);
  });
});
