import { describe, expect, it } from "vitest";
import { laneShare } from "./queues.js";
import { QUEUE_SHARDS, shardOf, topologyNames } from "./topology.js";

describe("shardOf", () => {
  it("is stable across processes and versions (publishers and consumers must agree)", () => {
    expect(shardOf("")).toBe(0x811c9dc5 % QUEUE_SHARDS);
    expect(shardOf("acme")).toBe(shardOf("acme"));
    // FNV-1a 32-bit, as any other implementation computes it.
    expect([shardOf("a", 1_000), shardOf("b", 1_000)]).toEqual([220, 77]);
  });

  it("spreads tenants over every shard, none with more than twice its share", () => {
    const counts = new Array<number>(QUEUE_SHARDS).fill(0);
    for (let n = 0; n < 8_000; n++)
      counts[shardOf(`tenant-${n}`)] = (counts[shardOf(`tenant-${n}`)] ?? 0) + 1;
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(Math.max(...counts)).toBeLessThan((2 * 8_000) / QUEUE_SHARDS);
  });

  it("names a shard queue after its queue", () => {
    const names = topologyNames("ns");
    expect(names.shardQueues(names.queues.deliveryTasks)).toEqual([
      ...Array.from({ length: QUEUE_SHARDS }, (_, i) => `ns.delivery.tasks.${i}`),
      "ns.delivery.tasks.overflow",
    ]);
    expect(names.shardExchanges.deliveries).toBe("ns.herald.deliveries.shards");
  });
});

describe("laneShare", () => {
  it("gives one lane the whole, and each of several twice its even share", () => {
    expect(laneShare({ concurrency: 10 }, 1)).toEqual({ concurrency: 10, prefetch: 20 });
    expect(laneShare({ concurrency: 512, prefetch: 512 }, 9)).toEqual({ concurrency: 114, prefetch: 114 });
  });

  it("keeps at least two messages per lane", () => {
    expect(laneShare({ concurrency: 1, prefetch: 1 }, 9)).toEqual({ concurrency: 2, prefetch: 2 });
  });
});
