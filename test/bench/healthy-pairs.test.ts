import { describe, expect, it } from "vitest";
import {
  FAILING_ENDPOINTS,
  type HealthyPairedResult,
  healthyGoal,
  healthyPairOf,
  healthyPairs,
  healthyPairsFromEnv,
  SLOW_RECEIVERS,
} from "./healthy-pairs.js";
import { type BenchResults, failingGoalRows, fairnessRows, healthyPairLines } from "./report.js";

/** A run whose healthy endpoints (88 in slow-receivers, 100 otherwise) got `unique` in 30 s. */
const result = (id: string, p99: number, unique: number, complete = true): HealthyPairedResult => ({
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
const goalOf = (pairs: ReturnType<typeof healthyPairOf>[]) => healthyGoal(SLOW_RECEIVERS, [], pairs);

describe("healthyPairsFromEnv", () => {
  it("defaults to 3, reads each comparison's own variable, and refuses what is not a whole number from 1", () => {
    expect(healthyPairsFromEnv(SLOW_RECEIVERS, {})).toBe(3);
    expect(healthyPairsFromEnv(SLOW_RECEIVERS, { BENCH_SLOW_PAIRS: "1" })).toBe(1);
    expect(healthyPairsFromEnv(FAILING_ENDPOINTS, { BENCH_SLOW_PAIRS: "1", BENCH_FAILING_PAIRS: "5" })).toBe(
      5,
    );
    expect(() => healthyPairsFromEnv(SLOW_RECEIVERS, { BENCH_SLOW_PAIRS: "0" })).toThrow(/BENCH_SLOW_PAIRS/);
  });
});

describe("healthyPairs", () => {
  it("keeps each complete pair with its p99 ratio and its rate per healthy endpoint", () => {
    const runs = [
      { result: healthy(10) },
      { pair: 1, result: healthy(40) },
      { pair: 1, result: slow(60) },
      { pair: 2, result: healthy(50) },
      { pair: 2, result: slow(45, 11_880) },
      { pair: 3, result: healthy(30) },
    ];
    expect(
      healthyPairs(SLOW_RECEIVERS, runs).map((p) => [
        p.pair,
        p.base.p99Ms,
        p.variant.p99Ms,
        p.ratio,
        p.rateShare,
      ]),
    ).toEqual([
      [1, 40, 60, 1.5, 1],
      [2, 50, 45, 0.9, 0.9],
    ]);
    expect(healthyPairs(FAILING_ENDPOINTS, runs)).toEqual([]);
  });
});

describe("healthyGoal", () => {
  it("judges the medians: one wild pair does not decide it either way", () => {
    const pairs = [
      healthyPairOf(1, healthy(40), slow(90)),
      healthyPairOf(2, healthy(40), slow(44)),
      healthyPairOf(3, healthy(40), slow(50)),
    ];
    expect(goalOf(pairs)).toMatchObject({ medianRatio: 1.25, medianRateShare: 1, met: true });
    const twoWild = [pairs[0], healthyPairOf(2, healthy(40), slow(70)), pairs[2]].filter(
      (p) => p !== undefined,
    );
    expect(goalOf(twoWild)).toMatchObject({ medianRatio: 1.75, met: false });
  });

  it("is not met when the healthy endpoints' rate fell or a run was incomplete", () => {
    const slower = [1, 2, 3].map((n) => healthyPairOf(n, healthy(40), slow(40, 11_880)));
    expect(goalOf(slower)).toMatchObject({ medianRatio: 1, medianRateShare: 0.9, met: false });
    const incomplete = [
      healthyPairOf(1, healthy(40), slow(40, 13_200, false)),
      healthyPairOf(2, healthy(40), slow(40)),
    ];
    expect(goalOf(incomplete)?.met).toBe(false);
  });

  it("judges the rate only where the comparison has a bar for it, and the p99 against its own bar", () => {
    const base = result("s3-healthy", 30, 6_000);
    const pair = (p99: number) => healthyPairOf(1, base, result("s3-failing", p99, 4_000));
    // 10% failing: fewer healthy deliveries is no fault of the healthy endpoints; 1.2 x is the bar.
    expect(healthyGoal(FAILING_ENDPOINTS, [], [pair(36)])).toMatchObject({ medianRatio: 1.2, met: true });
    expect(healthyGoal(FAILING_ENDPOINTS, [], [pair(37)])).toMatchObject({ medianRatio: 1.23, met: false });
  });

  it("counts a run saved before pairs as its one pair, and nothing without both scenarios", () => {
    expect(healthyGoal(SLOW_RECEIVERS, [healthy(40), slow(80)], undefined)).toMatchObject({
      medianRatio: 2,
      met: false,
    });
    expect(healthyGoal(SLOW_RECEIVERS, [healthy(40)], undefined)).toBeUndefined();
  });
});

describe("the report's healthy-endpoint lines", () => {
  const bench = (extra: Partial<BenchResults>) =>
    ({ scenarios: [healthy(43), slow(69)], ...extra }) as unknown as BenchResults;

  it("show each pair and the medians, and the goal row over the pairs", () => {
    const slowPairs = [
      healthyPairOf(1, healthy(43), slow(69)),
      healthyPairOf(2, healthy(40), slow(41)),
      healthyPairOf(3, healthy(50), slow(55)),
    ];
    const text = healthyPairLines(bench({ slowPairs })).join("\n");
    expect(text).toContain("## Slow receivers against all healthy");
    expect(text).toContain("the healthy endpoints' p99 over 13,200 deliveries");
    expect(text).toContain("| 1 | 43 ms, 500/s | 69 ms, 440/s | 1.6 × | 1 × | 2.5 / 2.5 |");
    expect(text).toContain("| median | | | 1.1 × | 1 × | |");
    expect(text).not.toMatch(/saved before these pairs/);
    expect(text).not.toContain("Failing endpoints against none failing");
    const row = fairnessRows(bench({ slowPairs })).join("\n");
    expect(row).toContain("median 1.1 × over 3 pairs (1.6 ×, 1.02 ×, 1.1 ×)");
    expect(row).toContain("**met**");
  });

  it("render the failing endpoints' pairs and goal row", () => {
    const base = result("s3-healthy", 26, 6_000);
    const failingPairs = [
      healthyPairOf(1, base, result("s3-failing", 32, 5_400)),
      healthyPairOf(2, base, result("s3-failing", 25, 5_400)),
      healthyPairOf(3, base, result("s3-failing", 27, 5_400)),
    ];
    const results = { scenarios: [], failingPairs } as unknown as BenchResults;
    expect(healthyPairLines(results).join("\n")).toContain("## Failing endpoints against none failing");
    const row = failingGoalRows(results).join("\n");
    expect(row).toContain("median 1.04 × the p99 without failures over 3 pairs (1.23 ×, 0.96 ×, 1.04 ×;");
    expect(row).toContain("**met**");
  });

  it("render a run saved before pairs as its one pair, and nothing without the scenarios", () => {
    expect(healthyPairLines(bench({})).join("\n")).toContain("saved before these pairs");
    expect(fairnessRows(bench({})).join("\n")).toContain("median 1.6 × over 1 pair (1.6 ×)");
    expect(healthyPairLines({ scenarios: [healthy(43)] } as unknown as BenchResults)).toEqual([]);
    expect(failingGoalRows({ scenarios: [healthy(43)] } as unknown as BenchResults)).toEqual([]);
  });
});
