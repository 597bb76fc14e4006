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
import { NotFoundError } from "@herald/platform";
import { authorizeTenant, principalOf } from "@herald/platform/model";
import { trace } from "@opentelemetry/api";
import type { AttemptLogReader } from "./attempt-log-reader.js";
import {
  attemptFromDocument,
  eventDeliveries,
  eventSummaryFromDocument,
  payloadOf,
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
      const query = listAttemptsQuery(req);
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
      const [event, route, deliveries] = await Promise.all([
        reader.findEvent(tenantId, eventId),
        reader.findRoute(tenantId, eventId),
        reader.deliveriesOfEvent(tenantId, eventId),
      ]);
      if (!event) throw new NotFoundError("event", eventId);
      return create(GetEventResponseSchema, {
        event: eventSummaryFromDocument(event, route),
        payload: payloadOf(event),
        deliveries: eventDeliveries(route, deliveries),
        skippedEndpoints: skippedEndpointsOf(route),
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
        events: page.items.map((e) => eventSummaryFromDocument(e, routes.get(e._id))),
        nextPageToken: page.nextPageToken,
      });
    },

    async redeliver(req, ctx) {
      const tenantId = authorize(ctx, req.tenantId);
      const eventId = requireId("event_id", req.eventId);
      const endpointId = requireId("endpoint_id", req.endpointId);
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
      annotate({ tenantId: query.tenantId, endpointId: query.endpointId });
      return create(RecoverResponseSchema, await replayAll(query));
    },

    async redrive(req, ctx) {
      authorize(ctx, req.tenantId);
      const query = redriveQuery(req, replayLimit);
      annotate({ tenantId: query.tenantId, endpointId: query.endpointId });
      return create(RedriveResponseSchema, await replayAll(query));
    },

    async getEndpointHealth(req, ctx) {
      const tenantId = authorize(ctx, req.tenantId);
      const endpointId = requireId("endpoint_id", req.endpointId);
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
      return create(ListEndpointHealthResponseSchema, {
        endpoints: await deps.health.healthOfEndpoints(tenantId, page, now()),
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

/** Puts the ids a call is about on the RPC's span. Never payloads. */
function annotate(ids: { tenantId: string; eventId?: string; endpointId?: string }): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute("herald.tenant_id", ids.tenantId);
  if (ids.eventId) span.setAttribute("herald.event_id", ids.eventId);
  if (ids.endpointId) span.setAttribute("herald.endpoint_id", ids.endpointId);
}
