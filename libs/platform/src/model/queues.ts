import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AuditRecordBatchSchema,
  AuditRecordSchema,
  DeliveryTaskBatchSchema,
  DeliveryTaskSchema,
  type Event,
  EventBatchSchema,
  EventSchema,
} from "@herald/contracts";
import type { QueueSpec } from "../amqp/queues.js";
import type { EventDocument } from "./documents.js";

// Herald's work queues, each declared once: its exchange and queue, its messages, and how many items one
// carries. Open one with `openQueue(spec, ctx)` (@herald/platform) to publish to it, consume it, or (the
// task queue) publish a task to come back later. Control notifications are broadcast, not queued: see
// control.ts. Exchange and queue names: amqp/topology.ts.

/**
 * Payload bytes one batch message (of events or of tasks) carries at most; a bigger item goes alone. So
 * no message outgrows one item at the default largest payload (256 KiB), and a consumer's prefetch,
 * counted in messages, holds no more than it would with an item to a message.
 */
export const MAX_BATCH_PAYLOAD_BYTES = 256 * 1024;

/** Events one herald.events message carries at most. */
export const MAX_EVENTS_PER_MESSAGE = 32;

/** Tasks one herald.deliveries message carries at most. */
export const MAX_TASKS_PER_MESSAGE = 64;

/**
 * Records one herald.attempts message carries at most. Audit holds a few hundred messages at once, so
 * this bounds its memory (an attempt keeps up to 4 KiB of response body).
 */
export const MAX_RECORDS_PER_MESSAGE = 50;

/**
 * Stored events, from ingest to routing (herald.events → routing.events). The events published in the
 * same turn of the event loop (those one insert stored) travel together, each with its own trace
 * context. A single Event (from ingest before batches) is taken as a batch of one.
 */
export const eventQueue: QueueSpec<typeof EventSchema, typeof EventBatchSchema> = {
  itemsName: "events",
  exchange: (names) => names.exchanges.events,
  queue: (names) => names.queues.routingEvents,
  item: EventSchema,
  idOf: (event) => event.id,
  shards: { exchange: (names) => names.shardExchanges.events, keyOf: (event) => event.tenantId },
  batch: {
    schema: EventBatchSchema,
    itemsOf: (batch) => batch.events,
    of: (events) => create(EventBatchSchema, { events }),
    maxItems: MAX_EVENTS_PER_MESSAGE,
    maxBytes: MAX_BATCH_PAYLOAD_BYTES,
    itemBytes: (event) => event.payload.length,
  },
  trace: {
    of: (event) => event.traceContext,
    set: (event, carrier) => {
      event.traceContext = carrier;
    },
  },
};

/** The message of a stored event on the event queue: what ingest and Herald's operational events publish. */
export function eventMessage(doc: EventDocument): Event {
  return create(EventSchema, {
    id: doc._id,
    tenantId: doc.tenant_id,
    eventType: doc.event_type,
    payload: doc.payload.buffer,
    channels: doc.channels,
    createTime: timestampFromDate(doc.create_time),
  });
}

/**
 * Delivery tasks, from routing (and audit's replays) to delivery (herald.deliveries → delivery.tasks).
 * Routing's fan-out travels in batches, each task with its own trace context; a single DeliveryTask (a
 * retry back from its tier, a replay, a requeue from the CLI) is a batch of one whose trace context is
 * its message's, so the one it may carry from an earlier batch is dropped. Tasks wait for their due in
 * the retry tiers (herald.retry), which send them back here.
 */
export const taskQueue: QueueSpec<typeof DeliveryTaskSchema, typeof DeliveryTaskBatchSchema> = {
  itemsName: "tasks",
  exchange: (names) => names.exchanges.deliveries,
  queue: (names) => names.queues.deliveryTasks,
  item: DeliveryTaskSchema,
  idOf: (task) => task.eventId,
  shards: { exchange: (names) => names.shardExchanges.deliveries, keyOf: (task) => task.tenantId },
  batch: {
    schema: DeliveryTaskBatchSchema,
    itemsOf: (batch) => batch.tasks,
    of: (tasks) => create(DeliveryTaskBatchSchema, { tasks }),
    maxItems: MAX_TASKS_PER_MESSAGE,
    maxBytes: MAX_BATCH_PAYLOAD_BYTES,
    itemBytes: (task) => task.payload.length,
  },
  trace: {
    of: (task) => task.traceContext,
    set: (task, carrier) => {
      task.traceContext = carrier;
    },
  },
  alone: (task) => {
    task.traceContext = {};
  },
  spanAttributes: (task) => ({
    "herald.tenant_id": task.tenantId,
    "herald.event_id": task.eventId,
    "herald.endpoint_id": task.endpointId,
    "herald.attempt": task.attempt,
  }),
  due: {
    of: (task) => (task.dueTime ? timestampDate(task.dueTime).getTime() : undefined),
    set: (task, dueMs) =>
      create(DeliveryTaskSchema, { ...task, dueTime: timestampFromDate(new Date(dueMs)) }),
  },
};

/**
 * How long a record published to audit waits for others to share its message, in ms. Records are off
 * the delivery's latency path (audit gathers its writes for AUDIT_BATCH_DELAY_MS, 50 ms, anyway), and a
 * message costs the broker about as much whatever it holds: at moderate rates this turns one message
 * per record into one per few records (docs/decisions/single-event-speed.md).
 */
export const AUDIT_RECORD_GATHER_MS = 25;

/**
 * Attempt records and routes, from routing and delivery to audit (herald.attempts → audit.attempts).
 * A record waits up to {@link AUDIT_RECORD_GATHER_MS} for others to join its message, and while one
 * message waits for its confirm the records published meanwhile go together in the next, so a busy
 * service sends a message per confirm round trip rather than one per record.
 */
export const auditRecordQueue: QueueSpec<typeof AuditRecordSchema, typeof AuditRecordBatchSchema> = {
  itemsName: "audit records",
  exchange: (names) => names.exchanges.attempts,
  queue: (names) => names.queues.auditAttempts,
  item: AuditRecordSchema,
  idOf: (record) => record.record.value?.eventId ?? "",
  batch: {
    schema: AuditRecordBatchSchema,
    itemsOf: (batch) => batch.records,
    of: (records) => create(AuditRecordBatchSchema, { records }),
    maxItems: MAX_RECORDS_PER_MESSAGE,
    maxUnconfirmed: 1,
    maxDelayMs: AUDIT_RECORD_GATHER_MS,
  },
};

/** Tasks dead-lettered after their last attempt, from delivery to audit (herald.dead → delivery.dead), one to a message. */
export const deadTaskQueue: QueueSpec<typeof DeliveryTaskSchema> = {
  itemsName: "dead tasks",
  exchange: (names) => names.exchanges.dead,
  queue: (names) => names.queues.deliveryDead,
  item: DeliveryTaskSchema,
  idOf: (task) => task.eventId,
};
