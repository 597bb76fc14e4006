import { AuditRecordSchema, DeliveryTaskSchema, EventSchema } from "@herald/contracts";
import { ControlPlaneCache, consumeProto, type ServiceConfig, type ServiceContext } from "@herald/platform";
import type { Consumer } from "rabbitmq-client";
import { type RouteDeps, routeEvent } from "./route-event.js";

/** Options of the event router; from the routing service's configuration. */
export interface EventRouterOptions {
  /** Events routed at once per instance. */
  concurrency: number;
}

/** The event router: its consumer, and its endpoint cache for control notifications to refresh. */
export interface EventRouter {
  consumer: Consumer;
  cache: ControlPlaneCache;
}

/**
 * Consumes `routing.events` and fans each event out to delivery tasks. Its endpoint cache must drop
 * entries on control notifications, so an endpoint change applies to the next event.
 */
export function eventRouter(ctx: ServiceContext<ServiceConfig>, options: EventRouterOptions): EventRouter {
  const { rabbit, names, publisher, logger, mongo } = ctx;
  const cache = new ControlPlaneCache(mongo.db);
  const deps: RouteDeps = {
    cache,
    logger,
    now: () => new Date(),
    publishTask: (task) =>
      publisher.publish(
        { exchange: names.exchanges.deliveries, messageId: task.eventId },
        DeliveryTaskSchema,
        task,
      ),
    publishAudit: (record) =>
      publisher.publish({ exchange: names.exchanges.attempts }, AuditRecordSchema, record),
  };
  const consumer = consumeProto(rabbit, {
    names,
    queue: names.queues.routingEvents,
    schema: EventSchema,
    concurrency: options.concurrency,
    logger,
    handler: async (event) => {
      await routeEvent(deps, event);
    },
  });
  return { consumer, cache };
}
