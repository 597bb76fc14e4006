import type { Span } from "@opentelemetry/api";

/**
 * Records one event of a PublishEvents batch on the call's span, as a span event: one call may carry
 * up to 100 events, and an attribute holds one value, so each event's id goes in an event of its own
 * ("event accepted", with `herald.event_id`), where Jaeger's tag search finds it as it finds a span's
 * own attributes. A refused item is recorded with its position and error code, never its content.
 */
export function recordBatchItem(
  span: Span | undefined,
  index: number,
  result: { eventId: string; duplicate: boolean } | { errorCode: string },
): void {
  if (!span) return;
  if ("eventId" in result) {
    span.addEvent("event accepted", {
      "herald.event_id": result.eventId,
      "herald.batch_index": index,
      "herald.duplicate": result.duplicate,
    });
  } else {
    span.addEvent("event refused", { "herald.batch_index": index, "error.type": result.errorCode });
  }
}
