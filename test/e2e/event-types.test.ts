import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./support/clients.js";
import { createEndpoint, createTenant, type TestTenant } from "./support/fixtures.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { type Stack, startStack } from "./support/stack.js";

// The event type catalog end to end: types created over Connect JSON as curl sends it, events published
// over gRPC and Connect JSON; payloads failing the schema, unknown types and another tenant's reads are
// refused with the right code, and only the valid events reach the endpoint (subscribed by wildcard).

let stack: Stack;
let ingest: GrpcIngestClient;
let shop: TestTenant;
let other: TestTenant;
let receiver: Receiver;

const SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["order"],
  properties: { order: { type: "integer", minimum: 1 }, email: { type: "string", format: "email" } },
};

/** A Connect unary call with a JSON body, as `curl -H 'content-type: application/json' -d …` makes it. */
async function connectJson(
  url: string,
  token: string,
  body: object,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const routingCall = (method: string, token: string, body: object) =>
  connectJson(`${stack.url("routing")}/herald.v1.EventTypeService/${method}`, token, body);

const publishJson = (token: string, eventType: string, payload: object) =>
  connectJson(`${stack.url("ingest")}/herald.v1.IngestService/PublishEvent`, token, {
    tenantId: shop.id,
    event: { eventType, payload: Buffer.from(JSON.stringify(payload)).toString("base64") },
  });

const publishGrpc = (eventType: string, payload: object) =>
  ingest.publishEvent(
    { tenant_id: shop.id, event: { event_type: eventType, payload: Buffer.from(JSON.stringify(payload)) } },
    shop.publishKey,
  );

beforeAll(async () => {
  stack = await startStack();
  ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
  shop = await createTenant(stack, "shop", { refuseUnknownEventTypes: true });
  other = await createTenant(stack, "other");
  receiver = await startReceiver();
  await createEndpoint(shop, receiver.url, { eventTypes: ["order.*"] });
}, 90_000);

afterAll(async () => {
  ingest?.close();
  await receiver?.close();
  await stack?.stop();
});

describe("event type catalog", () => {
  it("creates a type over Connect JSON, refusing a bad schema and a failing example", async () => {
    const created = await routingCall("CreateEventType", shop.fullKey, {
      tenantId: shop.id,
      name: "order.created",
      description: "An order was placed",
      schema: JSON.stringify(SCHEMA),
      examples: ['{"order": 1, "email": "a@example.com"}'],
      validatePayloads: true,
    });
    expect(created.status).toBe(200);
    expect(created.json.eventType).toMatchObject({
      name: "order.created",
      schemaVersion: 1,
      validatePayloads: true,
    });

    const remote = await routingCall("CreateEventType", shop.fullKey, {
      tenantId: shop.id,
      name: "order.remote",
      schema: '{"$ref": "https://example.com/order.json"}',
    });
    expect(remote.status).toBe(400);
    expect(remote.json).toMatchObject({ code: "invalid_argument" });
    expect(remote.json.message).toMatch(
      /^schema: \$ref "https:\/\/example.com\/order.json" at # points outside/,
    );

    const example = await routingCall("CreateEventType", shop.fullKey, {
      tenantId: shop.id,
      name: "order.bad",
      schema: JSON.stringify(SCHEMA),
      examples: ['{"order": 0}'],
    });
    expect(example.status).toBe(400);
    expect(example.json.message).toMatch(/^examples\[0\]: fails the schema at "\/order": must be >= 1/);

    const listed = await routingCall("ListEventTypes", shop.publishKey, { tenantId: shop.id });
    // Herald's built-in operational types ("herald.*") are listed too.
    const names = (listed.json.eventTypes as Array<{ name: string }>).map((t) => t.name);
    expect(names.filter((name) => !name.startsWith("herald."))).toEqual(["order.created"]);
    expect(names).toContain("herald.endpoint.disabled");
  });

  it("refuses another tenant's key", async () => {
    const read = await routingCall("GetEventType", other.fullKey, {
      tenantId: shop.id,
      name: "order.created",
    });
    expect(read.status).toBe(403);
    expect(read.json).toMatchObject({ code: "permission_denied" });
    expect(JSON.stringify(read.json)).not.toContain("An order was placed");
  });

  it("publishes valid payloads over gRPC and Connect JSON, and refuses invalid ones", async () => {
    expect((await publishGrpc("order.created", { order: 1 })).event_id).not.toBe("");
    const viaJson = await publishJson(shop.publishKey, "order.created", { order: 2, email: "b@example.com" });
    expect(viaJson.status).toBe(200);

    const grpcError = await publishGrpc("order.created", { order: "one" }).then(
      () => undefined,
      (err: grpc.ServiceError) => err,
    );
    expect(grpcError?.code).toBe(3); // INVALID_ARGUMENT
    expect(grpcError?.details).toBe(
      'event.payload: fails the schema of event type "order.created" (version 1) at "/order": must be integer (rule "type" at #/properties/order/type)',
    );

    const jsonError = await publishJson(shop.publishKey, "order.created", {
      order: 3,
      email: "not-an-email",
    });
    expect(jsonError.status).toBe(400);
    expect(jsonError.json).toMatchObject({ code: "invalid_argument" });
    expect(jsonError.json.message).toMatch(/at "\/email": must match format "email" \(rule "format"/);

    const unknown = await publishJson(shop.publishKey, "order.refunded", { order: 4 });
    expect(unknown.json).toMatchObject({ code: "failed_precondition" });
    expect(unknown.json.message).toMatch(/"order.refunded" is not in tenant "shop"'s event type catalog/);

    const notJson = await connectJson(
      `${stack.url("ingest")}/herald.v1.IngestService/PublishEvent`,
      shop.publishKey,
      {
        tenantId: shop.id,
        event: { eventType: "order.created", payload: Buffer.from("order=5").toString("base64") },
      },
    );
    expect(notJson.json).toMatchObject({ code: "invalid_argument" });
    expect(notJson.json.message).toMatch(/^event.payload: is not valid JSON/);

    // Only the two valid events were delivered (the endpoint takes every order.* event).
    const requests = await receiver.waitFor(2);
    expect(requests.map((r) => JSON.parse(r.body.toString()).order).sort()).toEqual([1, 2]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(receiver.requests).toHaveLength(2);
  });
});
