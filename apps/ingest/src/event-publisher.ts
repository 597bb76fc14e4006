import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Event, EventBatchSchema, EventSchema } from "@herald/contracts";
import {
  BatchPublisher,
  injectTraceContext,
  type ProtoPublisher,
  type TopologyNames,
} from "@herald/platform";
import { type EventDocument, eventBatchOf, MAX_BATCH_PAYLOAD_BYTES } from "@herald/platform/model";

/** Events one herald.events message carries at most. */
export const MAX_EVENTS_PER_MESSAGE = 32;

/**
 * Publishes stored events to herald.events and resolves once RabbitMQ confirmed them. The events
 * published in the same turn of the event loop (those one insert stored) travel in one EventBatch,
 * each with its own trace context, so every event's trace goes on through routing.
 */
export function eventPublisher(
  publisher: ProtoPublisher,
  names: TopologyNames,
): (doc: EventDocument) => Promise<void> {
  const batches = new BatchPublisher<Event, typeof EventBatchSchema>(publisher, {
    exchange: names.exchanges.events,
    schema: EventBatchSchema,
    message: eventBatchOf,
    maxItems: MAX_EVENTS_PER_MESSAGE,
    maxBytes: MAX_BATCH_PAYLOAD_BYTES,
    itemBytes: (event) => event.payload.length,
  });
  return (doc) =>
    batches.publish(
      create(EventSchema, {
        id: doc._id,
        tenantId: doc.tenant_id,
        eventType: doc.event_type,
        payload: doc.payload.buffer,
        channels: doc.channels,
        createTime: timestampFromDate(doc.create_time),
        traceContext: injectTraceContext(),
      }),
    );
}
