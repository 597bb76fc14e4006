import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type Attempt,
  DeliveryState,
  type DeliveryTask,
  ErrorClass,
  type HttpHeader,
  HttpHeaderSchema,
  type TestDeliveryReply,
  TestDeliveryReplySchema,
} from "@herald/contracts";
import { endpointHeaders, tenantOwnsEvent } from "@herald/platform/model";
import type { Logger } from "pino";
import { type DeliverDeps, postRequest, attemptRecord as recordOf, redactUrl } from "./deliver-task.js";
import type { WebhookResponse } from "./webhook-client.js";
import { webhookRequest } from "./webhook-request.js";

/** The header that marks a test delivery (EndpointService.TestEndpoint); see docs/decisions/test-send.md. */
export const TEST_HEADER = "webhook-test";

/**
 * {@link deliverTest} for the request queue: an unexpected failure (a secret that cannot be opened, audit's
 * queue refusing the record) is logged here and answered as such, so the caller learns at once.
 */
export async function answerTest(
  deps: TestDeliveryDeps & { logger: Logger },
  task: DeliveryTask,
): Promise<TestDeliveryReply> {
  try {
    return await deliverTest(deps, task);
  } catch (err) {
    deps.logger.error({ err, endpointId: task.endpointId, tenantId: task.tenantId }, "test delivery failed");
    return create(TestDeliveryReplySchema, { outcome: { case: "failed", value: true } });
  }
}

/** Response headers answered at most, and the longest value kept of each. */
export const MAX_RESPONSE_HEADERS = 50;
export const MAX_HEADER_VALUE = 1024;

/** What stands in for a value Herald sent that the receiver echoed back. */
export const REDACTED = "[redacted]";

/** What a test delivery needs of delivery's: no circuit, limits, retries or failing run. */
export type TestDeliveryDeps = Pick<
  DeliverDeps,
  "cache" | "box" | "post" | "publishAudit" | "userAgent" | "now"
>;

/**
 * Sends a test task (trigger TEST) now, through the same request building, signing and HTTP client as
 * every delivery, records its attempt and answers with it. A test passes no circuit breaker or rate
 * limit (someone is waiting for it), goes to a disabled endpoint too (checking a receiver before
 * enabling it is what a test is for), is never retried, and moves neither the circuit nor the endpoint's
 * failing run: one test must not open, close or disable anything.
 */
export async function deliverTest(deps: TestDeliveryDeps, task: DeliveryTask): Promise<TestDeliveryReply> {
  const now = deps.now();
  const refused = (why: string) =>
    create(TestDeliveryReplySchema, { outcome: { case: "refused", value: why } });
  // Its caller stopped waiting: sending it now would surprise the receiver with a test nobody reads.
  if (task.replyDeadline && timestampDate(task.replyDeadline).getTime() <= now)
    return refused("the test waited too long for a delivery instance; try again");
  const [endpoint, tenant] = await Promise.all([
    deps.cache.endpoint(task.endpointId),
    deps.cache.tenant(task.tenantId),
  ]);
  if (!tenantOwnsEvent(tenant, new Date(now))) return refused(`tenant "${task.tenantId}" no longer exists`);
  if (!endpoint || endpoint.tenant_id !== task.tenantId)
    return refused(`endpoint "${task.endpointId}" no longer exists`);
  if (tenant.disabled) return refused(`tenant "${task.tenantId}" is disabled; enable it to send tests`);

  const request = webhookRequest({ task, endpoint, box: deps.box, userAgent: deps.userAgent, now });
  request.headers[TEST_HEADER] = "true";
  const { response, outcome } = await postRequest(deps, endpoint.url, request);
  // The receiver may echo what it got; the endpoint's custom header values are often credentials.
  const sent = Object.values(endpointHeaders(endpoint, deps.box));
  outcome.responseBody = redactSent(outcome.responseBody ?? "", sent);
  const record = recordOf(
    { task, now, url: redactUrl(endpoint.url), waited: undefined },
    outcome,
    DeliveryState.UNSPECIFIED,
    outcome.errorClass === ErrorClass.NONE,
  );
  await deps.publishAudit(record);
  const attempt = record.record.value as Attempt;
  return create(TestDeliveryReplySchema, {
    outcome: {
      case: "attempt",
      value: { ...attempt, responseHeaders: responseHeaders(response, sent) },
    },
  });
}

/** The receiver's headers, as many as {@link MAX_RESPONSE_HEADERS}, values capped and echoes redacted. */
export function responseHeaders(
  response: WebhookResponse | undefined,
  sent: readonly string[],
): HttpHeader[] {
  const headers: HttpHeader[] = [];
  for (const [name, value] of Object.entries(response?.headers ?? {})) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      if (headers.length === MAX_RESPONSE_HEADERS) return headers;
      headers.push(
        create(HttpHeaderSchema, { name, value: redactSent(one, sent).slice(0, MAX_HEADER_VALUE) }),
      );
    }
  }
  return headers;
}

/**
 * Shorter values are not redacted: a header such as `x-env: prod` is no credential, and replacing every
 * "prod" in a response would make it unreadable.
 */
export const MIN_REDACTED_LENGTH = 8;

/** `text` with every value of `sent` (of {@link MIN_REDACTED_LENGTH} or more) replaced by {@link REDACTED}. */
export function redactSent(text: string, sent: readonly string[]): string {
  let out = text;
  for (const value of sent) if (value.length >= MIN_REDACTED_LENGTH) out = out.replaceAll(value, REDACTED);
  return out;
}
