import type { Collection } from "mongodb";
import { describe, expect, it } from "vitest";
import { pauseAfter, purgeInBatches } from "./purge-batches.js";

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
