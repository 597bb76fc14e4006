import { create } from "@bufbuild/protobuf";
import {
  type DeliveryTask,
  type DeliveryTaskBatch,
  DeliveryTaskBatchSchema,
  type Event,
  type EventBatch,
  EventBatchSchema,
} from "@herald/contracts";

/**
 * Payload bytes one batch message (of events or of tasks) carries at most; a bigger item goes alone. So
 * no message outgrows one item at the default largest payload (256 KiB), and a consumer's prefetch,
 * counted in messages, holds no more than it would with an item to a message.
 */
export const MAX_BATCH_PAYLOAD_BYTES = 256 * 1024;

/** The herald.events message holding `events`. */
export function eventBatchOf(events: Event[]): EventBatch {
  return create(EventBatchSchema, { events });
}

/** The herald.deliveries message holding `tasks`. */
export function taskBatchOf(tasks: DeliveryTask[]): DeliveryTaskBatch {
  return create(DeliveryTaskBatchSchema, { tasks });
}
