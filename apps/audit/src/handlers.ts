import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type AuditService,
  GetEndpointHealthResponseSchema,
  GetEventResponseSchema,
  ListAttemptsResponseSchema,
  ListEndpointHealthResponseSchema,
  ListEventsResponseSchema,
  RecoverResponseSchema,
  RedeliverResponseSchema,
  RedriveResponseSchema,
  Scope,
} from "@herald/contracts";
import { NotFoundError, PermissionDeniedError } from "@herald/platform";
import {
  authorizeEndpoint,
  authorizeTenant,
  authorizeWrite,
  type Principal,
  principalOf,
  visibleEndpoints,
} from "@herald/platform/model";
import { trace } from "@opentelemetry/api";
import type { AttemptLogReader } from "./attempt-log-reader.js";
import {
  attemptFromDocument,
  eventDeliveries,
  eventSummaryFromDocument,
  payloadOf,
  payloadValueOf,
  skippedEndpointsOf,
} from "./documents.js";
import type { EndpointHealthStore } from "./endpoint-health-store.js";
import { decodePageToken, encodePageToken, queryFingerprint } from "./page-token.js";
import {
  listAttemptsQuery,
  listEventsQuery,
  REPLAY_LIMIT,
  type ReplayQuery,
  recoverQuery,
  redriveQuery,
  requireId,
  toPage,
} from "./queries.js";
import type { Replayer } from "./replay.js";

/** What the AuditService handlers need. */
export interface AuditHandlerDeps {
  reader: AttemptLogReader;
  replayer: Replayer;
  health: EndpointHealthStore;
  /** Clock for due times and update times; default the system clock. */
  now?: () => Date;
  /** Most deliveries one Recover or Redrive call publishes; default {@link REPLAY_LIMIT}. */
  replayLimit?: number;
}

/**
 * The AuditService. Every call is scoped to `tenant_id`: the key must be an admin key or hold
 * audit:read on that tenant, and every query filters on the tenant, so ids of another tenant's events
 * or endpoints are NOT_FOUND.
 */
export function createAuditHandlers(deps: AuditHandlerDeps): ServiceImpl<typeof AuditService> {
  const { reader, replayer } = deps;
  const now = deps.now ?? (() => new Date());
  const replayLimit = deps.replayLimit ?? REPLAY_LIMIT;

  const replayAll = async (query: ReplayQuery) => {
    if (query.endpointId !== undefined && !(await reader.hasEndpoint(query.tenantId, query.endpointId))) {
      throw new NotFoundError("endpoint", query.endpointId);
    }
    const found = await reader.findReplayable(query);
    const requeued = await replayer.replayDeliveries(query.tenantId, found.slice(0, query.limit), now());
    return { requeued, truncated: found.length > query.limit };
  };

  return {
    async listAttempts(req, ctx) {
      authorize(ctx, req.tenantId);
      const principal = principalOf(ctx);
      if (req.endpointId !== "") authorizeEndpoint(principal, req.endpointId);
      const query = listAttemptsQuery(req, visibleEndpoints(principal));
      annotate({ tenantId: req.tenantId, eventId: req.eventId, endpointId: req.endpointId });
      const page = toPage(await reader.listAttempts(query), query, (d) => ({
        time: d.attempt_time,
        id: d._id,
      }));
      return create(ListAttemptsResponseSchema, {
        attempts: page.items.map(attemptFromDocument),
        nextPageToken: page.nextPageToken,
      });
    },

    async getEvent(req, ctx) {
      const tenantId = authorize(ctx, req.tenantId);
      const eventId = requireId("event_id", req.eventId);
      annotate({ tenantId, eventId });
      const [event, route, deliveries, succeeded] = await Promise.all([
        reader.findEvent(tenantId, eventId),
        reader.findRoute(tenantId, eventId),
        reader.deliveriesOfEvent(tenantId, eventId),
        reader.succeededAttemptsOfEvent(tenantId, eventId),
      ]);
      if (!event) throw new NotFoundError("event", eventId);
      const principal = principalOf(ctx);
      const payload = payloadOf(event);
      return create(GetEventResponseSchema, {
        event: limitSummary(principal, eventSummaryFromDocument(event, route)),
        payload,
        payloadValue: payloadValueOf(payload),
        deliveries: eventDeliveries(route, deliveries, succeeded).filter((d) =>
          sees(principal, d.endpointId),
        ),
        skippedEndpoints: skippedEndpointsOf(route).filter((s) => sees(principal, s.endpointId)),
        // The count of omitted skips says nothing about which endpoints, so a limited session sees it too.
        skippedEndpointsOmitted: route?.skipped_omitted ?? 0,
      });
    },

    async listEvents(req, ctx) {
      authorize(ctx, req.tenantId);
      const query = listEventsQuery(req);
      annotate({ tenantId: req.tenantId });
      const page = toPage(await reader.listEvents(query), query, (e) => ({ time: e.create_time, id: e._id }));
      // The page's routes in a second query by _id rather than a $lookup (see docs/storage.md).
      const routes = await reader.findRoutes(
        req.tenantId,
        page.items.map((e) => e._id),
      );
      return create(ListEventsResponseSchema, {
        events: page.items.map((e) =>
          limitSummary(principalOf(ctx), eventSummaryFromDocument(e, routes.get(e._id))),
        ),
        nextPageToken: page.nextPageToken,
      });
    },

    async redeliver(req, ctx) {
      const tenantId = authorize(ctx, req.tenantId);
      const eventId = requireId("event_id", req.eventId);
      const endpointId = requireId("endpoint_id", req.endpointId);
      authorizeReplay(ctx, endpointId);
      annotate({ tenantId, eventId, endpointId });
      const [event, hasEndpoint, delivery] = await Promise.all([
        reader.findEvent(tenantId, eventId),
        reader.hasEndpoint(tenantId, endpointId),
        reader.findDelivery({ tenantId, eventId, endpointId }),
      ]);
      if (!event) throw new NotFoundError("event", eventId);
      if (!hasEndpoint) throw new NotFoundError("endpoint", endpointId);
      await replayer.replay(event, endpointId, delivery?.attempt_count ?? 0, now());
      return create(RedeliverResponseSchema);
    },

    async recover(req, ctx) {
      authorize(ctx, req.tenantId);
      const query = recoverQuery(req, now(), replayLimit);
      authorizeReplay(ctx, query.endpointId);
      annotate({ tenantId: query.tenantId, endpointId: query.endpointId });
      return create(RecoverResponseSchema, await replayAll(query));
    },

    async redrive(req, ctx) {
      authorize(ctx, req.tenantId);
      const query = redriveQuery(req, replayLimit);
      authorizeReplay(ctx, query.endpointId);
      annotate({ tenantId: query.tenantId, endpointId: query.endpointId });
      return create(RedriveResponseSchema, await replayAll(query));
    },

    async getEndpointHealth(req, ctx) {
      const tenantId = authorize(ctx, req.tenantId);
      const endpointId = requireId("endpoint_id", req.endpointId);
      authorizeEndpoint(principalOf(ctx), endpointId);
      annotate({ tenantId, endpointId });
      if (!(await reader.hasEndpoint(tenantId, endpointId))) throw new NotFoundError("endpoint", endpointId);
      return create(GetEndpointHealthResponseSchema, {
        health: await deps.health.health(tenantId, endpointId, now()),
      });
    },

    async listEndpointHealth(req, ctx) {
      const tenantId = authorize(ctx, req.tenantId);
      annotate({ tenantId });
      const pageSize = healthPageSize(req.pageSize);
      const fingerprint = queryFingerprint(["endpoint_health", tenantId]);
      const after = req.pageToken === "" ? "" : decodePageToken(req.pageToken, fingerprint).id;
      const ids = await reader.endpointIdsAfter(tenantId, after, pageSize + 1);
      const page = ids.slice(0, pageSize);
      const last = page.at(-1);
      // A session limited to some endpoints sees only theirs; a page may then hold fewer.
      const principal = principalOf(ctx);
      const visible = page.filter((id) => sees(principal, id));
      return create(ListEndpointHealthResponseSchema, {
        endpoints: await deps.health.healthOfEndpoints(tenantId, visible, now()),
        nextPageToken:
          ids.length > pageSize && last ? encodePageToken({ time: new Date(0), id: last }, fingerprint) : "",
      });
    },
  };
}

/** Endpoints per ListEndpointHealth page: each reads 180 rollups, so pages stay small. */
const HEALTH_PAGE_SIZE = { default: 10, max: 20 };

function healthPageSize(requested: number): number {
  return requested === 0 ? HEALTH_PAGE_SIZE.default : Math.min(requested, HEALTH_PAGE_SIZE.max);
}

/** Checks `tenant_id` is given and the caller may read it; returns it. */
function authorize(ctx: HandlerContext, tenantId: string): string {
  requireId("tenant_id", tenantId);
  authorizeTenant(principalOf(ctx), tenantId, Scope.AUDIT_READ);
  return tenantId;
}

/** Whether the principal may see the endpoint (a portal session may be limited to some). */
function sees(principal: Principal, endpointId: string): boolean {
  return principal.endpointIds === undefined || principal.endpointIds.has(endpointId);
}

/** An event summary without the endpoints the principal may not see. */
function limitSummary<E extends { endpointIds: string[] }>(principal: Principal, summary: E): E {
  if (principal.endpointIds !== undefined) {
    summary.endpointIds = summary.endpointIds.filter((id) => sees(principal, id));
  }
  return summary;
}

/**
 * A replay changes things: a read-only session may not; one limited to some endpoints replays only to
 * them, so it must name one.
 */
function authorizeReplay(ctx: HandlerContext, endpointId: string | undefined): void {
  const principal = principalOf(ctx);
  authorizeWrite(principal);
  if (endpointId !== undefined) authorizeEndpoint(principal, endpointId);
  else if (principal.endpointIds !== undefined) {
    throw new PermissionDeniedError("this session is limited to some endpoints: name one");
  }
}

/** Puts the ids a call is about on the RPC's span. Never payloads. */
function annotate(ids: { tenantId: string; eventId?: string; endpointId?: string }): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute("herald.tenant_id", ids.tenantId);
  if (ids.eventId) span.setAttribute("herald.event_id", ids.eventId);
  if (ids.endpointId) span.setAttribute("herald.endpoint_id", ids.endpointId);
}
