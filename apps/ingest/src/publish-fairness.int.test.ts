import { createLogger, ensureIndexes, openQueue, topologyNames } from "@herald/platform";
import { eventQueue } from "@herald/platform/model";
import {
  connectMongo,
  type MongoHandle,
  openTestBroker,
  type TestBroker,
  testEnv,
} from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventPublisher } from "./event-publisher.js";
import { EventStore, eventIndexes } from "./event-store.js";
import { type PublishDeps, publishEvent } from "./publish-event.js";
import { TenantGate } from "./tenant-gate.js";

const env = testEnv();
const names = topologyNames(env.AMQP_NAMESPACE);
const logger = createLogger({ service: "test", level: "silent" });
let mongo: MongoHandle;
let broker: TestBroker;

beforeAll(async () => {
  mongo = await connectMongo(env.MONGO_URL as string, env.MONGO_DB as string, "ingest-fairness-test", 10_000);
  await ensureIndexes(mongo.db, eventIndexes);
  broker = await openTestBroker(env, [1_000]);
});

afterAll(async () => {
  await broker?.close();
  await mongo?.db.dropDatabase();
  await mongo?.client.close();
});

const event = (n: number) => ({
  eventType: "order.created",
  payload: new TextEncoder().encode(`{"n":${n}}`),
  idempotencyKey: "",
  channels: [],
});

describe("publishing while one tenant floods", () => {
  it("answers a quiet tenant's calls before the flood's first 20%, stored in FerretDB and confirmed by RabbitMQ", async () => {
    // Rounds of 50 events and a bound of 200 events per tenant, as ingest's writer and tenant gate
    // would be configured: the flood's 40 calls of 25 are all made before the quiet tenant's 20.
    const deps: PublishDeps = {
      events: new EventStore(mongo.db, { gatherMs: 0, maxBatch: 50 }),
      publish: eventPublisher(openQueue(eventQueue, { ...broker, names, logger })),
      now: () => new Date(),
    };
    const gate = new TenantGate(200);
    const answered: string[] = [];
    const call = async (tenantId: string, events: number, first: number) => {
      const release = await gate.acquire(tenantId, events);
      try {
        await Promise.all(
          Array.from({ length: events }, (_, i) => publishEvent(deps, tenantId, event(first + i))),
        );
      } finally {
        release();
      }
      for (let i = 0; i < events; i++) answered.push(tenantId);
    };
    const flood = Array.from({ length: 40 }, (_, n) => call("flood-tenant", 25, n * 25));
    const quiet = Array.from({ length: 20 }, (_, n) => call("quiet-tenant", 1, n));
    await Promise.all([...flood, ...quiet]);

    expect(answered).toHaveLength(1_020);
    const lastQuiet = answered.lastIndexOf("quiet-tenant");
    const floodBefore = answered.slice(0, lastQuiet).filter((t) => t === "flood-tenant").length;
    // A single FIFO writer would have stored all 1,000 of the flood's first.
    expect(floodBefore).toBeLessThan(200);
    const stored = await mongo.db.collection("events").countDocuments({
      tenant_id: { $in: ["flood-tenant", "quiet-tenant"] },
    });
    expect(stored).toBe(1_020);
  });
});
