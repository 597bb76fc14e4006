import { ErrorClass } from "@herald/contracts";
import { type Attributes, type Span, SpanStatusCode } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { attemptFailure, recordAttemptOnSpan } from "./attempt-span.js";

/** A span that keeps what is set on it. */
function recordingSpan() {
  const attributes: Attributes = {};
  let status: { code: SpanStatusCode; message?: string } | undefined;
  const span = {
    setAttribute(key: string, value: unknown) {
      attributes[key] = value as never;
      return span;
    },
    setAttributes(values: Attributes) {
      Object.assign(attributes, values);
      return span;
    },
    setStatus(value: { code: SpanStatusCode; message?: string }) {
      status = value;
      return span;
    },
  };
  return { span: span as unknown as Span, attributes, status: () => status };
}

describe("a delivery attempt's span", () => {
  it("says why a request got no response: refused, timed out, TLS", () => {
    for (const [errorClass, type, message] of [
      [ErrorClass.CONNECTION, "connection", "connection failed (ECONNREFUSED)"],
      [ErrorClass.TIMEOUT, "timeout", "the receiver did not answer in time"],
      [ErrorClass.TLS, "tls", "TLS failed (ERR_TLS_CERT_ALTNAME_INVALID)"],
    ] as const) {
      const { span, attributes, status } = recordingSpan();
      recordAttemptOnSpan(span, { errorClass, errorMessage: message });
      expect(attributes).toMatchObject({ "error.type": type, "herald.failure_reason": message });
      expect(status()).toEqual({ code: SpanStatusCode.ERROR, message });
    }
  });

  it("gives a non-2xx answer its status as error.type and reason", () => {
    const { span, attributes, status } = recordingSpan();
    recordAttemptOnSpan(span, { errorClass: ErrorClass.HTTP_STATUS, responseStatus: 503 });
    expect(attributes).toMatchObject({
      "herald.response_status": 503,
      "error.type": "503",
      "herald.failure_reason": "the receiver answered HTTP 503",
    });
    expect(status()?.code).toBe(SpanStatusCode.ERROR);
  });

  it("leaves a success without error or status", () => {
    const { span, attributes, status } = recordingSpan();
    recordAttemptOnSpan(span, { errorClass: ErrorClass.NONE, responseStatus: 200 });
    expect(attributes).toEqual({ "herald.response_status": 200 });
    expect(status()).toBeUndefined();
    expect(attemptFailure({ errorClass: ErrorClass.NONE })).toBeUndefined();
  });
});
