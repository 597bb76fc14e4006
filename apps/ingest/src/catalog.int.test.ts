import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { IngestService } from "@herald/contracts";
import { ProtoPublisher, type RunningService, runService, topologyNames } from "@herald/platform";
import {
  type EventTypeDocument,
  eventsCollection,
  eventTypeId,
  eventTypesCollection,
  publishControlChange,
  type TenantDocument,
  tenantsCollection,
} from "@herald/platform/model";
import { cleanupTestEnv, TEST_ADMIN_KEY, testEnv, testEventType, testTenant } from "@herald/platform/testing";
import { type Db, MongoClient } from "mongodb";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ingestService } from "./service.js";

// Ingest against a tenant's event type catalog as routing stores it: payloads failing the schema, and
// types the tenant refuses, are refused with nothing stored; a catalog change announced on herald.control
// takes effect at once.
const env = testEnv();
let ingest: RunningService;
let mongo: MongoClient;
let db: Db;
let rabbit: Connection;
let publisher: ProtoPublisher;
let client: Client<typeof IngestService>;

const ORDER_SCHEMA = JSON.stringify({
  type: "object",
  required: ["id"],
  properties: { id: { type: "integer" }, lines: { type: "array", items: { $ref: "#/$defs/line" } } },
  $defs: { line: { type: "object", required: ["sku"], properties: { sku: { type: "string" } } } },
});

const tenant = (id: string, settings: Partial<TenantDocument["settings"]> = {}) =>
  testTenant(id, { settings });

const eventType = (tenantId: string, name: string, fields: Partial<EventTypeDocument> = {}) =>
  testEventType(tenantId, name, { schema: ORDER_SCHEMA, ...fields });

beforeAll(async () => {
  mongo = await new MongoClient(env.MONGO_URL as string).connect();
  db = mongo.db(env.MONGO_DB);
  await tenantsCollection(db).insertMany([
    tenant("open"),
    tenant("strict", { refuse_unknown_event_types: true }),
    tenant("checks-all", { validate_payloads: true }),
  ]);
  await eventTypesCollection(db).insertMany([
    eventType("open", "order.created"),
    eventType("open", "order.loose", { validate_payloads: false }),
    eventType("strict", "order.created", { schema: "", validate_payloads: false }),
    eventType("strict", "order.old", { schema: "", validate_payloads: false, archived: true }),
    eventType("checks-all", "order.created", { validate_payloads: false }),
  ]);
  ingest = await runService(ingestService, env);
  rabbit = new Connection(env.AMQP_URL);
  publisher = new ProtoPublisher(rabbit);
  client = createClient(
    IngestService,
    createConnectTransport({
      baseUrl: `http://127.0.0.1:${ingest.port}`,
      httpVersion: "1.1",
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${TEST_ADMIN_KEY}`);
          return next(req);
        },
      ],
    }),
  );
});

afterAll(async () => {
  await ingest?.stop();
  await publisher?.close();
  await rabbit?.close();
  await mongo?.close();
  await cleanupTestEnv(env);
});

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

async function refusal(tenantId: string, eventType: string, payload: Uint8Array): Promise<ConnectError> {
  const before = await eventsCollection(db).countDocuments({ tenant_id: tenantId });
  try {
    await client.publishEvent({ tenantId, event: { eventType, payload } });
  } catch (err) {
    expect(await eventsCollection(db).countDocuments({ tenant_id: tenantId })).toBe(before);
    return ConnectError.from(err);
  }
  throw new Error("published");
}

describe("ingest against the event type catalog", () => {
  it("publishes payloads that pass the schema, and types without checks or catalog", async () => {
    for (const [tenantId, type, payload] of [
      ["open", "order.created", { id: 1, lines: [{ sku: "A" }] }],
      ["open", "order.loose", { id: "not checked" }],
      ["open", "not.catalogued", { anything: true }],
      ["strict", "order.created", { id: "no schema" }],
      ["checks-all", "not.catalogued", { any: 1 }],
    ] as const) {
      const res = await client.publishEvent({ tenantId, event: { eventType: type, payload: json(payload) } });
      expect(res.eventId).not.toBe("");
    }
  });

  it("refuses a payload failing the schema, naming the JSON path and the rule", async () => {
    const err = await refusal("open", "order.created", json({ id: 1, lines: [{ sku: 5 }] }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe(
      'event.payload: fails the schema of event type "order.created" (version 1) at "/lines/0/sku": must be string (rule "type" at #/properties/sku/type)',
    );
    const missing = await refusal("open", "order.created", json({}));
    expect(missing.rawMessage).toMatch(
      /at "\/": must have required property 'id' \(rule "required" at #\/required\)/,
    );
  });

  it("checks every type with a schema when the tenant asks", async () => {
    const err = await refusal("checks-all", "order.created", json({ id: "x" }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^event.payload: fails the schema .* at "\/id": must be integer/);
  });

  it("refuses unknown and archived types when the tenant refuses unknown types", async () => {
    const unknown = await refusal("strict", "order.deleted", json({ id: 1 }));
    expect(unknown.code).toBe(Code.FailedPrecondition);
    expect(unknown.rawMessage).toMatch(
      /event.event_type: "order.deleted" is not in tenant "strict"'s event type catalog, and the tenant refuses unknown types; create it \(herald event-types create\)/,
    );
    const archived = await refusal("strict", "order.old", json({ id: 1 }));
    expect(archived.code).toBe(Code.FailedPrecondition);
    expect(archived.rawMessage).toMatch(/"order.old" is archived in tenant "strict"'s event type catalog/);
  });

  it("refuses each bad event of a batch on its own", async () => {
    const res = await client.publishEvents({
      tenantId: "open",
      events: [
        { eventType: "order.created", payload: json({ id: 2 }) },
        { eventType: "order.created", payload: json({ id: 2.5 }) },
      ],
    });
    expect(res.results[0]?.eventId).not.toBe("");
    expect(res.results[1]).toMatchObject({ eventId: "", errorCode: "INVALID_ARGUMENT" });
    expect(res.results[1]?.errorMessage).toMatch(
      /^events\[1\].payload: fails the schema .* at "\/id": must be integer/,
    );
  });

  it("applies a schema change announced on herald.control at once", async () => {
    // Cached as version 1 by the tests above.
    expect((await refusal("open", "order.created", json({ id: "x" }))).code).toBe(Code.InvalidArgument);
    await eventTypesCollection(db).updateOne(
      { _id: eventTypeId("open", "order.created") },
      { $set: { schema: '{"type":"object","required":["sku"]}' }, $inc: { schema_version: 1 } },
    );
    await publishControlChange(publisher, topologyNames(env.AMQP_NAMESPACE), "open", "", "", "order.created");
    await vi.waitFor(
      async () => {
        const res = await client.publishEvent({
          tenantId: "open",
          event: { eventType: "order.created", payload: json({ sku: "A" }) },
        });
        expect(res.eventId).not.toBe("");
      },
      { timeout: 2_000, interval: 50 },
    );
    expect((await refusal("open", "order.created", json({ id: 1 }))).rawMessage).toMatch(
      /\(version 2\) at "\/": must have required property 'sku'/,
    );
  });
});
