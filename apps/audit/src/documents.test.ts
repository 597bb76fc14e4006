import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AttemptSchema, AttemptTrigger, AttemptWait, ErrorClass } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { attemptFromDocument, attemptToDocument } from "./documents.js";

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
