import { openQueue, type ServiceConfig, type ServiceContext } from "@herald/platform";
import { auditRecordQueue, ControlPlaneCache, eventQueue, taskQueue } from "@herald/platform/model";
import type { Consumer } from "rabbitmq-client";
import { type RouteMetrics, routeEvent } from "./route-event.js";

/** Options of the event router; from the routing service's configuration. */
export interface EventRouterOptions {
  /** herald.events messages (each a batch of events) routed at once per instance. */
  concurrency: number;
  metrics: RouteMetrics;
}

/** The event router: its consumers (one per lane), and its endpoint cache for control notifications to refresh. */
export interface EventRouter {
  consumers: Consumer[];
  cache: ControlPlaneCache;
}

/**
 * Consumes `routing.events` and fans each event out to delivery tasks, each event in a span of its own
 * trace. Its endpoint cache must drop entries on control notifications, so an endpoint change applies to
 * the next event. Each event waits for its tasks' and record's confirms, so a stopped consumer leaves
 * none unpublished.
 */
export function eventRouter(ctx: ServiceContext<ServiceConfig>, options: EventRouterOptions): EventRouter {
  const cache = new ControlPlaneCache(ctx.mongo.db);
  // A heavy tenant's tasks go to the overflow shard from its weight × the threshold; routeEvent reads
  // each event's tenant first, so its weight is cached.
  const tasks = openQueue(taskQueue, { ...ctx, tenantWeight: (tenantId) => cache.tenantWeight(tenantId) });
  const auditRecords = openQueue(auditRecordQueue, ctx);
  const deps = {
    cache,
    logger: ctx.logger,
    now: () => new Date(),
    publishTask: tasks.publish,
    publishAudit: auditRecords.publish,
    metrics: options.metrics,
  };
  // One consumer per lane (routing.events, its tenant shards and the overflow shard): a tenant's flood
  // fills the overflow shard, not the one it shares with others.
  const consumers = openQueue(eventQueue, ctx).consume({
    concurrency: options.concurrency,
    span: "route event",
    handle: (event) => routeEvent(deps, event),
  });
  return { consumers, cache };
}
