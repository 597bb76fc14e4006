import type { Collection } from "mongodb";
import { describe, expect, it } from "vitest";
import { keeps, pauseAfter, purgeInBatches, purgeOlderThan } from "./purge-batches.js";

describe("pauseAfter", () => {
  it("keeps deletes to the given share of the time", () => {
    // 50 ms of delete at a 20% share: 200 ms of pause, so deleting fills 50 of every 250 ms.
    expect(pauseAfter(50, 10, 0.2)).toBe(200);
    expect(pauseAfter(50, 10, 0.5)).toBe(50);
  });

  it("never pauses less than the configured minimum", () => {
    expect(pauseAfter(1, 200, 0.2)).toBe(200);
    expect(pauseAfter(0, 200, 0.2)).toBe(200);
  });

  it("uses only the minimum when the share is 1 (no pacing)", () => {
    expect(pauseAfter(1_000, 200, 1)).toBe(200);
  });

  it("backs off as deletes slow down", () => {
    expect(pauseAfter(400, 200, 0.2)).toBeGreaterThan(pauseAfter(100, 200, 0.2));
  });
});

describe("purgeInBatches", () => {
  /** A collection of `count` ids whose reads take 100 ms and deletes 50 ms on a fake clock. */
  function fakeCollection(count: number) {
    let clock = 0;
    let ids = Array.from({ length: count }, (_, i) => `d${i}`);
    const calls: string[] = [];
    const collection = {
      find: () => ({
        limit: (n: number) => ({
          toArray: async () => {
            clock += 100;
            calls.push(`read ${Math.min(n, ids.length)}`);
            return ids.slice(0, n).map((_id) => ({ _id }));
          },
        }),
      }),
      deleteMany: async (filter: { _id: { $in: string[] } }) => {
        clock += 50;
        const gone = new Set(filter._id.$in);
        const before = ids.length;
        ids = ids.filter((id) => !gone.has(id));
        calls.push(`delete ${before - ids.length}`);
        return { deletedCount: before - ids.length };
      },
    };
    const pauses: number[] = [];
    const sleep = async (ms: number) => {
      pauses.push(ms);
      calls.push(`pause ${ms}`);
      clock += ms;
    };
    return {
      collection: collection as unknown as Collection<{ _id: string }>,
      calls,
      pauses,
      sleep,
      now: () => clock,
    };
  }

  it("pauses after every read and delete for as long as the share asks, and deletes everything", async () => {
    const fake = fakeCollection(2_500);
    const deleted = await purgeInBatches(
      fake.collection,
      {},
      {
        batchSize: 1_000,
        pauseMs: 10,
        maxBusyShare: 0.2,
        now: fake.now,
        sleep: fake.sleep,
      },
    );
    expect(deleted).toBe(2_500);
    expect(fake.calls).toEqual([
      "read 2500",
      "pause 400",
      "delete 1000",
      "pause 200",
      "delete 1000",
      "pause 200",
      "delete 500",
    ]);
  });

  it("stops between two calls when aborted", async () => {
    const fake = fakeCollection(5_000);
    const controller = new AbortController();
    const deleted = await purgeInBatches(
      fake.collection,
      {},
      {
        batchSize: 500,
        pauseMs: 10,
        signal: controller.signal,
        now: fake.now,
        sleep: async (ms) => {
          await fake.sleep(ms);
          if (fake.calls.filter((c) => c.startsWith("delete")).length === 2) controller.abort();
        },
      },
    );
    expect(deleted).toBe(1_000);
  });
});

describe("keeps", () => {
  const kept = new Map([["long", new Date(1_000)]]);

  it("keeps a tenant's documents dated from its own cutoff, and only those", () => {
    expect(keeps({ tenant_id: "long" }, new Date(1_000), kept)).toBe(true);
    expect(keeps({ tenant_id: "long" }, new Date(999), kept)).toBe(false);
    expect(keeps({ tenant_id: "plain" }, new Date(5_000), kept)).toBe(false);
  });

  it("keeps nothing without a tenant, a date or a rule", () => {
    expect(keeps({}, new Date(5_000), kept)).toBe(false);
    expect(keeps({ tenant_id: "long" }, "5000", kept)).toBe(false);
    expect(keeps({ tenant_id: "long" }, new Date(5_000), undefined)).toBe(false);
  });
});

describe("purgeOlderThan", () => {
  type Doc = { _id: string; tenant_id: string; t: Date };
  /** Documents `t` ms old answering range reads ordered by `t`, as an index would; records each read. */
  function fakeTimed(docs: Doc[]) {
    let stored = [...docs];
    const reads: Array<{ filter: unknown; n: number }> = [];
    const collection = {
      find: (filter: { t: { $gt?: Date; $gte?: Date; $lt: Date } }) => ({
        sort: (sort: Record<string, number>) => ({
          limit: (n: number) => ({
            toArray: async () => {
              expect(sort).toEqual({ t: 1 });
              const { $gt, $gte, $lt } = filter.t;
              const found = stored
                .filter((d) => d.t < $lt && (!$gte || d.t >= $gte) && (!$gt || d.t > $gt))
                .sort((a, b) => a.t.getTime() - b.t.getTime())
                .slice(0, n);
              reads.push({ filter, n: found.length });
              return found;
            },
          }),
        }),
      }),
      deleteMany: async (filter: { _id: { $in: string[] } }) => {
        const gone = new Set(filter._id.$in);
        const before = stored.length;
        stored = stored.filter((d) => !gone.has(d._id));
        return { deletedCount: before - stored.length };
      },
    };
    return {
      collection: collection as unknown as Collection<{ _id: string }>,
      reads,
      left: () => stored.map((d) => d._id).sort(),
    };
  }
  const doc = (tenant: string, t: number): Doc => ({
    _id: `${tenant}${t}`,
    tenant_id: tenant,
    t: new Date(t),
  });
  const options = { batchSize: 2, idsPerRead: 3, pauseMs: 0, sleep: async () => undefined };

  it("reads the time range alone, in time order, and deletes what is older than the cutoff", async () => {
    const fake = fakeTimed([doc("a", 1), doc("b", 2), doc("a", 3), doc("b", 4), doc("a", 10)]);
    const deleted = await purgeOlderThan(fake.collection, { timeField: "t", cutoff: new Date(10) }, options);
    expect(deleted).toBe(4);
    expect(fake.left()).toEqual(["a10"]);
    expect(fake.reads[0]?.filter).toEqual({ t: { $lt: new Date(10) } });
  });

  it("keeps a longer-retention tenant's documents from its own cutoff, reading each of them once", async () => {
    // "long" keeps from t=2; its documents at 2..7 stay, interleaved with "plain"'s, which go.
    const docs = [doc("long", 1), doc("plain", 1.5)];
    for (let t = 2; t < 8; t++) docs.push(doc("long", t), doc("plain", t + 0.5));
    const fake = fakeTimed([...docs, doc("plain", 20)]);
    const deleted = await purgeOlderThan(
      fake.collection,
      { timeField: "t", cutoff: new Date(10), keptFrom: new Map([["long", new Date(2)]]) },
      options,
    );
    expect(deleted).toBe(8);
    expect(fake.left()).toEqual(["long2", "long3", "long4", "long5", "long6", "long7", "plain20"]);
    // Each read starts at the last time the previous one read: a kept document is read at most twice
    // (when it was the last one of a read), not once per read.
    const readsOfKept = fake.reads.reduce((n, r) => n + r.n, 0) - deleted;
    expect(readsOfKept).toBeLessThanOrEqual(6 + fake.reads.length);
    expect(fake.reads.at(-1)?.n).toBeLessThan(3);
  });

  it("steps past a time that a full read of kept documents shares, rather than read it forever", async () => {
    const same = [doc("long", 5), { ...doc("long", 5), _id: "long5b" }, { ...doc("long", 5), _id: "long5c" }];
    const fake = fakeTimed([...same, { ...doc("long", 5), _id: "long5d" }, doc("plain", 6)]);
    const deleted = await purgeOlderThan(
      fake.collection,
      { timeField: "t", cutoff: new Date(10), keptFrom: new Map([["long", new Date(2)]]) },
      options,
    );
    expect(deleted).toBe(1);
    expect(fake.left()).toEqual(["long5", "long5b", "long5c", "long5d"]);
    expect(fake.reads[1]?.filter).toEqual({ t: { $gt: new Date(5), $lt: new Date(10) } });
  });

  it("stops when aborted, whatever is left", async () => {
    const fake = fakeTimed(Array.from({ length: 9 }, (_, i) => doc("a", i)));
    const controller = new AbortController();
    controller.abort();
    const deleted = await purgeOlderThan(
      fake.collection,
      { timeField: "t", cutoff: new Date(100) },
      { ...options, signal: controller.signal },
    );
    expect(deleted).toBe(0);
    expect(fake.reads).toEqual([]);
  });
});
