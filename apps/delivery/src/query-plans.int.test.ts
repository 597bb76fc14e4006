import { ensureIndexes } from "@herald/platform";
import { explainRead, recordReads, testEnv } from "@herald/platform/testing";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EndpointLimits, endpointLimitIndexes } from "./endpoint-limits.js";

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
