import { ErrorClass } from "@herald/contracts";
import { type Span, SpanStatusCode } from "@opentelemetry/api";

/** What an attempt's span needs of its outcome. */
export interface AttemptSpanOutcome {
  responseStatus?: number;
  errorClass?: ErrorClass;
  /** Herald's own words for a request that got no response (no secrets, no URLs). */
  errorMessage?: string;
}

/** Why an attempt failed: `error.type` (a class, or the HTTP status as the conventions ask) and a reason. */
export interface AttemptFailure {
  type: string;
  reason: string;
}

const ERROR_TYPES: Partial<Record<ErrorClass, string>> = {
  [ErrorClass.TIMEOUT]: "timeout",
  [ErrorClass.CONNECTION]: "connection",
  [ErrorClass.DNS]: "dns",
  [ErrorClass.BLOCKED]: "blocked",
  [ErrorClass.TLS]: "tls",
  [ErrorClass.CIRCUIT_OPEN]: "circuit_open",
  [ErrorClass.LISTEN_UNREPORTED]: "listen_unreported",
};

/** The failure an outcome stands for, or undefined for a success. */
export function attemptFailure(outcome: AttemptSpanOutcome): AttemptFailure | undefined {
  const errorClass = outcome.errorClass ?? ErrorClass.UNSPECIFIED;
  if (errorClass === ErrorClass.NONE || errorClass === ErrorClass.UNSPECIFIED) return undefined;
  if (errorClass === ErrorClass.HTTP_STATUS) {
    const status = outcome.responseStatus ?? 0;
    return { type: String(status), reason: `the receiver answered HTTP ${status}` };
  }
  const type = ERROR_TYPES[errorClass] ?? "error";
  return { type, reason: outcome.errorMessage || type };
}

/**
 * Records an attempt's outcome on its `deliver task` span: the response status, and for a failure
 * `error.type`, `herald.failure_reason` and an ERROR status with the same reason, so a failed delivery
 * says why (refused, timed out, TLS, the status it got) in the trace itself.
 */
export function recordAttemptOnSpan(span: Span | undefined, outcome: AttemptSpanOutcome): void {
  if (!span) return;
  span.setAttribute("herald.response_status", outcome.responseStatus ?? 0);
  const failure = attemptFailure(outcome);
  if (!failure) return;
  span.setAttributes({ "error.type": failure.type, "herald.failure_reason": failure.reason });
  span.setStatus({ code: SpanStatusCode.ERROR, message: failure.reason });
}
