import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AttemptTrigger, type DeliveryTask, DeliveryTaskSchema } from "@herald/contracts";
import type { Queue } from "@herald/platform";
import type { EventDocument } from "@herald/platform/model";
import type { AttemptLogReader } from "./attempt-log-reader.js";
import type { AttemptLogWriter } from "./attempt-log-writer.js";
import { forEachLimit } from "./concurrency.js";
import { type DeliveryDocument, payloadOf } from "./documents.js";

/** Replays published at once by Recover and Redrive. */
const PUBLISH_CONCURRENCY = 32;

/**
 * The task that sends `event` to an endpoint again, due now. `attempt` continues the delivery's count
 * so the attempt it produces orders after every earlier one.
 */
export function replayTask(
  event: EventDocument,
  endpointId: string,
  attempt: number,
  now: Date,
): DeliveryTask {
  return create(DeliveryTaskSchema, {
    eventId: event._id,
    tenantId: event.tenant_id,
    endpointId,
    eventType: event.event_type,
    payload: payloadOf(event),
    attempt,
    eventTime: timestampFromDate(event.create_time),
    dueTime: timestampFromDate(now),
    trigger: AttemptTrigger.MANUAL,
  });
}

/** Publishes deliveries again (Redeliver, Recover, Redrive) and marks them PENDING. */
export class Replayer {
  readonly #reader: AttemptLogReader;
  readonly #writer: AttemptLogWriter;
  readonly #tasks: Queue<DeliveryTask>;

  constructor(reader: AttemptLogReader, writer: AttemptLogWriter, tasks: Queue<DeliveryTask>) {
    this.#reader = reader;
    this.#writer = writer;
    this.#tasks = tasks;
  }

  /**
   * Publishes one task with a publisher confirm, then marks the delivery PENDING. In that order: a
   * failed publish leaves the state as it was, and markPending does not undo an attempt that was
   * recorded in between.
   */
  async replay(event: EventDocument, endpointId: string, attemptCount: number, now: Date): Promise<void> {
    const task = replayTask(event, endpointId, attemptCount + 1, now);
    // Alone, as a single DeliveryTask: its trace is the replay call's.
    await this.#tasks.publishAlone(task);
    await this.#writer.markPending(
      { tenantId: event.tenant_id, eventId: event._id, endpointId },
      task.attempt,
      now,
    );
  }

  /**
   * Replays deliveries of one tenant. Those whose event or endpoint no longer exists are skipped.
   * Returns how many were published.
   */
  async replayDeliveries(tenantId: string, deliveries: DeliveryDocument[], now: Date): Promise<number> {
    if (deliveries.length === 0) return 0;
    const [events, endpoints] = await Promise.all([
      this.#reader.findEvents(tenantId, [...new Set(deliveries.map((d) => d.event_id))]),
      this.#reader.existingEndpointIds(tenantId, [...new Set(deliveries.map((d) => d.endpoint_id))]),
    ]);
    const eventsById = new Map(events.map((e) => [e._id, e]));
    const replayable = deliveries.filter((d) => eventsById.has(d.event_id) && endpoints.has(d.endpoint_id));
    await forEachLimit(replayable, PUBLISH_CONCURRENCY, (d) =>
      this.replay(eventsById.get(d.event_id) as EventDocument, d.endpoint_id, d.attempt_count, now),
    );
    return replayable.length;
  }
}
