import { InvalidArgumentError } from "@herald/platform";
import {
  isOperationalEventType,
  OPERATIONAL_KEY_PREFIX,
  OPERATIONAL_TYPE_PREFIX,
} from "@herald/platform/model";

/** An event as accepted for publishing, after validation. */
export interface ValidEvent {
  eventType: string;
  /** Exactly the bytes the caller sent. */
  payload: Uint8Array;
  /** Empty when the caller gave none. */
  idempotencyKey: string;
  channels: string[];
}

export interface EventLimits {
  maxPayloadBytes: number;
}

export interface EventInputLike {
  eventType: string;
  payload: Uint8Array;
  /** The payload as JSON text: a Connect JSON caller's object payload arrives here (json-payload.ts). */
  payloadJson: string;
  idempotencyKey: string;
  channels: string[];
}

const EVENT_TYPE = /^[a-z0-9_.-]{1,128}$/;
const CHANNEL = /^[a-zA-Z0-9_.-]{1,64}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;
const MAX_CHANNELS = 10;
const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** The payload's bytes: as given, or payload_json's text in UTF-8; refuses both at once. */
function payloadOf(input: EventInputLike, field: string): Uint8Array {
  if (input.payloadJson === "") return input.payload;
  if (input.payload.byteLength > 0) {
    throw new InvalidArgumentError(
      field,
      "give the payload once, as payload (bytes; a JSON object in Connect JSON) or as payload_json (text), not both",
    );
  }
  return utf8Encoder.encode(input.payloadJson);
}

/**
 * Checks one event against the rules of the IngestService contract. `field` prefixes the field names
 * in errors (e.g. "event" or "events[3]") so the caller sees exactly which input is wrong.
 */
export function validateEvent(
  input: EventInputLike | undefined,
  limits: EventLimits,
  field: string,
): ValidEvent {
  if (!input) throw new InvalidArgumentError(field, "required");
  if (!input.eventType) throw new InvalidArgumentError(`${field}.event_type`, "required");
  if (!EVENT_TYPE.test(input.eventType)) {
    throw new InvalidArgumentError(
      `${field}.event_type`,
      'must be 1-128 lower-case letters, digits, "_", "." or "-", e.g. "order.created"',
    );
  }
  // Herald's operational events are Herald's word: a tenant publishing one could fake an endpoint's
  // failure to its own subscribers (or the operator's), or take the key of a fact before Herald emits it.
  if (isOperationalEventType(input.eventType)) {
    throw new InvalidArgumentError(
      `${field}.event_type`,
      `"${OPERATIONAL_TYPE_PREFIX}*" is reserved for Herald's operational events: endpoints may subscribe to them, publishers may not send them`,
    );
  }
  const payload = payloadOf(input, field);
  validatePayload(payload, limits, `${field}.payload`);
  if (input.idempotencyKey && !IDEMPOTENCY_KEY.test(input.idempotencyKey)) {
    throw new InvalidArgumentError(
      `${field}.idempotency_key`,
      "must be 1-256 printable ASCII characters without spaces",
    );
  }
  if (input.idempotencyKey.startsWith(OPERATIONAL_KEY_PREFIX)) {
    throw new InvalidArgumentError(
      `${field}.idempotency_key`,
      `"${OPERATIONAL_KEY_PREFIX}…" is reserved for Herald's operational events; choose another prefix`,
    );
  }
  if (input.channels.length > MAX_CHANNELS) {
    throw new InvalidArgumentError(`${field}.channels`, `at most ${MAX_CHANNELS} channels`);
  }
  input.channels.forEach((channel, i) => {
    if (!CHANNEL.test(channel)) {
      throw new InvalidArgumentError(
        `${field}.channels[${i}]`,
        'must be 1-64 letters, digits, "_", "." or "-"',
      );
    }
  });
  return {
    eventType: input.eventType,
    payload,
    idempotencyKey: input.idempotencyKey,
    channels: [...new Set(input.channels)],
  };
}

function validatePayload(payload: Uint8Array, limits: EventLimits, field: string): void {
  if (payload.byteLength === 0) throw new InvalidArgumentError(field, "required: a JSON object");
  if (payload.byteLength > limits.maxPayloadBytes) {
    throw new InvalidArgumentError(
      field,
      `${payload.byteLength} bytes is over this tenant's limit of ${limits.maxPayloadBytes} bytes`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    throw new InvalidArgumentError(field, "is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(field, `is not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new InvalidArgumentError(field, "must be a JSON object, not an array or a scalar");
  }
}
