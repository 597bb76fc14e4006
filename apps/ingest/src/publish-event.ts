import { FailedPreconditionError } from "@herald/platform";
import type { EventDocument } from "@herald/platform/model";
import { newEventId } from "@herald/platform/model";
import { type EventStore, toBinary } from "./event-store.js";
import type { ValidEvent } from "./validate.js";

/** What publishing one event needs. */
export interface PublishDeps {
  events: EventStore;
  /** Publishes to herald.events and resolves once RabbitMQ confirmed it. */
  publish(event: EventDocument): Promise<void>;
  now(): Date;
  /**
   * How long an idempotency key is remembered, from the first event that used it; a call after that
   * publishes a new event. Default {@link DEFAULT_IDEMPOTENCY_WINDOW_MS}.
   */
  idempotencyWindowMs?: number;
  /** How long a retried call waits for a concurrent first call to finish publishing. */
  concurrentPublishWaitMs?: number;
  /** Told how long each step of a new event took: storing it, then publishing it until confirmed. */
  observeStep?(step: "store" | "confirm", ms: number): void;
  /**
   * Test-only fault injection: called between storing a new event and publishing it (the chaos suite
   * kills ingest there to strand an event; see HERALD_FAULT_EXIT_AFTER_INSERT).
   */
  afterInsert?(): void;
}

/** 24 hours: longer than any sensible retry of a failed call, short enough to reuse keys daily. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

export interface PublishResult {
  eventId: string;
  duplicate: boolean;
}

/**
 * Stores then publishes one event, answering only after RabbitMQ confirmed it. A call with an
 * idempotency key already used returns the first event's id; if that event was stored but never
 * confirmed (the first call failed or crashed in between), it is published now, so nothing is lost.
 */
export async function publishEvent(
  deps: PublishDeps,
  tenantId: string,
  event: ValidEvent,
): Promise<PublishResult> {
  const createTime = deps.now();
  const id = newEventId(createTime.getTime());
  const doc: EventDocument = {
    _id: id,
    tenant_id: tenantId,
    event_type: event.eventType,
    payload: toBinary(event.payload),
    channels: event.channels,
    ...(event.idempotencyKey ? { idempotency_key: event.idempotencyKey } : {}),
    dedupe_key: event.idempotencyKey || id,
    create_time: createTime,
    published: false,
  };
  const storing = performance.now();
  let stored = await deps.events.insertOrGet(doc);
  if (!stored.inserted && isPastIdempotencyWindow(deps, stored.existing)) {
    // The key is forgotten: the old event stays (until retention removes it) but no longer holds it.
    await deps.events.forgetIdempotencyKey(stored.existing);
    stored = await deps.events.insertOrGet(doc);
  }
  if (stored.inserted) {
    const publishing = performance.now();
    deps.observeStep?.("store", publishing - storing);
    deps.afterInsert?.();
    try {
      await deps.publish(doc);
    } catch (err) {
      await deps.events.markUnpublished(doc);
      throw err;
    }
    deps.observeStep?.("confirm", performance.now() - publishing);
    await deps.events.markPublished(doc);
    return { eventId: id, duplicate: false };
  }

  const existing = stored.existing;
  if (!sameEvent(existing, doc)) {
    throw new FailedPreconditionError(
      `idempotency_key "${event.idempotencyKey}" was already used for a different event (${existing._id})`,
    );
  }
  if (!existing.published && !(await waitForConcurrentPublish(deps, existing))) {
    await publishStored(deps, existing);
  }
  return { eventId: existing._id, duplicate: true };
}

/**
 * Publishes an event that was stored but maybe never confirmed, then records it published: the path of a
 * retried call and of the republish sweep alike.
 */
export async function publishStored(
  deps: { events: Pick<EventStore, "markPublished">; publish: PublishDeps["publish"] },
  event: EventDocument,
): Promise<void> {
  await deps.publish(event);
  await deps.events.markPublished(event);
}

function isPastIdempotencyWindow(deps: PublishDeps, existing: EventDocument): boolean {
  const windowMs = deps.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;
  return deps.now().getTime() - existing.create_time.getTime() >= windowMs;
}

function sameEvent(a: EventDocument, b: EventDocument): boolean {
  return a.event_type === b.event_type && Buffer.from(a.payload.buffer).equals(Buffer.from(b.payload.buffer));
}

/**
 * A first call with the same key may still be publishing: wait a little for it rather than publish
 * a second copy. Returns whether the event got published meanwhile.
 */
async function waitForConcurrentPublish(deps: PublishDeps, existing: EventDocument): Promise<boolean> {
  const waitMs = deps.concurrentPublishWaitMs ?? 3_000;
  if (deps.now().getTime() - existing.create_time.getTime() > waitMs) return false;
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (await deps.events.isPublished(existing._id)) return true;
  }
  return false;
}
