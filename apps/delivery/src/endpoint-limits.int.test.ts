import { connectMongo, type MongoHandle } from "@herald/platform";
import { testEnv } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EndpointLimits } from "./endpoint-limits.js";

const env = testEnv();
let mongo: MongoHandle;

beforeAll(async () => {
  mongo = await connectMongo(env.MONGO_URL as string, env.MONGO_DB as string, "limits-test", 10_000);
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.client.close();
});

describe("EndpointLimits (shared through MongoDB)", () => {
  it("admits at most the rate per second across instances", async () => {
    let now = 1_700_000_000_250;
    const a = new EndpointLimits(mongo.db, { leaseMs: 30_000, now: () => now });
    const b = new EndpointLimits(mongo.db, { leaseMs: 30_000, now: () => now });
    const results = await Promise.all(
      [a, b, a, b, a].map((l) => l.admit("ep_rate", { perSecond: 3, maxConcurrency: 0 })),
    );
    expect(results.filter((r) => "admission" in r)).toHaveLength(3);
    expect(results.filter((r) => "waitMs" in r).map((r) => (r as { waitMs: number }).waitMs)).toEqual([
      750, 750,
    ]);
    now += 1_000;
    expect("admission" in (await a.admit("ep_rate", { perSecond: 3, maxConcurrency: 0 }))).toBe(true);
    // Other endpoints have their own budget.
    expect("admission" in (await b.admit("ep_other", { perSecond: 1, maxConcurrency: 0 }))).toBe(true);
  });

  it("leases at most max-concurrency slots across instances, and frees them on release", async () => {
    const a = new EndpointLimits(mongo.db, { leaseMs: 30_000 });
    const b = new EndpointLimits(mongo.db, { leaseMs: 30_000 });
    const limits = { perSecond: 0, maxConcurrency: 2 };
    const first = await a.admit("ep_conc", limits);
    const second = await b.admit("ep_conc", limits);
    const third = await a.admit("ep_conc", limits);
    expect([first, second].map((r) => Object.keys(r))).toEqual([["admission"], ["admission"]]);
    expect(third).toEqual({ waitMs: 250 });
    if ("admission" in first) await first.admission.release();
    expect("admission" in (await b.admit("ep_conc", limits))).toBe(true);
  });

  it("takes back the slot of an instance that died holding it, once its lease expired", async () => {
    let now = Date.now();
    const crashed = new EndpointLimits(mongo.db, { leaseMs: 1_000, now: () => now });
    const limits = { perSecond: 0, maxConcurrency: 1 };
    expect("admission" in (await crashed.admit("ep_lease", limits))).toBe(true);
    const survivor = new EndpointLimits(mongo.db, { leaseMs: 1_000, now: () => now });
    expect("waitMs" in (await survivor.admit("ep_lease", limits))).toBe(true);
    now += 1_500;
    expect("admission" in (await survivor.admit("ep_lease", limits))).toBe(true);
  });

  it("sweeps ended rate windows", async () => {
    let now = 1_800_000_000_000;
    const l = new EndpointLimits(mongo.db, { leaseMs: 1_000, now: () => now });
    await l.admit("ep_sweep", { perSecond: 5, maxConcurrency: 0 });
    const windows = mongo.db.collection("rate_limits");
    expect(await windows.countDocuments({ window: { $regex: "^ep_sweep:" } })).toBe(1);
    now += 120_000;
    await l.sweep();
    expect(await windows.countDocuments({ window: { $regex: "^ep_sweep:" } })).toBe(0);
  });
});
