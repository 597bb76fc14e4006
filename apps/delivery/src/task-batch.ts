import { DeliveryTaskBatchSchema, DeliveryTaskSchema } from "@herald/contracts";
import { batchDecoder } from "@herald/platform";
import { taskBatchOf } from "@herald/platform/model";

/**
 * Decodes a delivery.tasks message by its AMQP `type`: a DeliveryTaskBatch from routing, or a single
 * DeliveryTask (a retry coming back from its tier, a replay from audit, a requeue from the CLI, or
 * routing's before batches) as a batch of one. A single task's trace context is its message's, so the
 * one it may carry from an earlier batch is dropped. Throws on a body that is neither.
 */
export const decodeTasks = batchDecoder(DeliveryTaskBatchSchema, DeliveryTaskSchema, (task) => {
  task.traceContext = {};
  return taskBatchOf([task]);
});
