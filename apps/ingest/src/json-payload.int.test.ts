import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { IngestService, PublishEventRequestSchema } from "@herald/contracts";
import { type RunningService, runService } from "@herald/platform";
import { eventsCollection, eventTypesCollection, tenantsCollection } from "@herald/platform/model";
import { cleanupTestEnv, TEST_ADMIN_KEY, testEnv, testEventType, testTenant } from "@herald/platform/testing";
import { type Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestService } from "./service.js";

// Plain JSON payloads: a Connect JSON caller's object payload is stored (and so signed and delivered) as
// compact JSON; base64 over Connect JSON and bytes over gRPC keep their exact bytes; each bad form is
// refused with INVALID_ARGUMENT and nothing stored.
const env = testEnv();
let ingest: RunningService;
let mongo: MongoClient;
let db: Db;
let base: string;

beforeAll(async () => {
  mongo = await new MongoClient(env.MONGO_URL as string).connect();
  db = mongo.db(env.MONGO_DB);
  await tenantsCollection(db).insertOne(testTenant("acme"));
  await eventTypesCollection(db).insertOne(
    testEventType("acme", "order.checked", {
      schema: JSON.stringify({
        type: "object",
        required: ["order"],
        properties: { order: { type: "integer" } },
      }),
    }),
  );
  ingest = await runService(ingestService, env);
  base = `http://127.0.0.1:${ingest.port}`;
});

afterAll(async () => {
  await ingest?.stop();
  await mongo?.close();
  await cleanupTestEnv(env);
});

/** A Connect JSON call as curl makes it: the body exactly as given. */
async function post(method: string, body: string, key = TEST_ADMIN_KEY) {
  const res = await fetch(`${base}/herald.v1.IngestService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key && { authorization: `Bearer ${key}` }) },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function storedPayload(eventId: string): Promise<string> {
  const doc = await eventsCollection(db).findOne({ _id: eventId });
  if (!doc) throw new Error(`event ${eventId} not stored`);
  return Buffer.from(doc.payload.buffer).toString("utf8");
}

async function refused(method: string, body: string): Promise<string> {
  const before = await eventsCollection(db).countDocuments({ tenant_id: "acme" });
  const { status, json } = await post(method, body);
  expect(status).toBe(400);
  expect(json.code).toBe("invalid_argument");
  expect(await eventsCollection(db).countDocuments({ tenant_id: "acme" })).toBe(before);
  return json.message as string;
}

describe("plain JSON payloads", () => {
  it("stores an object payload as compact JSON, exactly JSON.stringify of it", async () => {
    const { status, json } = await post(
      "PublishEvent",
      '{"tenantId":"acme","event":{"eventType":"order.created","payload": { "order" : 1, "name":"é", "n":[1.50, true] }}}',
    );
    expect(status).toBe(200);
    expect(await storedPayload(json.eventId as string)).toBe('{"order":1,"name":"é","n":[1.5,true]}');
  });

  it("ignores unknown fields beside an object payload, as connect-es does for every body", async () => {
    const { status, json } = await post(
      "PublishEvent",
      '{"tenantId":"acme","newer":1,"event":{"eventType":"order.created","payload":{"order":9},"later":"x"}}',
    );
    expect(status).toBe(200);
    expect(await storedPayload(json.eventId as string)).toBe('{"order":9}');
  });

  it("keeps the text of a number a double cannot hold", async () => {
    const { json } = await post(
      "PublishEvent",
      '{"tenantId":"acme","event":{"eventType":"order.created","payload":{"id":12345678901234567890}}}',
    );
    expect(await storedPayload(json.eventId as string)).toBe('{"id":12345678901234567890}');
  });

  it("keeps the exact bytes of a base64 payload over Connect JSON", async () => {
    const sent = '{ "order": 2,\n  "spaced": true }';
    const { status, json } = await post(
      "PublishEvent",
      JSON.stringify({
        tenantId: "acme",
        event: { eventType: "order.created", payload: Buffer.from(sent).toString("base64") },
      }),
    );
    expect(status).toBe(200);
    expect(await storedPayload(json.eventId as string)).toBe(sent);
  });

  it("keeps the exact bytes over gRPC, and takes payload_json text there too", async () => {
    const client = createClient(
      IngestService,
      createGrpcTransport({
        baseUrl: base,
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${TEST_ADMIN_KEY}`);
            return next(req);
          },
        ],
      }),
    );
    const sent = '{"order": 3 }';
    const bytes = await client.publishEvent({
      tenantId: "acme",
      event: { eventType: "order.created", payload: new TextEncoder().encode(sent) },
    });
    expect(await storedPayload(bytes.eventId)).toBe(sent);
    const text = await client.publishEvent({
      tenantId: "acme",
      event: { eventType: "order.created", payloadJson: '{"order": 4}' },
    });
    expect(await storedPayload(text.eventId)).toBe('{"order": 4}');
    const both = await client
      .publishEvent({
        tenantId: "acme",
        event: { eventType: "order.created", payload: new TextEncoder().encode("{}"), payloadJson: "{}" },
      })
      .catch((err: unknown) => ConnectError.from(err));
    expect(both).toBeInstanceOf(ConnectError);
    expect((both as ConnectError).code).toBe(Code.InvalidArgument);
    expect((both as ConnectError).rawMessage).toMatch(/^event: give the payload once/);
  });

  it("leaves Connect protobuf bodies alone", async () => {
    const body = toBinary(
      PublishEventRequestSchema,
      create(PublishEventRequestSchema, {
        tenantId: "acme",
        event: { eventType: "order.created", payload: new TextEncoder().encode('{ "order": 5 }') },
      }),
    );
    const res = await fetch(`${base}/herald.v1.IngestService/PublishEvent`, {
      method: "POST",
      headers: { "content-type": "application/proto", authorization: `Bearer ${TEST_ADMIN_KEY}` },
      body,
    });
    expect(res.status).toBe(200);
  });

  it("publishes a batch mixing object and base64 payloads", async () => {
    const { status, json } = await post(
      "PublishEvents",
      JSON.stringify({
        tenantId: "acme",
        events: [
          { eventType: "order.created", payload: { order: 6 } },
          { eventType: "order.created", payload: Buffer.from('{"order": 7}').toString("base64") },
        ],
      }),
    );
    expect(status).toBe(200);
    const results = json.results as { eventId: string }[];
    expect(await storedPayload(results[0]?.eventId as string)).toBe('{"order":6}');
    expect(await storedPayload(results[1]?.eventId as string)).toBe('{"order": 7}');
  });

  it("checks an object payload against its type's schema like bytes", async () => {
    expect(
      await refused(
        "PublishEvent",
        '{"tenantId":"acme","event":{"eventType":"order.checked","payload":{"order":"one"}}}',
      ),
    ).toMatch(
      /^event.payload: fails the schema of event type "order.checked" .* at "\/order": must be integer/,
    );
    const { status } = await post(
      "PublishEvent",
      '{"tenantId":"acme","event":{"eventType":"order.checked","payload":{"order":8}}}',
    );
    expect(status).toBe(200);
  });

  it.each([
    [
      '{"tenantId":"acme","event":{"eventType":"o.c","payload":42}}',
      /^event.payload: must be a JSON object .* not a number/,
    ],
    [
      '{"tenantId":"acme","event":{"eventType":"o.c","payload":"{\\"order\\":1}"}}',
      /^event.payload: a string is read as the payload's bytes in base64/,
    ],
    [
      '{"tenantId":"acme","event":{"eventType":"o.c","payload":{"a":1},"payloadJson":"{}"}}',
      /^event: give the payload once/,
    ],
    [
      '{"tenantId":"acme","event":{"eventType":"o.c","payload":[1,2]}}',
      /^event.payload: must be a JSON object, not an array/,
    ],
    [
      '{"tenantId":"acme","event":{"eventType":"o.c","payload":"bm90IGpzb24="}}',
      /^event.payload: is not valid JSON/,
    ],
    [
      '{"tenantId":"acme","event":{"eventType":"o.c","payload":{"a":1}}',
      /cannot decode message herald.v1.PublishEventRequest from JSON/,
    ],
  ])("refuses %s", async (body, message) => {
    expect(await refused("PublishEvent", body)).toMatch(message);
  });

  it("refuses a batch with a malformed payload whole, naming the event", async () => {
    expect(
      await refused(
        "PublishEvents",
        '{"tenantId":"acme","events":[{"eventType":"o.c","payload":{}},{"eventType":"o.c","payload":true}]}',
      ),
    ).toMatch(/^events\[1\].payload: must be a JSON object/);
  });

  it("still asks for a key first", async () => {
    const { status, json } = await post(
      "PublishEvent",
      '{"tenantId":"acme","event":{"eventType":"o.c","payload":{"a":1}}}',
      "",
    );
    expect(status).toBe(401);
    expect(json.code).toBe("unauthenticated");
  });

  it("serves its OpenAPI description on GET /openapi.json", async () => {
    const res = await fetch(`${base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual([
      "/herald.v1.IngestService/PublishEvent",
      "/herald.v1.IngestService/PublishEvents",
    ]);
  });
});
