import { DisabledReason, ErrorClass } from "@herald/contracts";
import { type EndpointDocument, type OperationalFact, redactedEndpointUrl } from "@herald/platform/model";

// What delivery tells tenants (and the operator) about their endpoints, as operational facts. Each fact's
// key names what makes it one, so every instance and every retry that sees it emits the same event, and
// the keys with a time bucket bound how many events one endpoint can cause. The rules and their reasons:
// docs/decisions/operational-webhooks.md.

/** Circuit transitions of one endpoint are reported at most once per this (per direction). */
export const CIRCUIT_EVENT_BUCKET_MS = 5 * 60_000;

/** Dead-lettered deliveries of one endpoint are reported at most once per this. */
export const DEAD_EVENT_BUCKET_MS = 60_000;

const ERROR_NAMES: Partial<Record<ErrorClass, string>> = {
  [ErrorClass.HTTP_STATUS]: "http_status",
  [ErrorClass.TIMEOUT]: "timeout",
  [ErrorClass.CONNECTION]: "connection",
  [ErrorClass.DNS]: "dns",
  [ErrorClass.BLOCKED]: "blocked",
  [ErrorClass.TLS]: "tls",
};

function endpointData(endpoint: EndpointDocument) {
  return { endpoint_id: endpoint._id, endpoint_url: redactedEndpointUrl(endpoint.url) };
}

function bucket(ms: number, sizeMs: number): string {
  return new Date(Math.floor(ms / sizeMs) * sizeMs).toISOString();
}

/**
 * The endpoint was disabled. Keyed by the version of the endpoint that was disabled (its update_time):
 * an endpoint is disabled once per time it was enabled, whichever instance got there first.
 */
export function disabledFact(
  endpoint: EndpointDocument,
  reason: DisabledReason,
  now: number,
): OperationalFact<"herald.endpoint.disabled"> {
  const failing = reason === DisabledReason.FAILING;
  return {
    type: "herald.endpoint.disabled",
    tenantId: endpoint.tenant_id,
    key: `${endpoint._id}:${endpoint.update_time.toISOString()}`,
    data: {
      ...endpointData(endpoint),
      reason: failing ? "failing" : "gone",
      ...(failing && endpoint.failing_since ? { failing_since: endpoint.failing_since.toISOString() } : {}),
    },
    time: new Date(now),
  };
}

/** What the attempt that failed told: its status (0 without a response) and what went wrong. */
export interface FailedAttempt {
  status: number;
  errorClass: ErrorClass;
}

/** The endpoint began to fail: its first failure since it last succeeded (or since it was created). */
export function failingStartedFact(
  endpoint: EndpointDocument,
  since: Date,
  attempt: FailedAttempt,
): OperationalFact<"herald.endpoint.failing"> {
  return failingFact(endpoint, "started", since, `${endpoint._id}:${since.toISOString()}`, attempt, since);
}

/**
 * The endpoint is still failing, `failingSustainedMs` or more after its run began: reported once per
 * such period of the run (the key names the run and the period), so at most once per period.
 * Undefined while the run is younger than one period.
 */
export function failingSustainedFact(
  endpoint: EndpointDocument,
  now: number,
  failingSustainedMs: number,
  attempt: FailedAttempt,
): OperationalFact<"herald.endpoint.failing"> | undefined {
  const since = endpoint.failing_since;
  if (!since || failingSustainedMs <= 0) return undefined;
  const period = Math.floor((now - since.getTime()) / failingSustainedMs);
  if (period < 1) return undefined;
  const key = `${endpoint._id}:${since.toISOString()}:${period}`;
  return failingFact(endpoint, "sustained", since, key, attempt, new Date(now));
}

function failingFact(
  endpoint: EndpointDocument,
  phase: "started" | "sustained",
  since: Date,
  key: string,
  attempt: FailedAttempt,
  time: Date,
): OperationalFact<"herald.endpoint.failing"> {
  return {
    type: "herald.endpoint.failing",
    tenantId: endpoint.tenant_id,
    key,
    data: {
      ...endpointData(endpoint),
      phase,
      failing_since: since.toISOString(),
      last_status: attempt.status,
      last_error: ERROR_NAMES[attempt.errorClass] ?? "unknown",
    },
    time,
  };
}

/**
 * The endpoint's circuit opened or closed on this instance. Circuits are per instance, so the key is
 * the endpoint, the direction and a 5-minute bucket: the instances that see the same outage report it
 * once (twice when it straddles a bucket), and a flapping circuit at most once per bucket each way.
 */
export function circuitFact(
  endpoint: EndpointDocument,
  to: "open" | "closed",
  now: number,
): OperationalFact<"herald.endpoint.circuit_opened" | "herald.endpoint.circuit_closed"> {
  return {
    type: to === "open" ? "herald.endpoint.circuit_opened" : "herald.endpoint.circuit_closed",
    tenantId: endpoint.tenant_id,
    key: `${endpoint._id}:${bucket(now, CIRCUIT_EVENT_BUCKET_MS)}`,
    data: endpointData(endpoint),
    time: new Date(now),
  };
}

/**
 * Tells of circuit transitions, as `CircuitBreakers`' `onTransition` hears them: looks the endpoint up
 * (the breaker knows only ids) and emits {@link circuitFact}. Returns at once, as the breaker must not
 * wait; the emit is tracked by the emitter, which catches its own failures.
 */
export function circuitNotifier(deps: {
  endpoint(id: string): Promise<EndpointDocument | undefined>;
  emit(fact: OperationalFact): Promise<void>;
  now(): number;
}): (to: "open" | "closed", endpointId: string, tenantId: string) => void {
  return (to, endpointId, tenantId) => {
    const at = deps.now();
    void deps
      .endpoint(endpointId)
      .then((endpoint) => {
        // An endpoint gone, or of another tenant since, has nobody to tell.
        if (endpoint?.tenant_id === tenantId) return deps.emit(circuitFact(endpoint, to, at));
      })
      .catch(() => undefined);
  };
}

/**
 * A delivery was dead-lettered: the first of each minute per endpoint is reported (a receiver down for
 * days dead-letters every event; `herald.dead_letters.growing` tells how many).
 */
export function deadFact(
  endpoint: EndpointDocument,
  task: { eventId: string; eventType: string; attempt: number },
  lastStatus: number,
  now: number,
): OperationalFact<"herald.delivery.dead"> {
  return {
    type: "herald.delivery.dead",
    tenantId: endpoint.tenant_id,
    key: `${endpoint._id}:${bucket(now, DEAD_EVENT_BUCKET_MS)}`,
    data: {
      ...endpointData(endpoint),
      event_id: task.eventId,
      event_type: task.eventType,
      attempts: task.attempt,
      last_status: lastStatus,
    },
    time: new Date(now),
  };
}
