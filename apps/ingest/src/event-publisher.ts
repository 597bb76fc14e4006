import type { Event } from "@herald/contracts";
import type { Queue } from "@herald/platform";
import { type EventDocument, eventMessage } from "@herald/platform/model";

/**
 * Publishes stored events to the event queue and resolves once RabbitMQ confirmed them. The events
 * published in the same turn of the event loop (those one insert stored) travel in one message, each
 * with its own trace context, so every event's trace goes on through routing.
 */
export function eventPublisher(events: Queue<Event>): (doc: EventDocument) => Promise<void> {
  return (doc) => events.publish(eventMessage(doc));
}
