import { InvalidArgumentError } from "@herald/platform";
import { describe, expect, it } from "vitest";
import { validateEvent } from "./validate.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const limits = { maxPayloadBytes: 64 };
const good = {
  eventType: "order.created",
  payload: bytes('{"id": 1}'),
  payloadJson: "",
  idempotencyKey: "",
  channels: [] as string[],
};

function errorOf(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err;
    throw err;
  }
  throw new Error("expected an InvalidArgumentError");
}

describe("validateEvent", () => {
  it("keeps the payload bytes exactly as sent and dedupes channels", () => {
    const payload = bytes('{ "id" :1 ,"x":"é" }');
    const event = validateEvent({ ...good, payload, channels: ["eu", "eu", "us"] }, limits, "event");
    expect(event.payload).toBe(payload);
    expect(event.channels).toEqual(["eu", "us"]);
  });

  it.each([
    [{ eventType: "" }, "event.event_type", /required/],
    [{ eventType: "Order.Created" }, "event.event_type", /lower-case/],
    [{ eventType: "a".repeat(129) }, "event.event_type", /1-128/],
    [{ eventType: "order created" }, "event.event_type", /lower-case/],
    [
      { eventType: "herald.endpoint.disabled" },
      "event.event_type",
      /reserved for Herald's operational events/,
    ],
    [{ eventType: "herald.anything" }, "event.event_type", /"herald\.\*" is reserved/],
    [{ idempotencyKey: "herald:endpoint.disabled:ep_1" }, "event.idempotency_key", /reserved/],
    [{ payload: bytes("") }, "event.payload", /required/],
    [{ payload: bytes("not json") }, "event.payload", /not valid JSON/],
    [{ payload: bytes("[1,2]") }, "event.payload", /JSON object, not an array/],
    [{ payload: bytes("42") }, "event.payload", /JSON object/],
    [{ payload: new Uint8Array([0x7b, 0xff, 0x7d]) }, "event.payload", /not valid UTF-8/],
    [
      { payload: bytes(`{"a":"${"x".repeat(80)}"}`) },
      "event.payload",
      /over this tenant's limit of 64 bytes/,
    ],
    [{ payload: bytes(""), payloadJson: "[1]" }, "event.payload", /JSON object, not an array/],
    [{ payload: bytes(""), payloadJson: "{" }, "event.payload", /not valid JSON/],
    [{ payloadJson: '{"id":2}' }, "event", /give the payload once, as payload .* or as payload_json/],
    [{ idempotencyKey: "has space" }, "event.idempotency_key", /printable ASCII/],
    [{ channels: ["ok", "bad/channel"] }, "event.channels[1]", /letters, digits/],
  ])("refuses %j naming %s", (patch, field, message) => {
    const err = errorOf(() => validateEvent({ ...good, ...patch }, limits, "event"));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it("takes payload_json's text as the payload, in UTF-8", () => {
    const event = validateEvent({ ...good, payload: bytes(""), payloadJson: '{"x":"é"}' }, limits, "event");
    expect(new TextDecoder().decode(event.payload)).toBe('{"x":"é"}');
    expect(event.payload.byteLength).toBe(10);
  });

  it("names the batch index in the field", () => {
    expect(errorOf(() => validateEvent({ ...good, eventType: "" }, limits, "events[7]")).field).toBe(
      "events[7].event_type",
    );
    expect(errorOf(() => validateEvent(undefined, limits, "event")).field).toBe("event");
  });
});
