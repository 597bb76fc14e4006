import { Webhook } from "@herald/receiver";
import { validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./support/clients.js";
import { curlConnectJson } from "./support/curl.js";
import { createEndpoint, createTenant, type TestTenant } from "./support/fixtures.js";
import { type ReceivedRequest, type Receiver, startReceiver } from "./support/receiver.js";
import { type Stack, startStack } from "./support/stack.js";

// Plain JSON payloads and the OpenAPI description end to end: curl publishes over Connect JSON with the
// payload as a JSON object (and as base64), gRPC with bytes; a real receiver gets exactly the stored
// bytes, signed, verified with @herald/receiver. Each service serves its OpenAPI 3.1 document, and the
// request built from the served example works against the stack as it stands.

let stack: Stack;
let ingest: GrpcIngestClient;
let acme: TestTenant;
let receiver: Receiver;
let secret: string;

beforeAll(async () => {
  stack = await startStack();
  ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
  // "acme", as in the OpenAPI examples, so the served example runs unchanged.
  acme = await createTenant(stack, "acme");
  receiver = await startReceiver();
  ({ secret } = await createEndpoint(acme, receiver.url, { eventTypes: ["order.*"] }));
}, 90_000);

afterAll(async () => {
  ingest?.close();
  await receiver?.close();
  await stack?.stop();
});

/** curl's Connect JSON call: the body exactly as given; answers the HTTP status and the JSON body. */
async function curl(
  path: string,
  body: string,
  token = acme.publishKey,
  service: "ingest" | "audit" = "ingest",
) {
  return curlConnectJson(`${stack.url(service)}${path}`, body, token);
}

/** The request the receiver got for `eventId`, waiting for it. */
async function deliveryOf(eventId: string): Promise<ReceivedRequest> {
  for (;;) {
    const found = receiver.requests.find((r) => r.headers["webhook-id"] === eventId);
    if (found) return found;
    await receiver.waitFor(receiver.requests.length + 1, 15_000);
  }
}

function verified(request: ReceivedRequest): unknown {
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
  return new Webhook(secret).verify(request.body, headers);
}

describe("plain JSON payloads", () => {
  it("delivers curl's object payload as compact JSON, signed over exactly those bytes", async () => {
    const { status, json } = await curl(
      "/herald.v1.IngestService/PublishEvent",
      '{"tenantId": "acme", "event": {"eventType": "order.created", "payload": {"order": 1, "note": "é", "id": 12345678901234567890}}}',
    );
    expect(status).toBe(200);
    const request = await deliveryOf(json.eventId as string);
    expect(request.body.toString("utf8")).toBe('{"order":1,"note":"é","id":12345678901234567890}');
    expect(request.headers["webhook-event-type"]).toBe("order.created");
    expect(verified(request)).toMatchObject({ order: 1, note: "é" });

    // Read back the same way: GetEvent answers the object itself beside the exact bytes in base64.
    const read = await curl(
      "/herald.v1.AuditService/GetEvent",
      JSON.stringify({ tenantId: "acme", eventId: json.eventId }),
      acme.fullKey,
      "audit",
    );
    expect(read.status).toBe(200);
    // JSON numbers are doubles: the 20-digit id reads rounded here, exact in the bytes.
    expect(read.json.payloadValue).toEqual({ order: 1, note: "é", id: Number("12345678901234567890") });
    expect(Buffer.from(read.json.payload as string, "base64").equals(request.body)).toBe(true);
  });

  it("delivers a base64 payload (curl) and a gRPC payload byte for byte", async () => {
    const sent = '{ "order": 2,\n  "spaced": true }';
    const viaJson = await curl(
      "/herald.v1.IngestService/PublishEvent",
      JSON.stringify({
        tenantId: "acme",
        event: { eventType: "order.created", payload: Buffer.from(sent).toString("base64") },
      }),
    );
    expect(viaJson.status).toBe(200);
    const grpcSent = Buffer.from('{"order" : 3}');
    const { event_id } = await ingest.publishEvent(
      { tenant_id: acme.id, event: { event_type: "order.created", payload: grpcSent } },
      acme.publishKey,
    );
    const [a, b] = await Promise.all([deliveryOf(viaJson.json.eventId as string), deliveryOf(event_id)]);
    expect(a.body.toString("utf8")).toBe(sent);
    expect(b.body.equals(grpcSent)).toBe(true);
    expect(verified(a)).toEqual({ order: 2, spaced: true });
    expect(verified(b)).toEqual({ order: 3 });
  });

  it("refuses a payload that is neither an object nor base64, with nothing delivered", async () => {
    const before = receiver.requests.length;
    const scalar = await curl(
      "/herald.v1.IngestService/PublishEvent",
      '{"tenantId":"acme","event":{"eventType":"order.created","payload":42}}',
    );
    expect(scalar.status).toBe(400);
    expect(scalar.json).toEqual({
      code: "invalid_argument",
      message:
        'event.payload: must be a JSON object ("payload": {"order": 1}) or its bytes as a base64 string, not a number',
    });
    const text = await curl(
      "/herald.v1.IngestService/PublishEvent",
      '{"tenantId":"acme","event":{"eventType":"order.created","payload":"{\\"order\\":1}"}}',
    );
    expect(text.status).toBe(400);
    expect(text.json.message).toMatch(/send the JSON object itself/);
    expect(receiver.requests.length).toBe(before);
  });
});

describe("OpenAPI", () => {
  const served = async (service: "ingest" | "routing" | "audit" | "delivery") => {
    const res = await fetch(`${stack.url(service)}/openapi.json`);
    return { status: res.status, body: await res.text() };
  };

  it("serves each service's own valid OpenAPI 3.1 document", async () => {
    const expected = {
      ingest: "herald.v1.IngestService",
      routing: "herald.v1.TenantService",
      audit: "herald.v1.AuditService",
    } as const;
    for (const [service, typeName] of Object.entries(expected)) {
      const { status, body } = await served(service as keyof typeof expected);
      expect(status, service).toBe(200);
      const doc = JSON.parse(body) as { openapi: string; paths: Record<string, unknown> };
      expect(doc.openapi).toBe("3.1.0");
      expect(
        Object.keys(doc.paths).some((p) => p.startsWith(`/${typeName}/`)),
        service,
      ).toBe(true);
      const result = await validate(doc as never);
      expect(result.valid, service).toBe(true);
    }
    expect((await served("delivery")).status).toBe(404);
  });

  it("runs the served example request with curl, and the receiver gets its payload", async () => {
    const doc = JSON.parse((await served("ingest")).body) as {
      paths: Record<
        string,
        { post: { requestBody: { content: { "application/json": { example: unknown } } } } }
      >;
    };
    const path = "/herald.v1.IngestService/PublishEvent";
    const example = doc.paths[path]?.post.requestBody.content["application/json"].example;
    const { status, json } = await curl(path, JSON.stringify(example));
    expect(status).toBe(200);
    const request = await deliveryOf(json.eventId as string);
    expect(request.body.toString("utf8")).toBe('{"order":1}');
    expect(verified(request)).toEqual({ order: 1 });
  });
});
