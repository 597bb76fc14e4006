import { trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enableTracePropagation, testTraceparent } from "./testing/tracing.js";
import { extractTraceContextFromHeaders } from "./tracing.js";

let disable: () => void;
beforeAll(() => {
  disable = enableTracePropagation();
});
afterAll(() => disable());

describe("extractTraceContextFromHeaders", () => {
  it("continues the caller's trace from a call's headers, whatever their case", () => {
    const headers = new Headers({ TraceParent: testTraceparent(7), authorization: "Bearer k" });
    const span = trace.getSpanContext(extractTraceContextFromHeaders(headers));
    expect(span?.traceId).toBe((7).toString(16).padStart(32, "0"));
    expect(span?.isRemote).toBe(true);
  });

  it("starts no trace from headers without one, or with a malformed one", () => {
    expect(trace.getSpanContext(extractTraceContextFromHeaders(new Headers()))).toBeUndefined();
    const bad = new Headers({ traceparent: "00-nope" });
    expect(trace.getSpanContext(extractTraceContextFromHeaders(bad))).toBeUndefined();
  });
});
