import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Attempt,
  AttemptTrigger,
  AttemptWait,
  type AuditRecord,
  DeliveryState,
  type DeliveryTask,
  DeliveryTaskSchema,
  DisabledReason,
  ErrorClass,
} from "@herald/contracts";
import type { Queue } from "@herald/platform";
import {
  type ControlPlaneCache,
  type EndpointDocument,
  isOperationalEventType,
  type OperationalFact,
  type SecretBox,
  type TenantDocument,
  tenantOwnsEvent,
} from "@herald/platform/model";
import { trace } from "@opentelemetry/api";
import type { Logger } from "pino";
import { recordAttemptOnSpan } from "./attempt-span.js";
import type { CircuitBreakers } from "./circuit-breaker.js";
import type { Admission } from "./endpoint-limits.js";
import { deadFact, disabledFact, failingStartedFact, failingSustainedFact } from "./operational-facts.js";
import { effectiveSchedule, nextRetryDelayMs, parseRetryAfter } from "./retry-policy.js";
import { urlParts } from "./url-parts.js";
import { WebhookRequestError, type WebhookResponse } from "./webhook-client.js";
import { type WebhookRequest, webhookRequest } from "./webhook-request.js";

/** What delivering one task needs. */
export interface DeliverDeps {
  cache: ControlPlaneCache;
  box: SecretBox;
  post(url: string, headers: Record<string, string>, body: Uint8Array): Promise<WebhookResponse>;
  /** The task queue's publishAt: the task comes back at `due` (its due time set); resolves on confirm. */
  publishAt: Queue<DeliveryTask>["publishAt"];
  /** Publishes to herald.dead; resolves on confirm. */
  publishDead(task: DeliveryTask): Promise<void>;
  /** Publishes to herald.attempts; resolves on confirm. */
  publishAudit(record: AuditRecord): Promise<void>;
  /**
   * Disables the endpoint (e.g. on 410 Gone) and tells every cache; resolves whether this call disabled
   * it (false when it already was).
   */
  disableEndpoint(endpoint: EndpointDocument, reason: DisabledReason): Promise<boolean>;
  /**
   * Sets (a Date) or clears (undefined) when the endpoint's current run of failures began; setting
   * resolves whether this call began the run (false when another instance already had).
   */
  setFailingSince(endpoint: EndpointDocument, since: Date | undefined): Promise<boolean>;
  /** Emits an operational event (`herald.*`); never throws. */
  emit(fact: OperationalFact): Promise<void>;
  /**
   * An endpoint still failing this long after its run began is reported again
   * (`herald.endpoint.failing`, sustained), once per such period; 0 never.
   */
  failingSustainedMs: number;
  breakers: CircuitBreakers;
  /**
   * Tells every delivery instance that the endpoint's receiver is back (a probe or an operator's replay
   * succeeded through its open circuit), so theirs close too. Must not throw.
   */
  announceRecovered(endpoint: EndpointDocument): Promise<void>;
  /** The endpoint's shared rate and concurrency budget; see EndpointLimits. */
  admit(endpoint: EndpointDocument): Promise<{ admission: Admission } | { waitMs: number }>;
  /** An endpoint failing without a break for this long is disabled. */
  disableAfterMs: number;
  platformScheduleMs: readonly number[];
  userAgent: string;
  logger: Logger;
  now(): number;
}

const ERROR_CLASSES: Record<WebhookRequestError["errorClass"], ErrorClass> = {
  timeout: ErrorClass.TIMEOUT,
  connection: ErrorClass.CONNECTION,
  dns: ErrorClass.DNS,
  blocked: ErrorClass.BLOCKED,
  tls: ErrorClass.TLS,
  listen_unreported: ErrorClass.LISTEN_UNREPORTED,
};

/**
 * Delivers one task that is due: signs and POSTs it, records the attempt, and on failure schedules the
 * next attempt or dead-letters it. Resolves once everything it published is confirmed, so the task is
 * acked only when its outcome is durable; if anything fails the task is redelivered and tried again.
 */
export async function deliverTask(
  deps: DeliverDeps,
  task: DeliveryTask,
  hooks: DeliveryHooks = {},
): Promise<DeliveryOutcome> {
  const now = deps.now();
  const span = trace.getActiveSpan();
  const dueMs = task.dueTime ? timestampDate(task.dueTime).getTime() : now;
  const target = await loadTarget(deps, task, now, attemptWait(task, hooks.waits, now));
  if ("kind" in target) return target;
  // Signed before it takes a slot: a secret that cannot be opened fails the task holding nothing.
  const request = webhookRequest({ ...target, box: deps.box, userAgent: deps.userAgent });
  const admitted = await admitToEndpoint(deps, target);
  if ("kind" in admitted) return admitted;
  const attempt = await send(deps, target, request, admitted.admission);
  hooks.answered?.(attempt.outcome.errorClass === ErrorClass.NONE ? "ok" : "failed");
  recordAttemptOnSpan(span, attempt.outcome);
  return settleAttempt(deps, target, attempt, {
    latencyMs: attempt.outcome.latencyMs ?? 0,
    lagMs: Math.max(0, now - dueMs),
    status: attempt.response?.status ?? 0,
  });
}

/** What the caller of {@link deliverTask} tells it and is told along the way. */
export interface DeliveryHooks {
  /** How long the task waited in this instance: at its endpoint's limit, and for a shared slot. */
  waits?: { endpointMs: number; slotMs: number };
  /** The endpoint answered (or the request failed): called before the attempt is recorded. */
  answered?(answer: "ok" | "failed"): void;
}

/** What an attempt waited for before it was sent, as its record shows it. */
export interface AttemptWaited {
  ms: number;
  for: AttemptWait;
}

/**
 * How long the attempt waited and for what: at its endpoint's limit (in memory here, plus the time since
 * it was first sent back to the queue for it), or for its tenant's turn at a shared slot; the longer
 * names the reason.
 */
export function attemptWait(
  task: DeliveryTask,
  waits: DeliveryHooks["waits"],
  now: number,
): AttemptWaited | undefined {
  const endpointMs = Math.round(heldForMs(task, now) + (waits?.endpointMs ?? 0));
  const slotMs = Math.round(waits?.slotMs ?? 0);
  if (endpointMs + slotMs < 1) return undefined;
  return {
    ms: endpointMs + slotMs,
    for: endpointMs >= slotMs ? AttemptWait.ENDPOINT_LIMIT : AttemptWait.TENANT_TURN,
  };
}

/** How long ago the task was first sent back to the queue because its endpoint was slow (0 if never). */
export function heldForMs(task: DeliveryTask, now: number): number {
  return task.heldSince ? Math.max(0, now - timestampDate(task.heldSince).getTime()) : 0;
}

/** The task as it goes back to the queue because its endpoint is at its limit: it remembers since when. */
export function heldBack(task: DeliveryTask, now: number): DeliveryTask {
  return task.heldSince
    ? task
    : create(DeliveryTaskSchema, { ...task, heldSince: timestampFromDate(new Date(now)) });
}

/** A task whose endpoint and tenant are loaded and may be delivered to. */
interface DeliveryTarget {
  task: DeliveryTask;
  endpoint: EndpointDocument;
  tenant: TenantDocument;
  /** When the delivery began, in ms since the epoch. */
  now: number;
  /** What every attempt record of this delivery carries. */
  base: AttemptRecordBase;
}

/** What one POST came back with: a response, or a request error, and its attempt outcome. */
export interface SentAttempt {
  response?: WebhookResponse;
  outcome: AttemptOutcome;
}

/**
 * Loads the task's endpoint and tenant and checks they may still be delivered to; when not, records
 * why (if anyone can still read it) and returns the outcome.
 */
async function loadTarget(
  deps: DeliverDeps,
  task: DeliveryTask,
  now: number,
  waited: AttemptWaited | undefined,
): Promise<DeliveryTarget | DeliveryOutcome> {
  const [endpoint, tenant] = await Promise.all([
    deps.cache.endpoint(task.endpointId),
    deps.cache.tenant(task.tenantId),
  ]);
  const base = { task, now, url: endpoint ? redactUrl(endpoint.url) : "", waited };
  const eventTime = task.eventTime ? timestampDate(task.eventTime) : new Date(now);
  if (!tenantOwnsEvent(tenant, eventTime)) {
    // The tenant was deleted (and maybe re-created since): its data is purged, so no attempt is
    // recorded, or it would come back under the id. The endpoint's circuit goes with it.
    deps.breakers.forget(task.endpointId);
    return { kind: "skipped" };
  }
  if (!endpoint || endpoint.tenant_id !== task.tenantId) {
    deps.breakers.forget(task.endpointId);
    await deps.publishAudit(
      attemptRecord(base, { errorMessage: "the endpoint no longer exists" }, DeliveryState.DEAD),
    );
    return { kind: "skipped" };
  }
  if (endpoint.disabled || tenant.disabled) {
    const what = tenant.disabled ? "tenant" : "endpoint";
    await deps.publishAudit(
      attemptRecord(
        base,
        { errorMessage: `the ${what} is disabled; recover after enabling it` },
        DeliveryState.DEAD,
      ),
    );
    return { kind: "skipped" };
  }
  return { task, endpoint, tenant, now, base };
}

/**
 * Passes the endpoint's circuit and its shared limits, or parks the task until it may pass (same attempt
 * number): a receiver that keeps failing, or an endpoint at its limits, must not tie up a delivery slot
 * other endpoints could use.
 */
async function admitToEndpoint(
  deps: DeliverDeps,
  target: DeliveryTarget,
): Promise<{ admission: Admission } | DeliveryOutcome> {
  const { task, endpoint, now } = target;
  const park = async (waitMs: number, lenient: boolean, parked: DeliveryTask): Promise<DeliveryOutcome> => {
    await deps.publishAt(parked, now + waitMs, { now, notBefore: true, lenient });
    return { kind: "parked" };
  };
  // An operator's replay goes through an open circuit as its probe: it must arrive within seconds of
  // Recover, not after the cooldown and behind every task parked before it.
  const circuit = deps.breakers.admit(endpoint._id, task.trigger === AttemptTrigger.MANUAL);
  // Behind an open circuit, lenient: coming back after the probe costs nothing, while being on time
  // would cost several passes through RabbitMQ for every parked task of a down endpoint.
  // Its circuit's wait is not its endpoint's limit: the attempt's record will not count it as such.
  if (!circuit.allowed) return park(circuit.waitMs, true, withoutHold(task));
  const budget = await deps.admit(endpoint);
  if ("waitMs" in budget) {
    deps.breakers.abandon(endpoint._id);
    return park(budget.waitMs, false, heldBack(task, now));
  }
  return budget;
}

/** POSTs the task to the endpoint, releasing the endpoint's budget once answered. */
async function send(
  deps: DeliverDeps,
  { endpoint }: DeliveryTarget,
  request: WebhookRequest,
  admission: Admission,
): Promise<SentAttempt> {
  try {
    return await postRequest(deps, endpoint.url, request);
  } finally {
    await admission.release();
  }
}

/** POSTs one request and describes what came of it as an attempt outcome. */
export async function postRequest(
  deps: Pick<DeliverDeps, "post">,
  url: string,
  request: WebhookRequest,
): Promise<SentAttempt> {
  let response: WebhookResponse;
  try {
    response = await deps.post(url, request.headers, request.body);
  } catch (err) {
    if (!(err instanceof WebhookRequestError)) throw err;
    return {
      outcome: {
        latencyMs: err.latencyMs,
        errorClass: ERROR_CLASSES[err.errorClass],
        errorMessage: err.message,
      },
    };
  }
  return {
    response,
    outcome: {
      responseStatus: response.status,
      responseBody: response.body,
      latencyMs: response.latencyMs,
      errorClass: response.status >= 200 && response.status < 300 ? ErrorClass.NONE : ErrorClass.HTTP_STATUS,
    },
  };
}

/**
 * Records the attempt's outcome: in the endpoint's circuit, and in an attempt record with what follows
 * from it. A success clears the endpoint's run of failures; 410 Gone disables the endpoint; any other
 * failure extends the run (disabling an endpoint failing too long) and schedules the next attempt, or
 * dead-letters the task after its last.
 */
async function settleAttempt(
  deps: DeliverDeps,
  target: DeliveryTarget,
  { response, outcome }: SentAttempt,
  sent: { latencyMs: number; lagMs: number; status: number },
): Promise<DeliveryOutcome> {
  const { task, endpoint, tenant, now, base } = target;
  const succeeded = outcome.errorClass === ErrorClass.NONE;
  if (deps.breakers.record(endpoint._id, succeeded, endpoint.tenant_id))
    await deps.announceRecovered(endpoint);
  if (succeeded) {
    if (endpoint.failing_since) await deps.setFailingSince(endpoint, undefined);
    await deps.publishAudit(attemptRecord(base, outcome, DeliveryState.SUCCEEDED));
    return { kind: "succeeded", ...sent };
  }
  if (response?.status === 410) {
    if (await deps.disableEndpoint(endpoint, DisabledReason.GONE))
      await deps.emit(disabledFact(endpoint, DisabledReason.GONE, now));
    await deps.publishAudit(
      attemptRecord(
        base,
        { ...outcome, errorMessage: "410 Gone: the endpoint was disabled" },
        DeliveryState.DEAD,
      ),
    );
    return { kind: "gone", ...sent };
  }

  const failed = { status: response?.status ?? 0, errorClass: outcome.errorClass ?? ErrorClass.UNSPECIFIED };
  await extendFailingRun(deps, endpoint, now, failed);
  const schedule = effectiveSchedule(
    endpoint.retry_schedule_ms,
    tenant.settings.retry_schedule_ms,
    deps.platformScheduleMs,
  );
  const delayMs = nextRetryDelayMs(schedule, task.attempt, retryAfterMs(response, now));
  if (delayMs === undefined) {
    await deps.publishDead(task);
    // A dead operational event is not reported: one about an operational endpoint that is down would
    // go to that endpoint, die there in turn, and so on for ever.
    if (!isOperationalEventType(task.eventType))
      await deps.emit(deadFact(endpoint, task, failed.status, now));
    await deps.publishAudit(attemptRecord(base, outcome, DeliveryState.DEAD));
    return { kind: "dead", ...sent };
  }
  const next = create(DeliveryTaskSchema, {
    ...task,
    attempt: task.attempt + 1,
    trigger: AttemptTrigger.SCHEDULED,
    heldSince: undefined,
  });
  await deps.publishAt(next, now + delayMs, { now });
  await deps.publishAudit(
    attemptRecord(base, { ...outcome, nextAttemptMs: now + delayMs }, DeliveryState.FAILED),
  );
  return { kind: "failed", ...sent };
}

/**
 * Marks when the endpoint's run of failures began, and disables it once the run lasts too long; tells
 * of the run's start, of it lasting (once per `failingSustainedMs`), and of the endpoint disabled.
 */
async function extendFailingRun(
  deps: DeliverDeps,
  endpoint: EndpointDocument,
  now: number,
  failed: { status: number; errorClass: ErrorClass },
): Promise<void> {
  if (!endpoint.failing_since) {
    const since = new Date(now);
    if (await deps.setFailingSince(endpoint, since))
      await deps.emit(failingStartedFact(endpoint, since, failed));
  } else if (now - endpoint.failing_since.getTime() >= deps.disableAfterMs) {
    if (await deps.disableEndpoint(endpoint, DisabledReason.FAILING))
      await deps.emit(disabledFact(endpoint, DisabledReason.FAILING, now));
  } else {
    const sustained = failingSustainedFact(endpoint, now, deps.failingSustainedMs, failed);
    if (sustained) await deps.emit(sustained);
  }
}

/** The delay a 429 or 503 response asks for in its Retry-After header, if any. */
function retryAfterMs(response: WebhookResponse | undefined, now: number): number | undefined {
  const header =
    response && (response.status === 429 || response.status === 503)
      ? response.headers["retry-after"]
      : undefined;
  return parseRetryAfter(Array.isArray(header) ? header[0] : header, now);
}

/**
 * What became of a task, for metrics: sent on to its next retry hop, skipped (endpoint gone or
 * disabled), parked (circuit open or endpoint at its shared limits), sent back because its endpoint was
 * slow and its in-memory wait list full (endpoint_busy), or attempted, with the attempt's latency,
 * how late it ran after its due time, and the response status (0 when there was no response).
 */
export type DeliveryOutcome =
  | { kind: "hop" | "skipped" | "parked" | "endpoint_busy" }
  | { kind: "succeeded" | "failed" | "dead" | "gone"; latencyMs: number; lagMs: number; status: number };

export interface AttemptOutcome {
  responseStatus?: number;
  responseBody?: string;
  latencyMs?: number;
  errorClass?: ErrorClass;
  errorMessage?: string;
  nextAttemptMs?: number;
}

/**
 * What every attempt record of one delivery carries: the task, when it began, the redacted URL, and
 * what it waited for before.
 */
export interface AttemptRecordBase {
  task: DeliveryTask;
  now: number;
  url: string;
  waited: AttemptWaited | undefined;
}

function withoutHold(task: DeliveryTask): DeliveryTask {
  return task.heldSince ? create(DeliveryTaskSchema, { ...task, heldSince: undefined }) : task;
}

/**
 * The attempt record of one attempt; `success` follows from the delivery's `state` unless given (a test
 * delivery has no delivery state).
 */
export function attemptRecord(
  base: AttemptRecordBase,
  outcome: AttemptOutcome,
  state: DeliveryState,
  success = state === DeliveryState.SUCCEEDED,
): AuditRecord {
  const { task, now, url, waited } = base;
  // Typed literals rather than create(), which walks the schema for every field: that was half of the
  // record's cost per attempt (docs/decisions/single-event-speed.md). The types ask for every field.
  const attempt: Attempt = {
    $typeName: "herald.v1.Attempt",
    id: `att_${randomUUID().replaceAll("-", "")}`,
    tenantId: task.tenantId,
    eventId: task.eventId,
    endpointId: task.endpointId,
    attemptNumber: task.attempt,
    trigger: task.trigger || AttemptTrigger.SCHEDULED,
    success,
    responseStatus: outcome.responseStatus ?? 0,
    responseBody: outcome.responseBody ?? "",
    latencyMs: outcome.latencyMs ?? 0,
    errorClass: outcome.errorClass ?? ErrorClass.UNSPECIFIED,
    errorMessage: outcome.errorMessage ?? "",
    attemptTime: timestampFromDate(new Date(now)),
    url,
    responseHeaders: [],
    waitedMs: waited?.ms ?? 0,
    waitedFor: waited?.for ?? AttemptWait.UNSPECIFIED,
  };
  if (outcome.nextAttemptMs) attempt.nextAttemptTime = timestampFromDate(new Date(outcome.nextAttemptMs));
  return { $typeName: "herald.internal.v1.AuditRecord", record: { case: "attempt", value: attempt }, state };
}

/** Attempt records keep the URL without its query string, where receivers sometimes put tokens. */
export function redactUrl(url: string): string {
  return urlParts(url).redacted;
}
