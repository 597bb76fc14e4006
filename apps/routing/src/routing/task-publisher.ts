import { type DeliveryTask, DeliveryTaskBatchSchema } from "@herald/contracts";
import {
  BatchPublisher,
  injectTraceContext,
  type ProtoPublisher,
  type TopologyNames,
} from "@herald/platform";
import { MAX_BATCH_PAYLOAD_BYTES, taskBatchOf } from "@herald/platform/model";

/** Tasks one herald.deliveries message carries at most. */
export const MAX_TASKS_PER_MESSAGE = 64;

/**
 * Publishes delivery tasks to herald.deliveries and resolves once RabbitMQ confirmed them. The tasks
 * published in the same turn of the event loop (the fan-out of the events routed together) travel in one
 * DeliveryTaskBatch, each with the trace context it was published in, so each event's trace goes on
 * through delivery.
 */
export function taskPublisher(
  publisher: ProtoPublisher,
  names: TopologyNames,
): (task: DeliveryTask) => Promise<void> {
  const batches = new BatchPublisher<DeliveryTask, typeof DeliveryTaskBatchSchema>(publisher, {
    exchange: names.exchanges.deliveries,
    schema: DeliveryTaskBatchSchema,
    message: taskBatchOf,
    maxItems: MAX_TASKS_PER_MESSAGE,
    maxBytes: MAX_BATCH_PAYLOAD_BYTES,
    itemBytes: (task) => task.payload.length,
  });
  return (task) => {
    task.traceContext = injectTraceContext();
    return batches.publish(task);
  };
}
