import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openQueue } from "../amqp/queues.js";
import { shardOf, topologyNames } from "../amqp/topology.js";
import { createLogger } from "../logger.js";
import { ensureIndexes } from "../mongo.js";
import { openTestBroker, type TestBroker, testEnv } from "../testing/index.js";
import { Collections, eventIndexes, eventsCollection } from "./documents.js";
import { OperationalEmitter, type OperationalFact } from "./operational-emitter.js";
import { eventQueue } from "./queues.js";

// The emitter on RabbitMQ and the MongoDB wire server: one fact emitted by two instances (two services,
// or two copies of one), and again, is stored once per tenant and published once.

const env = testEnv();
const names = topologyNames(env.AMQP_NAMESPACE);
const logger = createLogger({ service: "test", level: "silent" });
let broker: TestBroker;
let mongo: MongoClient;

beforeAll(async () => {
  broker = await openTestBroker(env, [1_000]);
  mongo = new MongoClient(env.MONGO_URL as string);
  await ensureIndexes(mongo.db(env.MONGO_DB), eventIndexes);
});

afterAll(async () => {
  await broker?.close();
  await mongo?.close();
});

function emitter(publish = openQueue(eventQueue, { ...broker, names, logger }).publish): OperationalEmitter {
  return new OperationalEmitter({
    db: mongo.db(env.MONGO_DB),
    events: { publish },
    operatorTenantId: "ops",
    logger,
  });
}

const disabled: OperationalFact<"herald.endpoint.disabled"> = {
  type: "herald.endpoint.disabled",
  tenantId: "acme",
  key: "ep_1:2026-12-06T08:00:00.000Z",
  data: { endpoint_id: "ep_1", endpoint_url: "https://hooks.example.com/in", reason: "gone" },
  time: new Date("2026-12-06T08:00:01.000Z"),
};

/** Messages ready in the event queue's shard of `tenantId`. */
async function readyFor(tenantId: string): Promise<number> {
  const queue = names.shardQueue(names.queues.routingEvents, shardOf(tenantId));
  return (await broker.rabbit.queueDeclare({ queue, passive: true })).messageCount;
}

describe("OperationalEmitter", () => {
  it("stores and publishes a fact once per tenant, however many instances emit it, with the operator's copy", async () => {
    const [a, b] = [emitter(), emitter()];
    await Promise.all([a.emit(disabled), b.emit(disabled), a.emit(disabled)]);
    await b.emit(disabled);

    const events = await eventsCollection(mongo.db(env.MONGO_DB))
      .find({ event_type: "herald.endpoint.disabled" })
      .toArray();
    expect(events.map((e) => [e.tenant_id, e.dedupe_key]).sort()).toEqual([
      ["acme", "herald:endpoint.disabled:ep_1:2026-12-06T08:00:00.000Z"],
      ["ops", "herald:endpoint.disabled:acme:ep_1:2026-12-06T08:00:00.000Z"],
    ]);
    expect(events.every((e) => e.published)).toBe(true);
    for (const event of events) {
      expect(JSON.parse(Buffer.from(event.payload.buffer).toString())).toEqual({
        tenant_id: "acme",
        time: "2026-12-06T08:00:01.000Z",
        endpoint_id: "ep_1",
        endpoint_url: "https://hooks.example.com/in",
        reason: "gone",
      });
    }
    // One message each way (both in one shard when the tenants share it); no marker left for the sweep.
    const sameShard = shardOf("acme") === shardOf("ops");
    expect(await readyFor("acme")).toBe(sameShard ? 2 : 1);
    if (!sameShard) expect(await readyFor("ops")).toBe(1);
    expect(await mongo.db(env.MONGO_DB).collection(Collections.unpublishedEvents).countDocuments()).toBe(0);
  });

  it("never throws: a fact whose publish failed stays stored with its marker, for ingest's sweep", async () => {
    const failing = emitter(async () => {
      throw new Error("broker gone");
    });
    const fact = { ...disabled, tenantId: "other", key: "ep_2:2026-12-06T09:00:00.000Z" };
    await expect(failing.emit(fact)).resolves.toBeUndefined();
    const stored = await eventsCollection(mongo.db(env.MONGO_DB)).findOne({ tenant_id: "other" });
    expect(stored?.published).toBe(false);
    const marker = await mongo
      .db(env.MONGO_DB)
      .collection(Collections.unpublishedEvents)
      .findOne({ event_ids: stored?._id });
    expect(marker).not.toBeNull();
  });
});
