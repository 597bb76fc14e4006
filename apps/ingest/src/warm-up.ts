import { create, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  EventSchema,
  PublishEventRequestSchema,
  PublishEventResponseSchema,
  PublishEventsRequestSchema,
} from "@herald/contracts";
import {
  type EventDocument,
  newEventId,
  WARM_UP_PAYLOAD_JSON,
  WARM_UP_TENANT_ID,
} from "@herald/platform/model";
import { BSON } from "mongodb";
import { toBinary as toBsonBinary } from "./event-store.js";
import { validateEvent } from "./validate.js";

/** Rounds of {@link warmUpEventPath}: enough for V8 to optimise what one event runs through. */
export const EVENT_WARM_UP_ROUNDS = 2_000;

const PAYLOAD = Buffer.from(WARM_UP_PAYLOAD_JSON);

/**
 * Runs ingest's per-event code on a made-up event, touching nothing outside the process: the request
 * read from JSON and protobuf, its validation, a new id, the document as MongoDB's driver encodes it, the
 * event message as the broker carries it, and the answer. The RPC port's own warm-up (health checks)
 * covers the server and protobuf's codecs in general; this covers the shapes only events have (bytes,
 * timestamps, BSON binaries and dates).
 */
export function warmUpEventPath(rounds = EVENT_WARM_UP_ROUNDS): void {
  const json = JSON.stringify({
    tenantId: WARM_UP_TENANT_ID,
    event: { eventType: "warm.up", payload: PAYLOAD.toString("base64"), channels: ["a"] },
  });
  const batch = toBinary(
    PublishEventsRequestSchema,
    create(PublishEventsRequestSchema, {
      tenantId: WARM_UP_TENANT_ID,
      events: [{ eventType: "warm.up", payload: PAYLOAD }],
    }),
  );
  for (let i = 0; i < rounds; i++) {
    const request = fromJsonString(PublishEventRequestSchema, json);
    const batched = fromBinary(PublishEventsRequestSchema, batch);
    validateEvent(batched.events[0], { maxPayloadBytes: 256 * 1024 }, "events[0]");
    const event = validateEvent(request.event, { maxPayloadBytes: 256 * 1024 }, "event");
    const createTime = new Date();
    const id = newEventId(createTime.getTime());
    const doc: EventDocument = {
      _id: id,
      tenant_id: request.tenantId,
      event_type: event.eventType,
      payload: toBsonBinary(event.payload),
      channels: event.channels,
      dedupe_key: id,
      create_time: createTime,
      published: false,
    };
    BSON.serialize(doc);
    toBinary(
      EventSchema,
      create(EventSchema, {
        id: doc._id,
        tenantId: doc.tenant_id,
        eventType: doc.event_type,
        payload: doc.payload.buffer,
        channels: doc.channels,
        createTime: timestampFromDate(doc.create_time),
      }),
    );
    toJsonString(PublishEventResponseSchema, create(PublishEventResponseSchema, { eventId: id }));
  }
}
