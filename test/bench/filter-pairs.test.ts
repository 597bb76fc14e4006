import { describe, expect, it } from "vitest";
import {
  type FilterPairedResult,
  filterGoal,
  filterPairOf,
  filterPairs,
  filterPairsFromEnv,
} from "./filter-pairs.js";
import { type BenchResults, filterGoalRows, filterPairLines } from "./report.js";

const result = (id: string, routingCpuUsPerEvent?: number, complete = true): FilterPairedResult => ({
  id,
  delivery: { complete },
  loadAverageBefore: [2.5, 1, 1],
  ...(routingCpuUsPerEvent === undefined ? {} : { routingCpuUsPerEvent }),
  ...(id === "s2-fanout-filters" ? { filters: { perTenant: 10 } } : {}),
});
const channels = (us?: number) => result("s2-fanout-channels", us);
const filtered = (us?: number, complete = true) => result("s2-fanout-filters", us, complete);

describe("filterPairsFromEnv", () => {
  it("defaults to 3 and takes a whole number from 1", () => {
    expect(filterPairsFromEnv({})).toBe(3);
    expect(filterPairsFromEnv({ BENCH_FILTER_PAIRS: "1" })).toBe(1);
    expect(filterPairsFromEnv({ BENCH_FILTER_PAIRS: "4" })).toBe(4);
  });

  it("refuses anything else", () => {
    for (const bad of ["0", "1.5", "three"]) {
      expect(() => filterPairsFromEnv({ BENCH_FILTER_PAIRS: bad }), bad).toThrow(/BENCH_FILTER_PAIRS/);
    }
  });
});

describe("filterPairOf", () => {
  it("takes routing's CPU per event with filters less without, per endpoint, and the upper bound", () => {
    const pair = filterPairOf(2, channels(150), filtered(196));
    expect(pair.filterUs).toBe(4.6);
    expect(pair.upperUs).toBe(19.6);
    expect(pair.base).toEqual({
      id: "s2-fanout-channels",
      routingCpuUsPerEvent: 150,
      complete: true,
      loadAverageBefore: 2.5,
    });
  });

  it("leaves the cost out when either side's CPU was not measured", () => {
    expect(filterPairOf(1, channels(), filtered(196)).filterUs).toBeUndefined();
    expect(filterPairOf(1, channels(150), filtered()).upperUs).toBeUndefined();
  });
});

describe("filterPairs", () => {
  it("keeps the complete pairs of a run, in order", () => {
    const runs = [
      { result: result("s1-max", 30) },
      { pair: 1, result: channels(150) },
      { pair: 1, result: filtered(200) },
      { pair: 2, result: channels(160) },
      { pair: 2, result: filtered(190) },
      { pair: 3, result: channels(170) },
    ];
    expect(filterPairs(runs).map((p) => [p.pair, p.filterUs])).toEqual([
      [1, 5],
      [2, 3],
    ]);
  });
});

describe("filterGoal", () => {
  const pairs = (...cpus: Array<[number, number]>) =>
    cpus.map(([base, withFilters], i) => filterPairOf(i + 1, channels(base), filtered(withFilters)));

  it("judges the median of the pairs, not any one pair", () => {
    const goal = filterGoal({ scenarios: [], filterPairs: pairs([150, 230], [150, 190], [160, 200]) });
    expect(goal?.pairs.map((p) => p.filterUs)).toEqual([8, 4, 4]);
    expect(goal?.medianUs).toBe(4);
    expect(goal?.medianUpperUs).toBe(20);
    expect(goal?.met).toBe(true);
    const missed = filterGoal({ scenarios: [], filterPairs: pairs([150, 230], [150, 210], [160, 200]) });
    expect(missed?.medianUs).toBe(6);
    expect(missed?.met).toBe(false);
  });

  it("is not met when a filtered run was incomplete", () => {
    const incomplete = pairs([150, 190], [150, 190]);
    incomplete[1] = filterPairOf(2, channels(150), filtered(190, false));
    expect(filterGoal({ scenarios: [], filterPairs: incomplete })?.met).toBe(false);
  });

  it("counts a run saved before pairs as one pair, against s2-fanout when s2-fanout-channels is missing", () => {
    const old = filterGoal({ scenarios: [channels(150), filtered(204), result("s2-fanout", 100)] });
    expect(old?.pairs.map((p) => [p.base.id, p.filterUs])).toEqual([["s2-fanout-channels", 5.4]]);
    expect(old?.met).toBe(false);
    const older = filterGoal({ scenarios: [filtered(204), result("s2-fanout", 180)] });
    expect(older?.pairs.map((p) => [p.base.id, p.filterUs])).toEqual([["s2-fanout", 2.4]]);
    expect(filterGoal({ scenarios: [channels(150)] })).toBeUndefined();
    expect(filterGoal({ scenarios: [filtered(204)] })).toBeUndefined();
  });
});

describe("the report's filter lines", () => {
  const bench = (extra: Partial<BenchResults>) =>
    ({ scenarios: [channels(150), filtered(204)], ...extra }) as unknown as BenchResults;

  it("show each pair and the median in the goal row and the pairs' section", () => {
    const filterPairs = [
      filterPairOf(1, channels(150), filtered(204)),
      filterPairOf(2, channels(160), filtered(190)),
      filterPairOf(3, channels(155), filtered(195)),
    ];
    const results = bench({ filterPairs });
    const row = filterGoalRows(filterGoal(results)).join("\n");
    expect(row).toContain("median 4 µs over 3 pairs (5.4 µs, 3 µs, 4 µs;");
    expect(row).toContain("**met**");
    const text = filterPairLines(results).join("\n");
    expect(text).toContain("## Filters against channels");
    expect(text).toContain("| 1 | s2-fanout-channels | 150 µs | 204 µs | 5.4 µs | – | 2.5 / 2.5 |");
    expect(text).toContain("| median | | | | 4 µs | – | |");
    expect(text).not.toMatch(/saved before these pairs/);
  });

  it("show the difference over the load only beside the goal's, with its median", () => {
    const withLoad = (base: number, filters: number, baseLoad: number, filtersLoad: number) => [
      { ...channels(base), routingLoadCpuUsPerEvent: baseLoad },
      { ...filtered(filters), routingLoadCpuUsPerEvent: filtersLoad },
    ];
    const filterPairs = [
      withLoad(150, 260, 120, 140),
      withLoad(160, 170, 130, 141),
      withLoad(150, 140, 125, 140),
    ].map(([base, f], i) => filterPairOf(i + 1, base as FilterPairedResult, f as FilterPairedResult));
    expect(filterPairs.map((p) => [p.filterUs, p.loadFilterUs])).toEqual([
      [11, 2],
      [1, 1.1],
      [-1, 1.5],
    ]);
    const text = filterPairLines(bench({ filterPairs })).join("\n");
    expect(text).toContain("| 1 | s2-fanout-channels | 150 µs | 260 µs | 11 µs | 2 µs |");
    expect(text).toContain("| median | | | | 1 µs | 1.5 µs | |");
    expect(filterGoal(bench({ filterPairs }))?.medianUs).toBe(1);
  });

  it("render a run saved before pairs as its one pair, and nothing without the scenario", () => {
    const text = filterPairLines(bench({})).join("\n");
    expect(text).toContain("saved before these pairs");
    expect(filterGoalRows(filterGoal(bench({}))).join("\n")).toContain("over 1 pair (5.4 µs;");
    expect(filterPairLines({ scenarios: [channels(150)] } as unknown as BenchResults)).toEqual([]);
    expect(filterGoalRows(undefined)).toEqual([]);
  });
});
