import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DeliveryTaskSchema } from "@herald/contracts";
import { type EndpointDocument, SecretBox } from "@herald/platform/model";
import { testEndpoint } from "@herald/platform/testing";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { EVENT_TYPE_HEADER, envelopeBody, webhookRequest } from "./webhook-request.js";

const box = new SecretBox(`k1:${Buffer.alloc(32, 1).toString("base64")}`);
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const eventTime = new Date("2026-12-06T04:00:00.123Z");
const now = Date.now();

function endpoint(fields: Partial<EndpointDocument> = {}): EndpointDocument {
  const secrets = [{ id: "sec_1", sealed: box.seal(SECRET), create_time: new Date(0) }];
  return testEndpoint({ _id: "ep_1", tenant_id: "acme", secrets, ...fields });
}

function task(payload: string | Uint8Array) {
  return create(DeliveryTaskSchema, {
    eventId: "evt_1",
    tenantId: "acme",
    endpointId: "ep_1",
    eventType: "order.created",
    payload: typeof payload === "string" ? new TextEncoder().encode(payload) : payload,
    attempt: 1,
    eventTime: timestampFromDate(eventTime),
  });
}

const verified = (request: { headers: Record<string, string>; body: Uint8Array }) =>
  new Webhook(SECRET).verify(Buffer.from(request.body).toString(), request.headers);

describe("webhookRequest", () => {
  it("sends the payload as published, with the event type in a header", () => {
    const request = webhookRequest({
      task: task('{"a":  1}'),
      endpoint: endpoint(),
      box,
      userAgent: "ua",
      now,
    });
    expect(Buffer.from(request.body).toString()).toBe('{"a":  1}');
    expect(request.headers[EVENT_TYPE_HEADER]).toBe("order.created");
    expect(request.headers["webhook-id"]).toBe("evt_1");
    expect(verified(request)).toEqual({ a: 1 });
  });

  it("wraps the payload in the Standard Webhooks envelope, signed over the bytes sent", () => {
    const request = webhookRequest({
      task: task(' {"a":  [1, "é"]}\n'),
      endpoint: endpoint({ payload_format: "envelope" }),
      box,
      userAgent: "ua",
      now,
    });
    const text = Buffer.from(request.body).toString();
    // The publisher's bytes stay as they were inside "data".
    expect(text).toBe(
      '{"type":"order.created","timestamp":"2026-12-06T04:00:00.123Z","data":{"a":  [1, "é"]}}',
    );
    expect(verified(request)).toEqual({
      type: "order.created",
      timestamp: "2026-12-06T04:00:00.123Z",
      data: { a: [1, "é"] },
    });
    expect(request.headers[EVENT_TYPE_HEADER]).toBe("order.created");
  });
});

describe("webhookRequest on a v1a endpoint", () => {
  it("signs with every valid key, v1a and v1 alike, over the envelope sent", () => {
    const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
    const whsk = `whsk_${Buffer.concat([Buffer.from(jwk.d ?? "", "base64url"), Buffer.from(jwk.x ?? "", "base64url")]).toString("base64")}`;
    const publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: jwk.x ?? "" }, format: "jwk" });
    const request = webhookRequest({
      task: task('{"a":1}'),
      endpoint: endpoint({
        payload_format: "envelope",
        secrets: [
          {
            id: "sec_2",
            sealed: box.seal(whsk),
            create_time: new Date(1),
            scheme: "v1a",
            public_key: "whpk_x",
          },
          {
            id: "sec_1",
            sealed: box.seal(SECRET),
            create_time: new Date(0),
            expire_time: new Date(now + 60_000),
          },
        ],
      }),
      box,
      userAgent: "ua",
      now,
    });
    const [v1a, v1] = request.headers["webhook-signature"]?.split(" ") ?? [];
    const signed = Buffer.concat([Buffer.from(`evt_1.${Math.floor(now / 1000)}.`), request.body]);
    expect(verify(null, signed, publicKey, Buffer.from(v1a?.slice(4) ?? "", "base64"))).toBe(true);
    expect(v1).toMatch(/^v1,/);
    expect(verified(request)).toMatchObject({ type: "order.created", data: { a: 1 } });
    expect(JSON.stringify(request.headers)).not.toContain(whsk.slice(5));
  });
});

describe("envelopeBody", () => {
  const parse = (body: Uint8Array) => JSON.parse(Buffer.from(body).toString());

  it.each([
    ["a JSON string", '"text"', "text"],
    ["a JSON number", "42", 42],
    ["JSON null", "null", null],
  ])("keeps %s as data", (_name, payload, data) => {
    expect(parse(envelopeBody("t", eventTime, new TextEncoder().encode(payload))).data).toEqual(data);
  });

  it.each([
    ["text that is not JSON", new TextEncoder().encode("hello")],
    ["bytes that are not UTF-8", Uint8Array.from([0xff, 0xfe, 0x00, 0x7b])],
    ["an empty payload", new Uint8Array()],
    ["JSON followed by more", new TextEncoder().encode('{"a":1} {"b":2}')],
  ])("sends %s base64-encoded as data_base64", (_name, payload) => {
    const envelope = parse(envelopeBody("t", eventTime, payload));
    expect(envelope).not.toHaveProperty("data");
    expect(Buffer.from(envelope.data_base64, "base64")).toEqual(Buffer.from(payload));
    expect(envelope.type).toBe("t");
  });
});
