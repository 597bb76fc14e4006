import type { Binary, Collection, Db } from "mongodb";
import type { IndexPlan } from "../mongo.js";

// Shapes of the control-plane collections. Routing owns and writes them; ingest, delivery and audit
// read them. Field names are snake_case as stored.

export interface TenantSettingsDocument {
  /** Events per second; 0 = platform default. */
  rate_limit_per_second: number;
  /** 0 = platform default. */
  max_payload_bytes: number;
  /** Delays before attempts 2..N in ms; empty = platform default. */
  retry_schedule_ms: number[];
  /** Days events, deliveries and attempts are kept; 0 or absent (tenants created before it) = default. */
  retention_days?: number;
  /** Refuse events whose type is not in the catalog (or archived); absent = false. */
  refuse_unknown_event_types?: boolean;
  /** Check every payload against its type's schema; absent = false (each type decides). */
  validate_payloads?: boolean;
  /** The tenant portal's embedding and look; absent (tenants created before it) = none. */
  portal?: PortalSettingsDocument;
  /** Turns per round when tenants contend (ingest's writer, delivery's slots), 1-100; absent = 1. */
  delivery_weight?: number;
}

export interface PortalSettingsDocument {
  /** Origins allowed to frame the portal (CSP frame-ancestors). */
  frame_ancestors: string[];
  /** "#rrggbb" or empty. */
  brand_color: string;
  /** https URL or empty. */
  logo_url: string;
}

export interface TenantDocument {
  _id: string;
  name: string;
  metadata: Record<string, string>;
  disabled: boolean;
  settings: TenantSettingsDocument;
  create_time: Date;
  update_time: Date;
  /**
   * Set by DeleteTenant: the tenant is gone for every API and its data is being purged. The document
   * stays until the purge has finished, so its id cannot be taken again meanwhile.
   */
  delete_time?: Date;
  /** The endpoints DeleteTenant removed, whose rate-limit state the purge removes too. */
  deleted_endpoint_ids?: string[];
  /**
   * Set when the purge has removed the deleted tenant's data. The document stays as a tombstone, so that
   * late work of the deleted tenant (an audit record still queued) is still told from a new tenant's;
   * CreateTenant replaces it.
   */
  purge_time?: Date;
}

/**
 * Tenant `id`, enabled, with the platform's settings (every limit 0, which means its default), created
 * and updated at `time`; `fields` set or override any field. The documents Herald makes up for itself
 * (the warm-ups) and tests start from it, so a field added here reaches them all.
 */
export function defaultTenantDocument(
  id: string,
  time: Date,
  fields: Partial<TenantDocument> = {},
): TenantDocument {
  return {
    _id: id,
    name: id,
    metadata: {},
    disabled: false,
    settings: { rate_limit_per_second: 0, max_payload_bytes: 0, retry_schedule_ms: [] },
    create_time: time,
    update_time: time,
    ...fields,
  };
}

/** A tenant that is not being deleted: any other is treated as absent everywhere. */
export function isLiveTenant(tenant: TenantDocument | null | undefined): tenant is TenantDocument {
  return tenant != null && tenant.delete_time === undefined;
}

/**
 * How much earlier than its tenant an event may look, for clocks that differ between hosts. A deleted
 * tenant's id is re-created only after a purge that outlasts any such skew.
 */
const TENANT_CLOCK_SKEW_MS = 2_000;

/**
 * Whether work on an event created at `eventTime` belongs to `tenant` as it is now: the tenant is live
 * and was created before the event. Work of a deleted tenant's events (a retry parked in a tier, an
 * event still queued) must not come back under a tenant re-created with the same id.
 */
export function tenantOwnsEvent(
  tenant: TenantDocument | null | undefined,
  eventTime: Date,
): tenant is TenantDocument {
  return isLiveTenant(tenant) && eventTime.getTime() + TENANT_CLOCK_SKEW_MS >= tenant.create_time.getTime();
}

export interface EndpointSecretDocument {
  id: string;
  /** The `whsec_…` secret (v1) or `whsk_…` ed25519 private key (v1a) sealed by SecretBox; never in clear. */
  sealed: string;
  create_time: Date;
  /** Unset while current; set by rotation to the end of the overlap window. */
  expire_time?: Date;
  /** Set for v1a key pairs; unset means v1 (HMAC), as every secret written before v1a. */
  scheme?: "v1a";
  /** The v1a key pair's `whpk_…` public key, in clear: it is public, and reads show it without opening. */
  public_key?: string;
}

export interface EndpointDocument {
  _id: string;
  tenant_id: string;
  url: string;
  description: string;
  /** Empty = every event type. Entries may end in ".*" (prefix match). */
  event_types: string[];
  /** Empty = every event; else the event must carry at least one of these. */
  channels: string[];
  /**
   * Custom headers in clear: only in endpoints written before headers were sealed (new writes leave it
   * empty, and the re-seal job moves old ones into `sealed_headers`). Read both with `endpointHeaders`.
   */
  headers: Record<string, string>;
  /** The custom headers as a JSON object sealed by SecretBox: their values are credentials in practice. */
  sealed_headers?: string;
  /** The names in `sealed_headers`, so reads list them without opening anything. */
  header_names?: string[];
  rate_limit_per_second: number;
  max_concurrency: number;
  disabled: boolean;
  /** herald.v1.DisabledReason value; 0 while enabled. */
  disabled_reason: number;
  /** Empty = inherit the tenant's, then the platform's. */
  retry_schedule_ms: number[];
  /** Newest first. */
  secrets: EndpointSecretDocument[];
  /** "envelope": deliveries carry the Standard Webhooks envelope; unset: the payload as published. */
  payload_format?: "envelope";
  /** A CEL expression the event must satisfy (routing evaluates it); unset: every event. */
  filter?: string;
  /** When the current run of failures started; unset after a success. */
  failing_since?: Date;
  /** Set on a `herald listen` session's endpoint (transport LISTEN); unset: an HTTP endpoint. */
  listen?: ListenSessionDocument;
  /**
   * A listen endpoint's last time with a stream open (or its creation): idle past the session expiry, it
   * is deleted. Top-level, as the sweep reads it through an index.
   */
  listen_seen_time?: Date;
  create_time: Date;
  update_time: Date;
}

/**
 * Endpoint `_id` of `tenant_id` at `url`: enabled, taking every event, every setting at its default
 * (0 and empty mean the tenant's or the platform's), no secrets, created and updated at `time`; `fields`
 * set or override any field. Like {@link defaultTenantDocument}, for the documents Herald makes up and
 * for tests.
 */
export function defaultEndpointDocument(
  endpoint: Pick<EndpointDocument, "_id" | "tenant_id" | "url">,
  time: Date,
  fields: Partial<EndpointDocument> = {},
): EndpointDocument {
  return {
    ...endpoint,
    description: "",
    event_types: [],
    channels: [],
    headers: {},
    rate_limit_per_second: 0,
    max_concurrency: 0,
    disabled: false,
    disabled_reason: 0,
    retry_schedule_ms: [],
    secrets: [],
    create_time: time,
    update_time: time,
    ...fields,
  };
}

/** What makes an endpoint a `herald listen` session: see listen-endpoints.ts. */
export interface ListenSessionDocument {
  /** The API key that created it: only that key (or an admin key) may listen on it. */
  key_id: string;
}

/** One type of a tenant's event type catalog: `_id` is `<tenant>:<name>`, so a tenant's are an `_id` range. */
export interface EventTypeDocument {
  _id: string;
  tenant_id: string;
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) as JSON text, stored as text: its keys ("$ref", "$defs") cannot be field names. */
  schema: string;
  /** Example payloads as JSON text, each passing `schema`. */
  examples: string[];
  deprecated: boolean;
  archived: boolean;
  /** Ingest checks payloads of this type against `schema`. */
  validate_payloads: boolean;
  /** Grows with every schema change: compiled schemas are cached per version. */
  schema_version: number;
  create_time: Date;
  update_time: Date;
}

/** The `_id` of a tenant's event type. Tenant ids hold no ":", so a tenant's types sort together. */
export function eventTypeId(tenantId: string, name: string): string {
  return `${tenantId}:${name}`;
}

/** An event as stored in `events`: written by ingest, read by audit. */
export interface EventDocument {
  _id: string;
  tenant_id: string;
  event_type: string;
  /** Exactly the bytes published. */
  payload: Binary;
  channels: string[];
  /** Only when the caller gave one. */
  idempotency_key?: string;
  /** The caller's idempotency key, or the event id when none was given: unique per tenant. */
  dedupe_key: string;
  create_time: Date;
  /**
   * Set once RabbitMQ confirmed an event with an idempotency key; a retried publish sends an event still
   * false. Events without a key stay false: no retry can find them, so nothing reads it.
   */
  published: boolean;
}

export const Collections = {
  tenants: "tenants",
  endpoints: "endpoints",
  eventTypes: "event_types",
  apiKeys: "api_keys",
  /** One-time portal links, until exchanged or expired (see apps/routing/src/control/portal-rpc.ts). */
  portalLinks: "portal_links",
  events: "events",
  /** Ingest's markers of events stored but not yet confirmed by RabbitMQ (see apps/ingest). */
  unpublishedEvents: "unpublished_events",
  deliveries: "deliveries",
  eventRoutes: "event_routes",
  attempts: "attempts",
  /** Audit's rollups of attempts per endpoint and time bucket (GetEndpointHealth). */
  endpointHealth: "endpoint_health",
  rateLimits: "rate_limits",
  tenantRateBudget: "tenant_rate_budget",
  concurrencySlots: "concurrency_slots",
} as const;

export function tenantsCollection(db: Db): Collection<TenantDocument> {
  return db.collection<TenantDocument>(Collections.tenants);
}

export function endpointsCollection(db: Db): Collection<EndpointDocument> {
  return db.collection<EndpointDocument>(Collections.endpoints);
}

export function eventsCollection(db: Db): Collection<EventDocument> {
  return db.collection<EventDocument>(Collections.events);
}

export function eventTypesCollection(db: Db): Collection<EventTypeDocument> {
  return db.collection<EventTypeDocument>(Collections.eventTypes);
}

/**
 * Indexes of `events`: ingest creates them, and audit's reads (ListEvents, the purges) use them, so
 * they are declared beside the document.
 */
export const eventIndexes: IndexPlan = {
  [Collections.events]: [
    { key: { tenant_id: 1, dedupe_key: 1 }, name: "tenant_dedupe_key", unique: true },
    // ListEvents, newest first, and its page cursor; the tenant purge and a tenant's retention purge.
    { key: { tenant_id: 1, create_time: -1, _id: -1 }, name: "tenant_time" },
    // ListEvents of one event type.
    { key: { tenant_id: 1, event_type: 1, create_time: -1, _id: -1 }, name: "tenant_type_time" },
    // The retention purge.
    { key: { create_time: 1 }, name: "create_time" },
  ],
  [Collections.unpublishedEvents]: [{ key: { create_time: 1 }, name: "create_time" }],
};
