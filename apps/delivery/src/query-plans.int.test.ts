import { ensureIndexes } from "@herald/platform";
import { EndpointStore } from "@herald/platform/model";
import { explainRead, recordReads, testEnv } from "@herald/platform/testing";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EndpointLimits, endpointLimitIndexes } from "./endpoint-limits.js";
import { listenIndexes } from "./listen/listen-expiry.js";

// Every read of the endpoint limits, explained: an index (or an _id key range) serves each, on
// MongoDB and on the embedded server (issue 23).
const env = testEnv();
const client = new MongoClient(env.MONGO_URL as string, { monitorCommands: true });

beforeAll(async () => {
  await client.connect();
  await ensureIndexes(client.db(env.MONGO_DB), endpointLimitIndexes);
});

afterAll(async () => {
  await client.db(env.MONGO_DB).dropDatabase();
  await client.close();
});

describe("the endpoint limits' reads use an index", () => {
  it("the rate log, the concurrency slots and the sweep", async () => {
    const limits = new EndpointLimits(client.db(env.MONGO_DB), { leaseMs: 30_000 });
    const reads = await recordReads(client, async () => {
      for (let i = 0; i < 3; i++) {
        const admitted = await limits.admit("ep1", { perSecond: 2, maxConcurrency: 2 });
        if ("admission" in admitted) await admitted.admission.release();
      }
      await limits.sweep();
    });
    expect(reads.length).toBeGreaterThan(3);
    const plans = await Promise.all(reads.map((read) => explainRead(client, read)));
    expect(plans.filter((p) => !p.usesIndex).map((p) => ({ read: p.read, plan: p.plan }))).toEqual([]);
  });
});

describe("the idle listen endpoints' sweep uses an index", () => {
  it("finds and deletes the endpoints idle past the expiry", async () => {
    const db = client.db(env.MONGO_DB);
    await ensureIndexes(db, listenIndexes);
    const store = new EndpointStore(db);
    const old = new Date(Date.now() - 60_000);
    await db
      .collection("endpoints")
      .insertOne({ _id: "ep_idle" as never, tenant_id: "t", listen: { key_id: "k" }, listen_seen_time: old });
    const reads = await recordReads(client, async () => {
      const idle = await store.idleListenEndpoints(new Date(), 100);
      for (const endpoint of idle) await store.deleteIdleListen(endpoint, new Date());
    });
    expect(await db.collection("endpoints").countDocuments()).toBe(0);
    const plans = await Promise.all(reads.map((read) => explainRead(client, read)));
    expect(plans.filter((p) => !p.usesIndex).map((p) => ({ read: p.read, plan: p.plan }))).toEqual([]);
  });
});
