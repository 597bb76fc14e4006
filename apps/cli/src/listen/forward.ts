import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ErrorClass, type ListenDelivery, ReportDeliveryRequestSchema } from "@herald/contracts";

/** Characters of the local response body reported (Herald keeps as much of an HTTP response). */
export const MAX_REPORTED_BODY = 4096;

/** How the local receiver answered one delivery. */
export interface LocalAnswer {
  /** 0 when it did not answer. */
  status: number;
  body: string;
  latencyMs: number;
  /** Why there was no answer; UNSPECIFIED when there was one. */
  errorClass: ErrorClass;
  errorMessage: string;
}

/** Options of {@link postLocally}. */
export interface PostLocallyOptions {
  timeoutMs: number;
  /** Default the global fetch; tests inject one. */
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * POSTs a delivery to the local URL exactly as Herald would have (the same headers and bytes, so the
 * receiver verifies the signature as usual), following no redirects, and says how it answered.
 */
export async function postLocally(
  url: string,
  delivery: ListenDelivery,
  options: PostLocallyOptions,
): Promise<LocalAnswer> {
  const now = options.now ?? Date.now;
  const started = now();
  try {
    const response = await (options.fetch ?? fetch)(url, {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text.slice(0, MAX_REPORTED_BODY),
      latencyMs: now() - started,
      errorClass: ErrorClass.UNSPECIFIED,
      errorMessage: "",
    };
  } catch (err) {
    return { status: 0, body: "", latencyMs: now() - started, ...noAnswer(err, options.timeoutMs) };
  }
}

/** Why a local POST got no answer, in Herald's error classes. */
export function noAnswer(err: unknown, timeoutMs: number): Pick<LocalAnswer, "errorClass" | "errorMessage"> {
  const name = (err as { name?: unknown }).name;
  if (name === "TimeoutError" || name === "AbortError") {
    return { errorClass: ErrorClass.TIMEOUT, errorMessage: `no answer within ${timeoutMs} ms` };
  }
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  const message = typeof cause?.message === "string" ? cause.message : String(err);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return { errorClass: ErrorClass.DNS, errorMessage: message };
  return { errorClass: ErrorClass.CONNECTION, errorMessage: message };
}

/** The report of one delivery's local answer. */
export function reportOf(
  target: { tenantId: string; endpointId: string },
  delivery: ListenDelivery,
  answer: LocalAnswer,
): MessageInitShape<typeof ReportDeliveryRequestSchema> {
  return create(ReportDeliveryRequestSchema, {
    tenantId: target.tenantId,
    endpointId: target.endpointId,
    deliveryId: delivery.deliveryId,
    status: answer.status,
    body: answer.body,
    latencyMs: Math.max(0, Math.round(answer.latencyMs)),
    errorClass: answer.errorClass,
    errorMessage: answer.errorMessage,
  });
}

/** One line per delivery: time, event type, event id, attempt, the local status (or why none) and latency. */
export function deliveryLine(delivery: ListenDelivery, answer: LocalAnswer, at: Date): string {
  const outcome = answer.status > 0 ? String(answer.status) : `no answer (${answer.errorMessage})`;
  return [
    at.toISOString().slice(11, 19),
    delivery.eventType,
    delivery.eventId,
    `attempt ${delivery.attempt}`,
    `→ ${outcome}`,
    `${Math.round(answer.latencyMs)} ms`,
  ].join("  ");
}
