import { timestampDate } from "@bufbuild/protobuf/wkt";
import { AttemptTrigger, DeliveryState, type DeliveryTask } from "@herald/contracts";
import { Batcher, type Logger, type Queue } from "@herald/platform";
import type { Consumer } from "rabbitmq-client";
import type { AttemptLogWriter, DeliveryChange } from "./attempt-log-writer.js";
import type { AttemptOutcome } from "./delivery-state.js";
import { deliveryId } from "./documents.js";

/**
 * What a dead-lettered task says about its delivery: DEAD after attempt `task.attempt`. The task's
 * attempt record says the same with the response and the attempt's time; the outcome here is dated
 * at the event's creation, before any attempt, so that record always supersedes it and it only
 * stands in while the record is on its way (or if it was lost). Redrive rebuilds the task from the
 * stored event, so the delivery is all that needs recording.
 */
export function deadTaskOutcome(task: DeliveryTask): AttemptOutcome {
  return {
    attemptNumber: task.attempt,
    attemptTime: task.eventTime ? timestampDate(task.eventTime) : new Date(0),
    trigger: task.trigger || AttemptTrigger.SCHEDULED,
    state: DeliveryState.DEAD,
    responseStatus: 0,
    nextAttemptTime: null,
  };
}

/** The delivery changes of a batch of dead tasks, one per delivery. Tasks without ids are left out. */
export function deadTaskChanges(tasks: readonly DeliveryTask[]): DeliveryChange[] {
  const changes = new Map<string, DeliveryChange>();
  for (const task of tasks) {
    if (!task.tenantId || !task.eventId || !task.endpointId || task.attempt < 1) continue;
    const key = deliveryId(task.eventId, task.endpointId);
    let change = changes.get(key);
    if (!change) {
      change = {
        ref: { tenantId: task.tenantId, eventId: task.eventId, endpointId: task.endpointId },
        outcomes: [],
      };
      changes.set(key, change);
    }
    change.outcomes.push(deadTaskOutcome(task));
  }
  return [...changes.values()];
}

/** Dead tasks written per MongoDB batch, and fetched ahead; each holds its payload, up to 256 KiB. */
const DEAD_TASK_BATCH = 100;

/** Options of {@link consumeDeadTasks}. */
export interface DeadTaskConsumerOptions {
  logger: Logger;
  writer: AttemptLogWriter;
  /** Longest a dead task waits for its batch to fill, in ms. */
  batchDelayMs: number;
  /** Batches written at once (`auditWritesAtOnce` in record-writer.ts). */
  writesAtOnce: number;
  /** Clock for `update_time`; default the system clock. */
  now?: () => Date;
  /** Told of each dead task once its delivery is recorded DEAD; must not throw. */
  onRecorded?(task: DeliveryTask): void;
}

/**
 * Drains `delivery.dead` into MongoDB: each dead task is acked once its delivery is recorded DEAD, where
 * Redrive finds it. Nothing else reads the queue, which would otherwise grow for as long as Herald runs,
 * until the broker's memory or disk alarm stopped every publisher.
 */
export function consumeDeadTasks(
  queue: Queue<DeliveryTask>,
  options: DeadTaskConsumerOptions,
): { consumer: Consumer; batcher: Batcher<DeliveryTask> } {
  const now = options.now ?? (() => new Date());
  const { logger, writer } = options;
  const batcher = new Batcher<DeliveryTask>({
    maxSize: DEAD_TASK_BATCH,
    maxDelayMs: options.batchDelayMs,
    maxConcurrentWrites: options.writesAtOnce,
    write: async (tasks) => {
      await writer.applyDeliveryChanges(deadTaskChanges(tasks), now());
      logger.debug({ tasks: tasks.length }, "dead tasks recorded");
      for (const task of tasks) options.onRecorded?.(task);
    },
  });
  // A dead task comes in a message of its own.
  const consumer = queue.consumeMessages({
    prefetch: DEAD_TASK_BATCH,
    concurrency: DEAD_TASK_BATCH,
    handle: async (tasks, meta) => {
      const recorded = tasks.filter((task) => deadTaskChanges([task]).length > 0);
      // Nothing to record: acking drops it, with a trace in the log.
      if (recorded.length < tasks.length)
        logger.warn({ messageId: meta.messageId }, "dead task without ids dropped");
      await Promise.all(recorded.map((task) => batcher.add(task)));
    },
  });
  return { consumer, batcher };
}
