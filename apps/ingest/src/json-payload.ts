import type { JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Text of a number that a double may not hold exactly (precision, overflow to Infinity, underflow to 0):
 * 16 or more digits, or an exponent of three digits. NUMBER_IN_TEXT finds one after ":", "," or "[" (so
 * digits inside a string, such as a long id, seldom match; those that do only cost the slower parse).
 */
const INEXACT_NUMBER = /^-?(?:[\d.]{16}|[\d.]+[eE][+-]?\d{3})/;
const NUMBER_IN_TEXT = /[:,[]\s*-?(?:[\d.]{16}|[\d.]+[eE][+-]?\d{3})/;

/** JSON.parse's reviver context and JSON.rawJSON (Node ≥ 21); TypeScript's lib does not declare them yet. */
type Reviver = (key: string, value: unknown, context: { source?: string }) => unknown;
const json = JSON as unknown as {
  parse(text: string, reviver?: Reviver): unknown;
  rawJSON(text: string): unknown;
};

function keepInexactNumbers(_key: string, value: unknown, context: { source?: string }): unknown {
  if (typeof value !== "number" || context.source === undefined) return value;
  const source = context.source;
  return INEXACT_NUMBER.test(source) && JSON.stringify(value) !== source ? json.rawJSON(source) : value;
}

/**
 * Parses JSON text so that `JSON.stringify` of the result loses nothing: a number a double cannot hold
 * exactly (12345678901234567890, 1e400) keeps the text it was sent as. Text without such a number takes
 * the plain `JSON.parse`.
 */
export function parseJsonKeepingNumbers(text: string): unknown {
  return NUMBER_IN_TEXT.test(text) ? json.parse(text, keepInexactNumbers) : JSON.parse(text);
}

type JsonObject = { [key: string]: JsonValue };

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function refuse(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** Whether an event input also carries payload_json (under its JSON name or its proto name). */
function hasPayloadJson(input: JsonObject): boolean {
  return (
    (input.payloadJson !== undefined && input.payloadJson !== null && input.payloadJson !== "") ||
    (input.payload_json !== undefined && input.payload_json !== null && input.payload_json !== "")
  );
}

/**
 * A "payload" key followed by anything but a plain string (an object, array, number, boolean or null),
 * or by a string that starts like JSON: only a body that matches is parsed here. Base64 payloads, what
 * most existing callers send, cost this one scan.
 */
const MAYBE_PLAIN_JSON = /"payload"\s*:\s*(?:[^"\s]|"\s*[[{])/;

/**
 * Turns one EventInput's plain-JSON payload into what protobuf's JSON mapping reads: an object or an
 * array under "payload" becomes its compact JSON text in "payloadJson", and "payload" is cleared (JSON
 * null is the field's default). A string stays: it is the bytes in base64. Refuses, naming `field`, a
 * scalar payload, a string holding JSON text (base64 was meant, or the object itself), and an object
 * payload given with payload_json as well.
 */
export function plainJsonPayload(input: JsonValue | undefined, field: string): boolean {
  if (!isObject(input)) return false;
  const payload = input.payload;
  if (payload === undefined || payload === null) return false;
  if (typeof payload === "object") {
    if (hasPayloadJson(input)) {
      throw refuse(`${field}: give the payload once, as payload or as payload_json, not both`);
    }
    input.payloadJson = JSON.stringify(payload);
    input.payload = null;
    return true;
  }
  if (typeof payload === "string") {
    if (/^\s*[[{]/.test(payload)) {
      throw refuse(
        `${field}.payload: a string is read as the payload's bytes in base64; send the JSON object itself ("payload": {"order": 1}), not a string holding it`,
      );
    }
    return false;
  }
  throw refuse(
    `${field}.payload: must be a JSON object ("payload": {"order": 1}) or its bytes as a base64 string, not a ${typeof payload}`,
  );
}

/**
 * Request-body rewrites for IngestService's Connect JSON calls (see the vendor shim
 * json-request-rewrite.ts): each applies {@link plainJsonPayload} to its event(s) and answers the new
 * body, or undefined to leave the body as sent (no object payload, or not JSON: connect-es then reads
 * or refuses it as usual).
 */
export const publishEventBody = (text: string): JsonValue | undefined => {
  if (!MAYBE_PLAIN_JSON.test(text)) return undefined;
  const body = parseJsonKeepingNumbers(text) as JsonValue;
  if (!isObject(body) || !plainJsonPayload(body.event, "event")) return undefined;
  return body;
};

export const publishEventsBody = (text: string): JsonValue | undefined => {
  if (!MAYBE_PLAIN_JSON.test(text)) return undefined;
  const body = parseJsonKeepingNumbers(text) as JsonValue;
  if (!isObject(body) || !Array.isArray(body.events)) return undefined;
  let changed = false;
  body.events.forEach((input, i) => {
    if (plainJsonPayload(input, `events[${i}]`)) changed = true;
  });
  return changed ? body : undefined;
};
