// The load generator's protobuf clients (connect-grpc-client.ts, http2-grpc-client.ts) take requests
// and give answers in the e2e suite's gRPC client shape (snake_case, as @grpc/proto-loader has them);
// these convert them to and from IngestService's messages.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  PublishEventRequestSchema,
  PublishEventsRequestSchema,
  PublishEventsResponse,
} from "@herald/contracts";

/** An input event as the e2e gRPC client takes it (snake_case, payload as bytes). */
interface EventIn {
  event_type: string;
  payload: Buffer;
  channels?: string[];
}

const eventInput = (event: EventIn) => ({
  eventType: event.event_type,
  payload: event.payload,
  channels: event.channels ?? [],
});

/** PublishEvent's request from the e2e client's `{ tenant_id, event }`. */
export function publishEventInput(request: object): MessageInitShape<typeof PublishEventRequestSchema> {
  const { tenant_id, event } = request as { tenant_id: string; event: EventIn };
  return { tenantId: tenant_id, event: eventInput(event) };
}

/** PublishEvents' request from the e2e client's `{ tenant_id, events }`. */
export function publishEventsInput(request: object): MessageInitShape<typeof PublishEventsRequestSchema> {
  const { tenant_id, events } = request as { tenant_id: string; events: EventIn[] };
  return { tenantId: tenant_id, events: events.map(eventInput) };
}

/** PublishEvents' answer as the e2e client gives it. */
export function publishEventsResults(res: PublishEventsResponse) {
  return {
    results: res.results.map((r) => ({
      event_id: r.eventId,
      duplicate: r.duplicate,
      error_code: r.errorCode,
      error_message: r.errorMessage,
    })),
  };
}
