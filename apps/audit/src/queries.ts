import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import {
  DeliveryState,
  type ListAttemptsRequest,
  type ListEventsRequest,
  type RecoverRequest,
  type RedriveRequest,
} from "@herald/contracts";
import { InvalidArgumentError } from "@herald/platform";
import type { EventDocument } from "@herald/platform/model";
import type { Filter, Sort } from "mongodb";
import type { AttemptDocument, DeliveryDocument } from "./documents.js";
import { decodePageToken, encodePageToken, type PageCursor, queryFingerprint } from "./page-token.js";

// Requests to MongoDB queries. Pure: every function here maps plain values to plain values, and
// rejects bad input with an InvalidArgumentError naming the proto field.

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
/** Most deliveries Recover and Redrive publish again in one call, by default. */
export const REPLAY_LIMIT = 1_000;

const MAX_ID_LENGTH = 256;

/** A required identifier: non-empty and of sane length. */
export function requireId(field: string, value: string): string {
  if (value === "") throw new InvalidArgumentError(field, "required");
  if (value.length > MAX_ID_LENGTH) throw new InvalidArgumentError(field, `longer than ${MAX_ID_LENGTH}`);
  return value;
}

/** An optional identifier: "" means no filter. */
function optionalId(field: string, value: string): string | undefined {
  return value === "" ? undefined : requireId(field, value);
}

/** 0 means the default; larger than the maximum is lowered to it. */
export function pageSizeOf(requested: number): number {
  if (requested === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}

/** A `[start, end)` condition on a date field; fails when end is not after start. */
export function timeRange(
  start: { field: string; value: Timestamp | undefined },
  end: { field: string; value: Timestamp | undefined },
): { $gte?: Date; $lt?: Date } | undefined {
  const from = start.value ? timestampDate(start.value) : undefined;
  const to = end.value ? timestampDate(end.value) : undefined;
  if (from && to && to.getTime() <= from.getTime()) {
    throw new InvalidArgumentError(end.field, `must be after ${start.field}`);
  }
  if (!from && !to) return undefined;
  return { ...(from ? { $gte: from } : {}), ...(to ? { $lt: to } : {}) };
}

/** A page of a list ordered by (time, _id), newest first. */
export interface PageQuery<T> {
  filter: Filter<T>;
  sort: Sort;
  pageSize: number;
  /** Identifies the filters, so a page token is only good for the query that made it. */
  fingerprint: string;
}

/** Items of a page, and the token of the next one: empty when this is the last page. */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/**
 * Condition for items strictly after `cursor` in (time desc, _id desc) order: a range on time, which
 * the (…, time: -1, _id: -1) index serves as a bound, and the exact condition beside it.
 */
function afterCursor(timeField: string, cursor: PageCursor): Record<string, unknown>[] {
  return [
    { [timeField]: { $lte: cursor.time } },
    { $or: [{ [timeField]: { $lt: cursor.time } }, { [timeField]: cursor.time, _id: { $lt: cursor.id } }] },
  ];
}

function withCursor<T>(
  base: Record<string, unknown>,
  timeField: string,
  token: string,
  fingerprint: string,
): Filter<T> {
  if (token === "") return base as Filter<T>;
  const cursor = decodePageToken(token, fingerprint);
  return { $and: [base, ...afterCursor(timeField, cursor)] } as Filter<T>;
}

/**
 * Cuts the `pageSize + 1` items a query fetched to a page. The extra item only tells whether a next
 * page exists; the token points after the last item kept.
 */
export function toPage<T>(
  fetched: T[],
  query: Pick<PageQuery<unknown>, "pageSize" | "fingerprint">,
  cursorOf: (item: T) => PageCursor,
): Page<T> {
  if (fetched.length <= query.pageSize) return { items: fetched, nextPageToken: "" };
  const items = fetched.slice(0, query.pageSize);
  const last = items[items.length - 1] as T;
  return { items, nextPageToken: encodePageToken(cursorOf(last), query.fingerprint) };
}

export function listAttemptsQuery(req: ListAttemptsRequest): PageQuery<AttemptDocument> {
  const tenantId = requireId("tenant_id", req.tenantId);
  const eventId = optionalId("event_id", req.eventId);
  const endpointId = optionalId("endpoint_id", req.endpointId);
  const range = timeRange(
    { field: "start_time", value: req.startTime },
    { field: "end_time", value: req.endTime },
  );
  const base: Record<string, unknown> = {
    tenant_id: tenantId,
    ...(eventId !== undefined ? { event_id: eventId } : {}),
    ...(endpointId !== undefined ? { endpoint_id: endpointId } : {}),
    ...(req.success !== undefined ? { success: req.success } : {}),
    ...(range ? { attempt_time: range } : {}),
  };
  const fingerprint = queryFingerprint([
    "attempts",
    tenantId,
    eventId,
    endpointId,
    req.success,
    range?.$gte?.getTime(),
    range?.$lt?.getTime(),
  ]);
  return {
    filter: withCursor(base, "attempt_time", req.pageToken, fingerprint),
    sort: { attempt_time: -1, _id: -1 },
    pageSize: pageSizeOf(req.pageSize),
    fingerprint,
  };
}

export function listEventsQuery(req: ListEventsRequest): PageQuery<EventDocument> {
  const tenantId = requireId("tenant_id", req.tenantId);
  const eventType = req.eventType === "" ? undefined : req.eventType;
  const range = timeRange(
    { field: "start_time", value: req.startTime },
    { field: "end_time", value: req.endTime },
  );
  const base: Record<string, unknown> = {
    tenant_id: tenantId,
    ...(eventType !== undefined ? { event_type: eventType } : {}),
    ...(range ? { create_time: range } : {}),
  };
  const fingerprint = queryFingerprint([
    "events",
    tenantId,
    eventType,
    range?.$gte?.getTime(),
    range?.$lt?.getTime(),
  ]);
  return {
    filter: withCursor(base, "create_time", req.pageToken, fingerprint),
    sort: { create_time: -1, _id: -1 },
    pageSize: pageSizeOf(req.pageSize),
    fingerprint,
  };
}

/** Deliveries to publish again, oldest attempt first, at most `limit` per call. */
export interface ReplayQuery {
  tenantId: string;
  /** Set when the replay is of one endpoint. */
  endpointId?: string;
  filter: Filter<DeliveryDocument>;
  sort: Sort;
  limit: number;
}

/** Recover: FAILED or DEAD deliveries of an endpoint whose last attempt is in [since, until]. */
export function recoverQuery(req: RecoverRequest, now: Date, limit = REPLAY_LIMIT): ReplayQuery {
  const tenantId = requireId("tenant_id", req.tenantId);
  const endpointId = requireId("endpoint_id", req.endpointId);
  if (!req.since) throw new InvalidArgumentError("since", "required");
  const since = timestampDate(req.since);
  const until = req.until ? timestampDate(req.until) : now;
  if (until.getTime() <= since.getTime()) {
    if (req.until) throw new InvalidArgumentError("until", "must be after since");
    throw new InvalidArgumentError("since", "must be in the past when until is unset");
  }
  return {
    tenantId,
    endpointId,
    filter: {
      tenant_id: tenantId,
      endpoint_id: endpointId,
      state: { $in: [DeliveryState.FAILED, DeliveryState.DEAD] },
      last_attempt_time: { $gte: since, $lte: until },
    },
    sort: { last_attempt_time: 1, _id: 1 },
    limit,
  };
}

/** Redrive: DEAD deliveries of a tenant, or of one of its endpoints. */
export function redriveQuery(req: RedriveRequest, limit = REPLAY_LIMIT): ReplayQuery {
  const tenantId = requireId("tenant_id", req.tenantId);
  const endpointId = optionalId("endpoint_id", req.endpointId);
  return {
    tenantId,
    endpointId,
    filter: {
      tenant_id: tenantId,
      ...(endpointId !== undefined ? { endpoint_id: endpointId } : {}),
      state: DeliveryState.DEAD,
    },
    sort: { last_attempt_time: 1, _id: 1 },
    limit,
  };
}
