import { connectMongo, type MongoHandle, testEnv } from "@herald/platform/testing";
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
  it("admits at most the rate in any one second across instances, a sliding window", async () => {
    let now = 1_700_000_000_250;
    const a = new EndpointLimits(mongo.db, { leaseMs: 30_000, now: () => now });
    const b = new EndpointLimits(mongo.db, { leaseMs: 30_000, now: () => now });
    const limits = { perSecond: 3, maxConcurrency: 0 };
    const results = await Promise.all([a, b, a, b, a].map((l) => l.admit("ep_rate", limits)));
    expect(results.filter((r) => "admission" in r)).toHaveLength(3);
    expect(results.filter((r) => "waitMs" in r).map((r) => (r as { waitMs: number }).waitMs)).toEqual([
      1_000, 1_000,
    ]);
    // A fixed window would open at the next whole second (750 ms later); a sliding one waits until the
    // first of the three is a second old.
    now += 750;
    expect(await a.admit("ep_rate", limits)).toEqual({ waitMs: 250 });
    now += 250;
    for (const l of [a, b, a]) expect("admission" in (await l.admit("ep_rate", limits))).toBe(true);
    expect(await b.admit("ep_rate", limits)).toEqual({ waitMs: 1_000 });
    // Other endpoints have their own budget.
    expect("admission" in (await b.admit("ep_other", { perSecond: 1, maxConcurrency: 0 }))).toBe(true);
  });

  it("spaces admissions so no second ever holds more than the rate", async () => {
    let now = 1_750_000_000_000;
    const l = new EndpointLimits(mongo.db, { leaseMs: 30_000, now: () => now });
    const admitted: number[] = [];
    // Ask every 100 ms for 5 s, as parked tasks coming back would.
    for (let step = 0; step < 50; step++, now += 100) {
      if ("admission" in (await l.admit("ep_spaced", { perSecond: 2, maxConcurrency: 0 })))
        admitted.push(now);
    }
    expect(admitted.length).toBeGreaterThanOrEqual(9);
    for (let i = 2; i < admitted.length; i++)
      expect((admitted[i] as number) - (admitted[i - 2] as number)).toBeGreaterThanOrEqual(1_000);
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

  it("sweeps log entries too old to matter, and starts the log afresh", async () => {
    let now = 1_800_000_000_000;
    const l = new EndpointLimits(mongo.db, { leaseMs: 1_000, now: () => now });
    const limits = { perSecond: 1, maxConcurrency: 0 };
    expect("admission" in (await l.admit("ep_sweep", limits))).toBe(true);
    const log = mongo.db.collection("rate_limits");
    expect(await log.countDocuments({ endpoint_id: "ep_sweep" })).toBe(1);
    now += 120_000;
    await l.sweep();
    expect(await log.countDocuments({ endpoint_id: "ep_sweep" })).toBe(0);
    expect("admission" in (await l.admit("ep_sweep", limits))).toBe(true);
    expect(await l.admit("ep_sweep", limits)).toEqual({ waitMs: 1_000 });
  });
});
