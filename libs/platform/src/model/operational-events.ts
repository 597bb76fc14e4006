// Herald's operational events: what Herald itself tells a tenant (and the operator) about its endpoints
// and deliveries, as ordinary events of reserved types in the `herald.` namespace. Their payloads are
// defined once here, with their JSON Schemas, which the tenant's catalog lists as built-in entries.
// Why and how: docs/decisions/operational-webhooks.md.

/** Event types starting with this are Herald's own: tenants may subscribe to them, never publish them. */
export const OPERATIONAL_TYPE_PREFIX = "herald.";

/**
 * Idempotency keys starting with this are Herald's own (its operational events are stored under them),
 * so a tenant cannot take the key of a fact before Herald emits it.
 */
export const OPERATIONAL_KEY_PREFIX = "herald:";

/** Whether `eventType` is in the reserved namespace of Herald's operational events. */
export function isOperationalEventType(eventType: string): boolean {
  return eventType.startsWith(OPERATIONAL_TYPE_PREFIX);
}

/** What every operational payload carries. */
interface OperationalBase {
  /** The tenant the fact is about (the operator's copy names the source tenant here). */
  tenant_id: string;
  /** When Herald saw the fact, RFC 3339. */
  time: string;
}

interface EndpointFact extends OperationalBase {
  endpoint_id: string;
  /** The endpoint's URL without its query string (where receivers sometimes put tokens). */
  endpoint_url: string;
}

/** The payload of each operational event type. */
export interface OperationalPayloads {
  "herald.endpoint.disabled": EndpointFact & {
    /** `gone`: the receiver answered 410; `failing`: every delivery failed for longer than allowed. */
    reason: "gone" | "failing";
    /** When the endpoint's run of failures began, for `failing`. */
    failing_since?: string;
  };
  "herald.endpoint.failing": EndpointFact & {
    /** `started`: the first failure after a success; `sustained`: still failing, sent again periodically. */
    phase: "started" | "sustained";
    failing_since: string;
    /** The last attempt's HTTP status, 0 when there was no response. */
    last_status: number;
    /** What went wrong, e.g. `http_status`, `timeout`, `connection`. */
    last_error: string;
  };
  "herald.endpoint.circuit_opened": EndpointFact;
  "herald.endpoint.circuit_closed": EndpointFact;
  "herald.delivery.dead": EndpointFact & {
    event_id: string;
    event_type: string;
    /** Attempts made before the delivery was dead-lettered. */
    attempts: number;
    last_status: number;
  };
  "herald.dead_letters.growing": OperationalBase & {
    /** Deliveries of the tenant dead-lettered within the window (at least the threshold). */
    dead_letters: number;
    window_seconds: number;
  };
  "herald.secret.rotation_ended": EndpointFact & {
    /** The id of the secret that stopped signing. */
    secret_id: string;
  };
  "herald.tenant.rate_limited": OperationalBase & {
    limit_per_second: number;
  };
}

export type OperationalEventType = keyof OperationalPayloads;

/** A payload as its emitter gives it: `tenant_id` and `time` come from the fact. */
export type OperationalData<T extends OperationalEventType> = Omit<
  OperationalPayloads[T],
  keyof OperationalBase
>;

/** A built-in catalog entry: what the type means, its payload's JSON Schema and an example. */
export interface OperationalTypeSpec {
  description: string;
  schema: Record<string, unknown>;
  example: Record<string, unknown>;
}

const DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";
const STRING = { type: "string" } as const;
const TIME = { type: "string", format: "date-time" } as const;
const COUNT = { type: "integer", minimum: 0 } as const;

/** A strict object schema: every property listed is required unless named in `optional`. */
function objectSchema(
  title: string,
  properties: Record<string, unknown>,
  optional: string[] = [],
): Record<string, unknown> {
  const all = { tenant_id: STRING, time: TIME, ...properties };
  return {
    $schema: DRAFT_2020_12,
    title,
    type: "object",
    properties: all,
    required: Object.keys(all).filter((name) => !optional.includes(name)),
    additionalProperties: false,
  };
}

const ENDPOINT = { endpoint_id: STRING, endpoint_url: STRING };
const EXAMPLE_BASE = { tenant_id: "acme", time: "2026-12-06T08:00:00.000Z" };
const EXAMPLE_ENDPOINT = {
  ...EXAMPLE_BASE,
  endpoint_id: "ep_01jeexample0000000000000000",
  endpoint_url: "https://hooks.example.com/herald",
};

/** Every operational event type: its description, JSON Schema and example, in name order. */
export const OPERATIONAL_EVENT_TYPES: Readonly<Record<OperationalEventType, OperationalTypeSpec>> = {
  "herald.dead_letters.growing": {
    description:
      "Many of the tenant's deliveries were dead-lettered within a short window: a receiver is down or refusing. Sent at most once per window.",
    schema: objectSchema("herald.dead_letters.growing", { dead_letters: COUNT, window_seconds: COUNT }),
    example: { ...EXAMPLE_BASE, dead_letters: 100, window_seconds: 900 },
  },
  "herald.delivery.dead": {
    description:
      "A delivery failed its last attempt and was dead-lettered (Redrive sends it again). At most one per endpoint per minute; dead operational events are not reported.",
    schema: objectSchema("herald.delivery.dead", {
      ...ENDPOINT,
      event_id: STRING,
      event_type: STRING,
      attempts: COUNT,
      last_status: COUNT,
    }),
    example: {
      ...EXAMPLE_ENDPOINT,
      event_id: "evt_01jeexample0000000000000000",
      event_type: "order.created",
      attempts: 8,
      last_status: 500,
    },
  },
  "herald.endpoint.circuit_closed": {
    description: "The endpoint's circuit closed again: a probe or a replay succeeded, deliveries flow.",
    schema: objectSchema("herald.endpoint.circuit_closed", ENDPOINT),
    example: EXAMPLE_ENDPOINT,
  },
  "herald.endpoint.circuit_opened": {
    description:
      "The endpoint's circuit opened: most recent attempts failed, so its deliveries are held and probed.",
    schema: objectSchema("herald.endpoint.circuit_opened", ENDPOINT),
    example: EXAMPLE_ENDPOINT,
  },
  "herald.endpoint.disabled": {
    description:
      "Herald disabled the endpoint: it answered 410 Gone (reason gone) or failed without a break for too long (reason failing). Enable it to deliver again.",
    schema: objectSchema(
      "herald.endpoint.disabled",
      { ...ENDPOINT, reason: { enum: ["gone", "failing"] }, failing_since: TIME },
      ["failing_since"],
    ),
    example: { ...EXAMPLE_ENDPOINT, reason: "gone" },
  },
  "herald.endpoint.failing": {
    description:
      "The endpoint failed after succeeding before (phase started), or is still failing (phase sustained, repeated periodically while it lasts).",
    schema: objectSchema("herald.endpoint.failing", {
      ...ENDPOINT,
      phase: { enum: ["started", "sustained"] },
      failing_since: TIME,
      last_status: COUNT,
      last_error: STRING,
    }),
    example: {
      ...EXAMPLE_ENDPOINT,
      phase: "started",
      failing_since: EXAMPLE_BASE.time,
      last_status: 503,
      last_error: "http_status",
    },
  },
  "herald.secret.rotation_ended": {
    description:
      "The overlap of a secret rotation ended: the previous secret no longer signs, only the new one does.",
    schema: objectSchema("herald.secret.rotation_ended", { ...ENDPOINT, secret_id: STRING }),
    example: { ...EXAMPLE_ENDPOINT, secret_id: "sec_1" },
  },
  "herald.tenant.rate_limited": {
    description:
      "Ingest refused some of the tenant's events for going over its rate limit. At most once per minute.",
    schema: objectSchema("herald.tenant.rate_limited", { limit_per_second: COUNT }),
    example: { ...EXAMPLE_BASE, limit_per_second: 1000 },
  },
};

/** The operational event types, in name order. */
export const OPERATIONAL_EVENT_TYPE_NAMES = Object.keys(
  OPERATIONAL_EVENT_TYPES,
).sort() as OperationalEventType[];

/** Whether `name` is one of the operational event types Herald defines. */
export function isKnownOperationalType(name: string): name is OperationalEventType {
  return Object.hasOwn(OPERATIONAL_EVENT_TYPES, name);
}

/** An endpoint URL as operational payloads carry it: without its query string or credentials. */
export function redactedEndpointUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "";
  }
}
