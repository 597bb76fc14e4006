import { create, toJson } from "@bufbuild/protobuf";
import { timestampFromDate, ValueSchema } from "@bufbuild/protobuf/wkt";
import { AttemptSchema, AttemptTrigger, AttemptWait, ErrorClass } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { attemptFromDocument, attemptToDocument, payloadValueOf } from "./documents.js";

const attempt = (patch: { waitedMs?: number; waitedFor?: AttemptWait } = {}) =>
  create(AttemptSchema, {
    id: "att_1",
    tenantId: "t1",
    eventId: "evt_1",
    endpointId: "ep_1",
    attemptNumber: 1,
    trigger: AttemptTrigger.SCHEDULED,
    success: true,
    responseStatus: 204,
    latencyMs: 12,
    errorClass: ErrorClass.NONE,
    attemptTime: timestampFromDate(new Date("2026-03-01T12:00:00Z")),
    url: "https://hooks.example.com/in",
    ...patch,
  });

describe("attempt documents", () => {
  it("keep how long an attempt waited and for what, and read it back", () => {
    const waited = attempt({ waitedMs: 2_340, waitedFor: AttemptWait.ENDPOINT_LIMIT });
    const doc = attemptToDocument(waited);
    expect(doc.waited_ms).toBe(2_340);
    expect(doc.waited_for).toBe(AttemptWait.ENDPOINT_LIMIT);
    expect(attemptFromDocument(doc)).toEqual(waited);
  });

  it("store nothing for an attempt that did not wait, and read older documents as not waiting", () => {
    const doc = attemptToDocument(attempt());
    expect("waited_ms" in doc).toBe(false);
    expect("waited_for" in doc).toBe(false);
    const read = attemptFromDocument(doc);
    expect(read.waitedMs).toBe(0);
    expect(read.waitedFor).toBe(AttemptWait.UNSPECIFIED);
  });
});

describe("payloadValueOf", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  it("reads a JSON payload as the JSON value it is", () => {
    const value = payloadValueOf(bytes('{"order":1,"lines":[{"sku":"A","n":2.5}],"note":null,"ok":true}'));
    expect(value && toJson(ValueSchema, value)).toEqual({
      order: 1,
      lines: [{ sku: "A", n: 2.5 }],
      note: null,
      ok: true,
    });
  });

  it("leaves bytes that are not UTF-8 JSON to the bytes field", () => {
    expect(payloadValueOf(bytes("not json"))).toBeUndefined();
    expect(payloadValueOf(new Uint8Array([0x7b, 0xff, 0x7d]))).toBeUndefined();
    expect(payloadValueOf(new Uint8Array())).toBeUndefined();
  });
});
