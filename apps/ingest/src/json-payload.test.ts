import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { parseJsonKeepingNumbers, publishEventBody, publishEventsBody } from "./json-payload.js";

function refusal(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error("expected a ConnectError");
}

describe("parseJsonKeepingNumbers", () => {
  it("re-serialises compactly, as JSON.stringify writes the parsed value", () => {
    const text = '{ "order" : 1,\n "tags": [ "a", true, null ], "x": 1.50, "e": 1e2, "s": "\\u00e9" }';
    expect(JSON.stringify(parseJsonKeepingNumbers(text))).toBe(
      '{"order":1,"tags":["a",true,null],"x":1.5,"e":100,"s":"é"}',
    );
  });

  it("keeps the text of numbers a double cannot hold", () => {
    const text =
      '{"id":12345678901234567890,"big":1e400,"tiny":-1e-400,"f":0.12345678901234567891,"a":[ 9007199254740993],"ok":7}';
    expect(JSON.stringify(parseJsonKeepingNumbers(text))).toBe(text.replace("[ ", "["));
  });

  it("leaves a long digit run inside a string alone", () => {
    expect(JSON.stringify(parseJsonKeepingNumbers('{"card":"4111111111111111","n":2.0}'))).toBe(
      '{"card":"4111111111111111","n":2}',
    );
  });

  it("throws a SyntaxError on text that is not JSON", () => {
    expect(() => parseJsonKeepingNumbers("{nope")).toThrow(SyntaxError);
  });
});

describe("publishEventBody", () => {
  it("moves an object payload to payloadJson as compact JSON and clears payload", () => {
    const body = publishEventBody('{"tenantId":"acme","event":{"eventType":"o.c","payload": {"order": 1}}}');
    expect(body).toEqual({
      tenantId: "acme",
      event: { eventType: "o.c", payload: null, payloadJson: '{"order":1}' },
    });
  });

  it("moves an array too (validation refuses it later, naming the field)", () => {
    const body = publishEventBody('{"event":{"payload":[1,2]}}') as { event: { payloadJson: string } };
    expect(body.event.payloadJson).toBe("[1,2]");
  });

  it("keeps the text of a long number in the object it moves", () => {
    const body = publishEventBody('{"event":{"payload":{"id":12345678901234567890}}}') as {
      event: { payloadJson: string };
    };
    expect(body.event.payloadJson).toBe('{"id":12345678901234567890}');
  });

  it("leaves a base64 payload, a missing one and other shapes as sent", () => {
    for (const text of [
      '{"event":{"payload":"eyJvcmRlciI6MX0="}}',
      '{"event":{"payloadJson":"{}"}}',
      '{"event":null}',
      '{"event":{"payload":null}}',
      '{"event":{"eventType":"o.c"},"payload":{"a":1}}',
      '[{"payload":{}}]',
      '"x"',
    ]) {
      expect(publishEventBody(text)).toBeUndefined();
    }
  });

  it.each([
    ['{"event":{"payload":{"a":1},"payloadJson":"{}"}}', /^event: give the payload once/],
    ['{"event":{"payload":{"a":1},"payload_json":"{}"}}', /^event: give the payload once/],
    [
      '{"event":{"payload":"{\\"order\\":1}"}}',
      /^event\.payload: a string is read as .* base64; send the JSON object itself/,
    ],
    ['{"event":{"payload":" [1]"}}', /^event\.payload: a string is read as/],
    ['{"event":{"payload":42}}', /^event\.payload: must be a JSON object .* not a number/],
    ['{"event":{"payload":true}}', /not a boolean/],
  ])("refuses %s with INVALID_ARGUMENT", (text, message) => {
    const err = refusal(() => publishEventBody(text));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(message);
  });

  it("throws a SyntaxError (left to connect-es) on a body that is not JSON", () => {
    expect(() => publishEventBody('{"event":{"payload":{')).toThrow(SyntaxError);
  });
});

describe("publishEventsBody", () => {
  it("rewrites each event and names the index of a bad one", () => {
    const body = publishEventsBody('{"events":[{"payload":{"a":1}},{"payload":"e30="}]}');
    expect(body).toEqual({
      events: [{ payload: null, payloadJson: '{"a":1}' }, { payload: "e30=" }],
    });
    expect(refusal(() => publishEventsBody('{"events":[{"payload":{}},{"payload":3}]}')).rawMessage).toMatch(
      /^events\[1\]\.payload: must be a JSON object/,
    );
  });

  it("leaves events that are not an array, or carry no object payload, as sent", () => {
    expect(publishEventsBody('{"events":{"payload":{}}}')).toBeUndefined();
    expect(publishEventsBody('{"events":[{"payload":"e30="},{"payload":null}]}')).toBeUndefined();
  });
});
