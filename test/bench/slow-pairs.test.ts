import { describe, expect, it } from "vitest";
import { type BenchResults, fairnessRows, slowPairLines } from "./report.js";
import { type SlowPairedResult, slowGoal, slowPairOf, slowPairs, slowPairsFromEnv } from "./slow-pairs.js";

/** A run whose healthy endpoints (88 in slow-receivers, 100 in the healthy run) got `unique` in 30 s. */
const result = (id: string, p99: number, unique: number, complete = true): SlowPairedResult => ({
  id,
  loadAverageBefore: [2.5, 2, 1],
  delivery: {
    complete,
    seconds: 30,
    deliveriesPerSecond: Math.round(unique / 30),
    groups: {
      fast: { endpoints: id === "slow-receivers" ? 88 : 100, unique, latencyMs: { p99 } },
    },
  },
});
const healthy = (p99: number) => result("slow-receivers-healthy", p99, 15_000);
/** 88 healthy endpoints at the same rate each as 100 in the healthy run: 13,200 in 30 s. */
const slow = (p99: number, unique = 13_200, complete = true) =>
  result("slow-receivers", p99, unique, complete);

describe("slowPairsFromEnv", () => {
  it("defaults to 3 and refuses what is not a whole number from 1", () => {
    expect(slowPairsFromEnv({})).toBe(3);
    expect(slowPairsFromEnv({ BENCH_SLOW_PAIRS: "1" })).toBe(1);
    expect(() => slowPairsFromEnv({ BENCH_SLOW_PAIRS: "0" })).toThrow(/BENCH_SLOW_PAIRS/);
  });
});

describe("slowPairs", () => {
  it("keeps each complete pair with its p99 ratio and its rate per healthy endpoint", () => {
    const runs = [
      { result: healthy(10) },
      { pair: 1, result: healthy(40) },
      { pair: 1, result: slow(60) },
      { pair: 2, result: healthy(50) },
      { pair: 2, result: slow(45, 11_880) },
      { pair: 3, result: healthy(30) },
    ];
    expect(slowPairs(runs).map((p) => [p.pair, p.healthy.p99Ms, p.slow.p99Ms, p.ratio, p.rateShare])).toEqual(
      [
        [1, 40, 60, 1.5, 1],
        [2, 50, 45, 0.9, 0.9],
      ],
    );
  });
});

describe("slowGoal", () => {
  it("judges the medians: one wild pair does not decide it either way", () => {
    const pairs = [
      slowPairOf(1, healthy(40), slow(90)),
      slowPairOf(2, healthy(40), slow(44)),
      slowPairOf(3, healthy(40), slow(50)),
    ];
    expect(slowGoal({ scenarios: [], slowPairs: pairs })).toMatchObject({
      medianRatio: 1.25,
      medianRateShare: 1,
      met: true,
    });
    const twoWild = [pairs[0], slowPairOf(2, healthy(40), slow(70)), pairs[2]].filter((p) => p !== undefined);
    expect(slowGoal({ scenarios: [], slowPairs: twoWild })).toMatchObject({ medianRatio: 1.75, met: false });
  });

  it("is not met when the healthy endpoints' rate fell or a run was incomplete", () => {
    const slower = [1, 2, 3].map((n) => slowPairOf(n, healthy(40), slow(40, 11_880)));
    expect(slowGoal({ scenarios: [], slowPairs: slower })).toMatchObject({
      medianRatio: 1,
      medianRateShare: 0.9,
      met: false,
    });
    const incomplete = [
      slowPairOf(1, healthy(40), slow(40, 13_200, false)),
      slowPairOf(2, healthy(40), slow(40)),
    ];
    expect(slowGoal({ scenarios: [], slowPairs: incomplete })?.met).toBe(false);
  });

  it("counts a run saved before pairs as its one pair, and nothing without both scenarios", () => {
    expect(slowGoal({ scenarios: [healthy(40), slow(80)] })).toMatchObject({ medianRatio: 2, met: false });
    expect(slowGoal({ scenarios: [healthy(40)] })).toBeUndefined();
  });
});

describe("the report's slow-receivers lines", () => {
  const bench = (extra: Partial<BenchResults>) =>
    ({ scenarios: [healthy(43), slow(69)], ...extra }) as unknown as BenchResults;

  it("show each pair and the medians, and the goal row over the pairs", () => {
    const slowPairs = [
      slowPairOf(1, healthy(43), slow(69)),
      slowPairOf(2, healthy(40), slow(41)),
      slowPairOf(3, healthy(50), slow(55)),
    ];
    const text = slowPairLines(bench({ slowPairs })).join("\n");
    expect(text).toContain("| 1 | 43 ms, 500/s | 69 ms, 440/s | 1.6 × | 1 × | 2.5 / 2.5 |");
    expect(text).toContain("| median | | | 1.1 × | 1 × | |");
    expect(text).not.toMatch(/saved before these pairs/);
    const row = fairnessRows(bench({ slowPairs })).join("\n");
    expect(row).toContain("median 1.1 × over 3 pairs (1.6 ×, 1.02 ×, 1.1 ×)");
    expect(row).toContain("**met**");
  });

  it("render a run saved before pairs as its one pair, and nothing without the scenarios", () => {
    expect(slowPairLines(bench({})).join("\n")).toContain("saved before these pairs");
    expect(fairnessRows(bench({})).join("\n")).toContain("median 1.6 × over 1 pair (1.6 ×)");
    expect(slowPairLines({ scenarios: [healthy(43)] } as unknown as BenchResults)).toEqual([]);
  });
});
