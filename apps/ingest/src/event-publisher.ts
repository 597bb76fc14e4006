import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Event, EventSchema } from "@herald/contracts";
import type { Queue } from "@herald/platform";
import type { EventDocument } from "@herald/platform/model";

/**
 * Publishes stored events to the event queue and resolves once RabbitMQ confirmed them. The events
 * published in the same turn of the event loop (those one insert stored) travel in one message, each
 * with its own trace context, so every event's trace goes on through routing.
 */
export function eventPublisher(events: Queue<Event>): (doc: EventDocument) => Promise<void> {
  return (doc) =>
    events.publish(
      create(EventSchema, {
        id: doc._id,
        tenantId: doc.tenant_id,
        eventType: doc.event_type,
        payload: doc.payload.buffer,
        channels: doc.channels,
        createTime: timestampFromDate(doc.create_time),
      }),
    );
}
