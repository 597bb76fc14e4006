import { EventBatchSchema } from "@herald/contracts";
import {
  carriedTraceContext,
  consumeProto,
  handleBatch,
  inSpan,
  republishEachAlone,
  type ServiceConfig,
  type ServiceContext,
} from "@herald/platform";
import { AuditRecordPublisher, ControlPlaneCache, eventBatchOf } from "@herald/platform/model";
import { SpanKind } from "@opentelemetry/api";
import type { Consumer } from "rabbitmq-client";
import { decodeEvents } from "./event-batch.js";
import { type RouteDeps, type RouteMetrics, routeEvent } from "./route-event.js";
import { taskPublisher } from "./task-publisher.js";

/** Options of the event router; from the routing service's configuration. */
export interface EventRouterOptions {
  /** herald.events messages (each a batch of events) routed at once per instance. */
  concurrency: number;
  metrics: RouteMetrics;
}

/** The event router: its consumer, and its endpoint cache for control notifications to refresh. */
export interface EventRouter {
  consumer: Consumer;
  cache: ControlPlaneCache;
}

/**
 * Consumes `routing.events` and fans each event out to delivery tasks. A message is a batch of events,
 * acked once all of them are routed (those that failed go back to the queue alone); each event is routed
 * in a span of its own trace. Its endpoint cache must drop entries on control notifications, so an
 * endpoint change applies to the next event.
 */
export function eventRouter(ctx: ServiceContext<ServiceConfig>, options: EventRouterOptions): EventRouter {
  const { rabbit, names, publisher, logger, mongo } = ctx;
  const cache = new ControlPlaneCache(mongo.db);
  // Each handler waits for its tasks' and record's confirms, so a stopped consumer leaves none unpublished.
  const auditRecords = new AuditRecordPublisher(publisher, names);
  const deps: RouteDeps = {
    cache,
    logger,
    now: () => new Date(),
    publishTask: taskPublisher(publisher, names),
    publishAudit: (record) => auditRecords.publish(record),
    metrics: options.metrics,
  };
  const requeueAlone = republishEachAlone(publisher, {
    exchange: names.exchanges.events,
    schema: EventBatchSchema,
    batchOf: eventBatchOf,
    idOf: (event) => event.id,
    logger,
    itemsName: "events",
  });
  const consumer = consumeProto(rabbit, {
    names,
    queue: names.queues.routingEvents,
    schema: EventBatchSchema,
    decode: decodeEvents,
    concurrency: options.concurrency,
    logger,
    handler: (batch) =>
      handleBatch(
        batch.events,
        (event) =>
          inSpan(
            "route event",
            // Events stored before their context travelled with them continue the message's trace.
            { kind: SpanKind.INTERNAL, parent: carriedTraceContext(event.traceContext) },
            () => routeEvent(deps, event),
          ),
        requeueAlone,
      ),
  });
  return { consumer, cache };
}
