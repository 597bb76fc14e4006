import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  type Attempt,
  AttemptSchema,
  AttemptTrigger,
  type Delivery,
  DeliverySchema,
  DeliveryState,
  type EventSummary,
  EventSummarySchema,
  type SkippedEndpoint,
  SkippedEndpointSchema,
  type SkipReason,
} from "@herald/contracts";
import { Collections, type EventDocument } from "@herald/platform/model";
import type { Collection, Db } from "mongodb";
import {
  type AttemptNumberWait,
  type AttemptOutcome,
  type DeliveryStatus,
  deliveryWait,
  nextDeliveryState,
} from "./delivery-state.js";

// Shapes of the collections audit reads and writes. Field names are snake_case as stored; enums are
// stored as their numbers. An unset time is an absent field, never null: one shape on every server
// keeps queries honest, and not every server keeps a null written by $setOnInsert (see docs/storage.md).

/** One delivery attempt, written once: `_id` is the attempt id, so a redelivered record is a no-op. */
export interface AttemptDocument {
  _id: string;
  tenant_id: string;
  event_id: string;
  endpoint_id: string;
  attempt_number: number;
  /** herald.v1.AttemptTrigger */
  trigger: number;
  success: boolean;
  response_status: number;
  response_body: string;
  latency_ms: number;
  /** herald.v1.ErrorClass */
  error_class: number;
  error_message: string;
  attempt_time: Date;
  /** Absent when no retry is due. */
  next_attempt_time?: Date;
  url: string;
  /** How long the attempt waited at its endpoint's limit or for its tenant's turn; absent when it did not. */
  waited_ms?: number;
  /** herald.v1.AttemptWait; with `waited_ms`. */
  waited_for?: number;
  /**
   * The write that counts the attempt in its endpoint's health rollups (absent for test deliveries,
   * which never count): counted once that write's marker exists (see `AttemptLogWriter.insertAttempts`).
   */
  rollup_batch?: string;
}

/**
 * The status of one event at one endpoint; `_id` is {@link deliveryId}. A delivery whose only attempts
 * were accepted first attempts has none: its status is theirs ({@link statusOfSucceededAttempts}).
 */
export interface DeliveryDocument {
  _id: string;
  tenant_id: string;
  event_id: string;
  endpoint_id: string;
  /** herald.v1.DeliveryState */
  state: number;
  attempt_count: number;
  /** With `last_attempt_time`, the key that orders attempts (see nextDeliveryState). */
  last_attempt_number: number;
  /** Absent until an attempt is recorded. */
  last_attempt_time?: Date;
  /** Absent when nothing is due. */
  next_attempt_time?: Date;
  last_response_status: number;
  /**
   * The attempts that waited before they were sent, one entry per attempt number (see
   * nextDeliveryState); absent while none did. GetEvent answers their total and the longest's reason.
   */
  waits?: DeliveryWaitDocument[];
  update_time: Date;
  /** Incremented by every update: read-modify-write updates filter on it (optimistic concurrency). */
  version: number;
}

/** One entry of {@link DeliveryDocument.waits}; `waited_for` is a herald.v1.AttemptWait value. */
export interface DeliveryWaitDocument {
  attempt_number: number;
  waited_ms: number;
  waited_for: number;
}

/** Where routing sent an event; `endpoint_ids` is empty when it matched no endpoint. */
export interface EventRouteDocument {
  _id: string;
  tenant_id: string;
  endpoint_ids: string[];
  /** The first time the event was routed. */
  route_time: Date;
  /** The endpoints that did not take the event, and why, as first routed; absent in older routes. */
  skipped?: SkippedEndpointDocument[];
  /** How many more endpoints skipped the event than `skipped` lists. */
  skipped_omitted?: number;
}

/** One entry of {@link EventRouteDocument.skipped}; `reason` is a herald.v1.SkipReason value. */
export interface SkippedEndpointDocument {
  endpoint_id: string;
  reason: number;
  filter?: string;
  detail?: string;
}

/** The skipped endpoints of a route as GetEvent answers them. */
export function skippedEndpointsOf(route: EventRouteDocument | null): SkippedEndpoint[] {
  return (route?.skipped ?? []).map((s) =>
    create(SkippedEndpointSchema, {
      endpointId: s.endpoint_id,
      reason: s.reason as SkipReason,
      filter: s.filter ?? "",
      detail: s.detail ?? "",
    }),
  );
}

/** An event as ingest stores it. Audit only reads it. */

export function attemptsCollection(db: Db): Collection<AttemptDocument> {
  return db.collection<AttemptDocument>(Collections.attempts);
}

export function deliveriesCollection(db: Db): Collection<DeliveryDocument> {
  return db.collection<DeliveryDocument>(Collections.deliveries);
}

export function eventRoutesCollection(db: Db): Collection<EventRouteDocument> {
  return db.collection<EventRouteDocument>(Collections.eventRoutes);
}

/** Names one delivery. */
export interface DeliveryRef {
  tenantId: string;
  eventId: string;
  endpointId: string;
}

/** `_id` of the delivery of an event to an endpoint. */
export function deliveryId(eventId: string, endpointId: string): string {
  return `${eventId}:${endpointId}`;
}

export function attemptToDocument(attempt: Attempt): AttemptDocument {
  return {
    _id: attempt.id,
    tenant_id: attempt.tenantId,
    event_id: attempt.eventId,
    endpoint_id: attempt.endpointId,
    attempt_number: attempt.attemptNumber,
    trigger: attempt.trigger,
    success: attempt.success,
    response_status: attempt.responseStatus,
    response_body: attempt.responseBody,
    latency_ms: attempt.latencyMs,
    error_class: attempt.errorClass,
    error_message: attempt.errorMessage,
    attempt_time: attempt.attemptTime ? timestampDate(attempt.attemptTime) : new Date(0),
    ...(attempt.nextAttemptTime ? { next_attempt_time: timestampDate(attempt.nextAttemptTime) } : {}),
    url: attempt.url,
    ...(attempt.waitedMs > 0 ? { waited_ms: attempt.waitedMs, waited_for: attempt.waitedFor } : {}),
  };
}

export function attemptFromDocument(doc: AttemptDocument): Attempt {
  return create(AttemptSchema, {
    id: doc._id,
    tenantId: doc.tenant_id,
    eventId: doc.event_id,
    endpointId: doc.endpoint_id,
    attemptNumber: doc.attempt_number,
    trigger: doc.trigger,
    success: doc.success,
    responseStatus: doc.response_status,
    responseBody: doc.response_body,
    latencyMs: doc.latency_ms,
    errorClass: doc.error_class,
    errorMessage: doc.error_message,
    attemptTime: timestampFromDate(doc.attempt_time),
    nextAttemptTime: doc.next_attempt_time ? timestampFromDate(doc.next_attempt_time) : undefined,
    url: doc.url,
    waitedMs: doc.waited_ms ?? 0,
    waitedFor: doc.waited_for ?? 0,
  });
}

export function deliveryFromDocument(doc: DeliveryDocument): Delivery {
  return create(DeliverySchema, {
    tenantId: doc.tenant_id,
    eventId: doc.event_id,
    endpointId: doc.endpoint_id,
    state: doc.state,
    attemptCount: doc.attempt_count,
    lastAttemptTime: doc.last_attempt_time ? timestampFromDate(doc.last_attempt_time) : undefined,
    nextAttemptTime: doc.next_attempt_time ? timestampFromDate(doc.next_attempt_time) : undefined,
    lastResponseStatus: doc.last_response_status,
    updateTime: timestampFromDate(doc.update_time),
    ...deliveryWait(waitsOf(doc)),
  });
}

/**
 * The fields of an attempt that a delivery without a document takes its status from: reads of
 * accepted attempts project these, never the response body.
 */
const SUCCEEDED_ATTEMPT_FIELDS = {
  _id: 1,
  tenant_id: 1,
  event_id: 1,
  endpoint_id: 1,
  attempt_number: 1,
  trigger: 1,
  response_status: 1,
  attempt_time: 1,
  waited_ms: 1,
  waited_for: 1,
} as const;

/**
 * The accepted attempts of some of a tenant's events, without response bodies: the reads of deliveries
 * without a document, by the `tenant_id, event_id` index.
 */
export function findSucceededAttempts(
  attempts: Collection<AttemptDocument>,
  tenantId: string,
  eventIds: readonly string[],
): Promise<AttemptDocument[]> {
  return attempts
    .find(
      { tenant_id: tenantId, event_id: { $in: [...eventIds] }, success: true },
      { projection: SUCCEEDED_ATTEMPT_FIELDS },
    )
    .toArray();
}

/** An accepted attempt as the outcome it recorded. */
export function succeededOutcome(doc: AttemptDocument): AttemptOutcome {
  return {
    attemptNumber: doc.attempt_number,
    attemptTime: doc.attempt_time,
    trigger: doc.trigger,
    state: DeliveryState.SUCCEEDED,
    responseStatus: doc.response_status,
    nextAttemptTime: null,
    ...(doc.waited_ms ? { waitedMs: doc.waited_ms, waitedFor: doc.waited_for ?? 0 } : {}),
    success: true,
  };
}

/**
 * The status of a delivery that has no document, from its accepted attempts (those of one delivery):
 * undefined when there are none. Audit writes no document for a delivery whose records were all
 * accepted first attempts (see `needsDocument`), and folds these into the document it writes later.
 * Test deliveries are not deliveries of the event, so they never count.
 */
export function statusOfSucceededAttempts(docs: readonly AttemptDocument[]): DeliveryStatus | undefined {
  return docs
    .filter((doc) => doc.trigger !== AttemptTrigger.TEST)
    .map(succeededOutcome)
    .reduce<DeliveryStatus | undefined>(nextDeliveryState, undefined);
}

/** A delivery's document holding `status`. */
export function deliveryDocument(
  ref: DeliveryRef,
  status: DeliveryStatus,
  updateTime: Date,
): DeliveryDocument {
  return {
    _id: deliveryId(ref.eventId, ref.endpointId),
    tenant_id: ref.tenantId,
    event_id: ref.eventId,
    endpoint_id: ref.endpointId,
    ...statusFields(status),
    update_time: updateTime,
    version: 0,
  };
}

/**
 * The document of a delivery that has none, from its accepted attempts (see
 * {@link statusOfSucceededAttempts}); its update time is its last attempt's. Undefined without any.
 */
export function implicitDelivery(docs: readonly AttemptDocument[]): DeliveryDocument | undefined {
  const first = docs[0];
  const status = statusOfSucceededAttempts(docs);
  if (!first || !status) return undefined;
  const ref = { tenantId: first.tenant_id, eventId: first.event_id, endpointId: first.endpoint_id };
  return deliveryDocument(ref, status, status.lastAttemptTime ?? first.attempt_time);
}

/** Attempts grouped by their delivery's `_id`. */
export function attemptsByDelivery(docs: readonly AttemptDocument[]): Map<string, AttemptDocument[]> {
  const byDelivery = new Map<string, AttemptDocument[]>();
  for (const doc of docs) {
    const id = deliveryId(doc.event_id, doc.endpoint_id);
    const list = byDelivery.get(id);
    if (list) list.push(doc);
    else byDelivery.set(id, [doc]);
  }
  return byDelivery;
}

/**
 * An event's deliveries, by endpoint id: those with a document; those without one whose accepted
 * attempts (`succeeded`, any of the event's) give their status; and a PENDING one for each endpoint the
 * event was routed to that has had no attempt yet (a delivery's document is written with its first
 * attempt, and only when that attempt was not accepted).
 */
export function eventDeliveries(
  route: EventRouteDocument | null,
  docs: DeliveryDocument[],
  succeeded: readonly AttemptDocument[] = [],
): Delivery[] {
  const byEndpoint = new Map(docs.map((doc) => [doc.endpoint_id, deliveryFromDocument(doc)]));
  for (const attempts of attemptsByDelivery(succeeded).values()) {
    const doc = implicitDelivery(attempts);
    if (doc && !byEndpoint.has(doc.endpoint_id)) byEndpoint.set(doc.endpoint_id, deliveryFromDocument(doc));
  }
  if (route) {
    for (const endpointId of route.endpoint_ids) {
      if (byEndpoint.has(endpointId)) continue;
      byEndpoint.set(
        endpointId,
        create(DeliverySchema, {
          tenantId: route.tenant_id,
          eventId: route._id,
          endpointId,
          state: DeliveryState.PENDING,
          updateTime: timestampFromDate(route.route_time),
        }),
      );
    }
  }
  // Code unit order, as MongoDB sorts strings.
  return [...byEndpoint.values()].sort((a, b) =>
    a.endpointId < b.endpointId ? -1 : a.endpointId > b.endpointId ? 1 : 0,
  );
}

export function statusOfDelivery(doc: DeliveryDocument): DeliveryStatus {
  return {
    state: doc.state as DeliveryState,
    attemptCount: doc.attempt_count,
    lastAttemptNumber: doc.last_attempt_number,
    lastAttemptTime: doc.last_attempt_time ?? null,
    nextAttemptTime: doc.next_attempt_time ?? null,
    lastResponseStatus: doc.last_response_status,
    waits: waitsOf(doc),
  };
}

function waitsOf(doc: DeliveryDocument): AttemptNumberWait[] {
  return (doc.waits ?? []).map((w) => ({
    attemptNumber: w.attempt_number,
    waitedMs: w.waited_ms,
    waitedFor: w.waited_for,
  }));
}

type StatusFields = Pick<
  DeliveryDocument,
  | "state"
  | "attempt_count"
  | "last_attempt_number"
  | "last_attempt_time"
  | "next_attempt_time"
  | "last_response_status"
  | "waits"
>;

/**
 * The fields of a delivery document that hold its {@link DeliveryStatus}; unset times are left out, and
 * so are waits while there are none (a delivery's waits only ever grow, so none is never written over some).
 */
export function statusFields(status: DeliveryStatus): StatusFields {
  return {
    state: status.state,
    attempt_count: status.attemptCount,
    last_attempt_number: status.lastAttemptNumber,
    ...(status.lastAttemptTime ? { last_attempt_time: status.lastAttemptTime } : {}),
    ...(status.nextAttemptTime ? { next_attempt_time: status.nextAttemptTime } : {}),
    last_response_status: status.lastResponseStatus,
    ...(status.waits.length > 0
      ? {
          waits: status.waits.map((w) => ({
            attempt_number: w.attemptNumber,
            waited_ms: w.waitedMs,
            waited_for: w.waitedFor,
          })),
        }
      : {}),
  };
}

/** The $unset that removes the times {@link statusFields} leaves out, or nothing. */
export function unsetStatusFields(status: DeliveryStatus): { $unset?: Record<string, ""> } {
  const unset: Record<string, ""> = {};
  if (!status.lastAttemptTime) unset.last_attempt_time = "";
  if (!status.nextAttemptTime) unset.next_attempt_time = "";
  return Object.keys(unset).length > 0 ? { $unset: unset } : {};
}

export function eventSummaryFromDocument(
  doc: EventDocument,
  route?: EventRouteDocument | null,
): EventSummary {
  return create(EventSummarySchema, {
    id: doc._id,
    tenantId: doc.tenant_id,
    eventType: doc.event_type,
    channels: doc.channels ?? [],
    idempotencyKey: doc.idempotency_key ?? "",
    createTime: timestampFromDate(doc.create_time),
    routed: Boolean(route),
    endpointIds: route?.endpoint_ids ?? [],
  });
}

/** The payload bytes of a stored event. */
export function payloadOf(doc: EventDocument): Uint8Array {
  const binary = doc.payload;
  return new Uint8Array(binary.buffer.subarray(0, binary.position));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A payload as a JSON value (GetEventResponse.payload_value), so Connect JSON readers see the object
 * they may publish; undefined when the bytes are not UTF-8 JSON, which only binary readers then see.
 */
export function payloadValueOf(payload: Uint8Array): Value | undefined {
  let json: JsonValue;
  try {
    json = JSON.parse(utf8.decode(payload)) as JsonValue;
  } catch {
    return undefined;
  }
  return fromJson(ValueSchema, json);
}
