import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { IngestService } from "@herald/contracts";
import { type RunningService, runService } from "@herald/platform";
import { tenantsCollection } from "@herald/platform/model";
import { cleanupTestEnv, TEST_ADMIN_KEY, testEnv, testTenant } from "@herald/platform/testing";
import { type Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoRateBudgetStore } from "./rate-budget-store.js";
import { RateLimiter } from "./rate-limiter.js";
import { ingestService } from "./service.js";

// Two ingest instances on one database, as two replicas would run: a tenant's limit holds for both
// together, and a batch larger than the limit is refused as invalid rather than "retry later".
const env = testEnv();
const RATE = 20;
let instances: RunningService[] = [];
let mongo: MongoClient;
let db: Db;

beforeAll(async () => {
  instances = [await runService(ingestService, env), await runService(ingestService, env)];
  mongo = new MongoClient(env.MONGO_URL as string);
  db = mongo.db(env.MONGO_DB);
  const now = new Date();
  await tenantsCollection(db).insertOne(
    testTenant("limited", { name: "Limited", create_time: now, settings: { rate_limit_per_second: RATE } }),
  );
});

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  await mongo?.close();
  await cleanupTestEnv(env);
});

function ingestClient(port: number): Client<typeof IngestService> {
  const transport = createConnectTransport({
    baseUrl: `http://127.0.0.1:${port}`,
    httpVersion: "1.1",
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${TEST_ADMIN_KEY}`);
        return next(req);
      },
    ],
  });
  return createClient(IngestService, transport);
}

const events = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    eventType: "a.b",
    payload: new TextEncoder().encode(`{"i":${i}}`),
  }));

describe("tenant rate limits across ingest instances", () => {
  it("admit no more than the limit per second with both instances together", async () => {
    const clients = instances.map((i) => ingestClient(i.port));
    const firstSecond = Math.floor(Date.now() / 1000);
    let admitted = 0;
    let refused = 0;
    for (let call = 0; call < 20; call++) {
      const client = clients[call % 2] as Client<typeof IngestService>;
      try {
        const res = await client.publishEvents({ tenantId: "limited", events: events(5) });
        admitted += res.results.filter((r) => r.eventId !== "").length;
      } catch (err) {
        expect(ConnectError.from(err).code).toBe(Code.ResourceExhausted);
        expect(ConnectError.from(err).rawMessage).toMatch(/limit of 20 events\/s; retry after \d+ ms/);
        refused++;
      }
    }
    const seconds = Math.floor(Date.now() / 1000) - firstSecond + 1;
    expect(refused).toBeGreaterThan(0);
    // Per instance, each would admit the whole limit in every second the run spanned.
    expect(admitted).toBeLessThanOrEqual(RATE * seconds);
    expect(admitted).toBeGreaterThan(0);
  });

  it("refuse a batch larger than the limit as INVALID_ARGUMENT, naming the limit and the batch", async () => {
    const client = ingestClient(instances[0]?.port ?? 0);
    for (let attempt = 0; attempt < 3; attempt++) {
      const err = await client
        .publishEvents({ tenantId: "limited", events: events(RATE + 1) })
        .catch((e) => e);
      expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
      expect(ConnectError.from(err).rawMessage).toBe(
        `events: 21 events in one call is over tenant "limited"'s limit of 20 events/s; send at most 20 per call`,
      );
    }
    // A batch of exactly the limit is admitted once the second's budget is free again.
    await new Promise((resolve) => setTimeout(resolve, 1_000 - (Date.now() % 1_000)));
    const res = await client.publishEvents({ tenantId: "limited", events: events(RATE) });
    expect(res.results.every((r) => r.eventId !== "")).toBe(true);
  });
});

describe("RateLimiter on the MongoDB store", () => {
  it("lets two instances together take exactly the budget of one second, and claims each chunk once", async () => {
    let now = Date.parse("2030-01-01T00:00:00.250Z");
    const store = new MongoRateBudgetStore(db, () => now);
    const a = new RateLimiter(store, { now: () => now });
    const b = new RateLimiter(store, { now: () => now });
    const takes = await Promise.all(
      Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).take("shared", 100)),
    );
    expect(takes.filter((w) => w === 0)).toHaveLength(100);
    expect(Math.max(...takes)).toBe(750);
    const claims = db.collection("tenant_rate_budget");
    expect(await claims.countDocuments({ tenant_id: "shared" })).toBe(10);

    now += 1_000;
    expect(await a.take("shared", 100, 100)).toBe(0);
    now += 20_000;
    await store.sweep();
    expect(await claims.countDocuments({ tenant_id: "shared" })).toBe(0);
  });
});
