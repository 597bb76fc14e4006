import { describe, expect, it } from "vitest";
import { type PairedResult, pairOf, pairsFromEnv, purgeGoal, purgePairs } from "./purge-pairs.js";
import { type BenchResults, purgeGoalRows, purgePairLines } from "./report.js";
import { median } from "./system.js";

const result = (id: string, p99: number, extra: Partial<PairedResult> = {}): PairedResult => ({
  id,
  delivery: { complete: true, latencyMs: { p99 } },
  loadAverageBefore: [1.5, 1, 1],
  ...extra,
});
const purged = (p99: number, removed = 20_000) =>
  result("s1-500-purge", p99, { purge: { seeded: 60_000, removed } });

describe("pairsFromEnv", () => {
  it("defaults to 3 and takes a whole number from 1", () => {
    expect(pairsFromEnv({})).toBe(3);
    expect(pairsFromEnv({ BENCH_PURGE_PAIRS: "" })).toBe(3);
    expect(pairsFromEnv({ BENCH_PURGE_PAIRS: "1" })).toBe(1);
    expect(pairsFromEnv({ BENCH_PURGE_PAIRS: "5" })).toBe(5);
  });

  it("refuses anything else", () => {
    for (const bad of ["0", "-1", "2.5", "two", "Infinity"]) {
      expect(() => pairsFromEnv({ BENCH_PURGE_PAIRS: bad }), bad).toThrow(/BENCH_PURGE_PAIRS/);
    }
  });
});

describe("median", () => {
  it("takes the middle value, or the mean of the middle two, whatever the order", () => {
    expect(median([1.3, 0.9, 1.05])).toBe(1.05);
    expect(median([1.2, 0.8])).toBe(1);
    expect(median([2])).toBe(2);
    expect(median([])).toBeUndefined();
  });
});

describe("purgePairs", () => {
  it("keeps every complete pair of s1-500 and s1-500-purge with its ratio and removed count", () => {
    const runs = [
      { result: result("s1-max", 300) },
      { pair: 1, result: result("s1-500", 50) },
      { pair: 1, result: purged(55, 17_500) },
      { pair: 2, result: result("s1-500", 80) },
      { pair: 2, result: purged(60, 21_000) },
      { pair: 3, result: result("s1-500", 70) },
      { result: result("s1-2000", 90) },
    ];
    expect(
      purgePairs(runs).map((p) => [p.pair, p.base.p99Ms, p.purge.p99Ms, p.ratio, p.purge.removed]),
    ).toEqual([
      [1, 50, 55, 1.1, 17_500],
      [2, 80, 60, 0.75, 21_000],
    ]);
  });
});

describe("purgeGoal", () => {
  const pairs = (...p99s: Array<[number, number]>) =>
    p99s.map(([base, purge], i) => pairOf(i + 1, result("s1-500", base), purged(purge)));

  it("judges the median ratio, not any one pair", () => {
    // One pair at +59%, two within 10%: met.
    const goal = purgeGoal({ scenarios: [], purgePairs: pairs([50, 55], [40, 63.6], [60, 57]) });
    expect(goal?.pairs.map((p) => p.ratio)).toEqual([1.1, 1.59, 0.95]);
    expect(goal?.medianRatio).toBe(1.1);
    expect(goal?.met).toBe(true);
    const missed = purgeGoal({ scenarios: [], purgePairs: pairs([50, 60], [40, 50], [60, 57]) });
    expect(missed?.medianRatio).toBe(1.2);
    expect(missed?.met).toBe(false);
  });

  it("is not met when a run of a pair was incomplete or s1-500's p99 was 0", () => {
    const incomplete = pairs([50, 50], [50, 50]);
    incomplete[1] = pairOf(2, result("s1-500", 50), {
      ...purged(50),
      delivery: { complete: false, latencyMs: { p99: 50 } },
    });
    expect(purgeGoal({ scenarios: [], purgePairs: incomplete })?.met).toBe(false);
    const zero = purgeGoal({ scenarios: [], purgePairs: pairs([0, 50]) });
    expect(zero?.medianRatio).toBeUndefined();
    expect(zero?.met).toBe(false);
  });

  it("counts a run saved before pairs as one pair, and none without both scenarios", () => {
    const old = purgeGoal({ scenarios: [result("s1-500", 84), purged(65, 17_500)] });
    expect(old?.pairs).toHaveLength(1);
    expect(old?.medianRatio).toBe(0.77);
    expect(old?.met).toBe(true);
    expect(purgeGoal({ scenarios: [result("s1-500", 84)] })).toBeUndefined();
  });
});

describe("the report's purge lines", () => {
  const bench = (extra: Partial<BenchResults>) =>
    ({ scenarios: [result("s1-500", 84), purged(65, 17_500)], ...extra }) as unknown as BenchResults;

  it("show each pair and the median, and say which s1-500 the other goals use", () => {
    const purgePairs = [
      pairOf(1, result("s1-500", 50), purged(55, 17_500)),
      pairOf(2, result("s1-500", 40), purged(60, 21_000)),
      pairOf(3, result("s1-500", 60), purged(57, 19_000)),
    ];
    const text = purgePairLines(bench({ purgePairs })).join("\n");
    expect(text).toContain("| 1 | 50 ms | 55 ms | 1.1 × | 17,500 of 60,000 | 1.5 / 1.5 |");
    expect(text).toContain("| 2 | 40 ms | 60 ms | 1.5 × | 21,000 of 60,000 |");
    expect(text).toContain("| median | | | 1.1 × | | |");
    expect(text).toMatch(/first pair's runs are the s1-500 and s1-500-purge rows above/);
    expect(text).not.toMatch(/saved before pairs/);
    const row = purgeGoalRows(bench({ purgePairs })).join("\n");
    expect(row).toContain("median 1.1 × over 3 pairs (1.1 ×, 1.5 ×, 0.95 ×;");
    expect(row).toContain("**met**");
  });

  it("render a run saved before pairs as its one pair", () => {
    const text = purgePairLines(bench({})).join("\n");
    expect(text).toContain("saved before pairs");
    expect(text).toContain("| 1 | 84 ms | 65 ms | 0.77 × | 17,500 of 60,000 |");
    expect(purgeGoalRows(bench({})).join("\n")).toContain("over 1 pair (0.77 ×;");
  });

  it("render nothing for a run without the purge scenario", () => {
    const none = { scenarios: [result("s1-500", 84)] } as unknown as BenchResults;
    expect(purgePairLines(none)).toEqual([]);
    expect(purgeGoalRows(none)).toEqual([]);
  });
});
