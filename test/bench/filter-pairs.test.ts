import { describe, expect, it } from "vitest";
import type { FilterMicroResult } from "./filter-micro.js";
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
const micro = (perEndpointUs: number): FilterMicroResult => ({
  filteredUs: 12 + perEndpointUs * 10,
  channelsUs: 12,
  perEndpointUs,
  endpoints: 10,
  rounds: 10,
  iterations: 20_000,
  loadAverageBefore: 1.5,
});
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

describe("filterGoal with the micro-benchmark", () => {
  const pairs = (...cpus: Array<[number, number]>) =>
    cpus.map(([base, withFilters], i) => filterPairOf(i + 1, channels(base), filtered(withFilters)));

  it("judges the micro-benchmark, not the pairs, keeping the pairs' median beside it", () => {
    // The pairs' median (6 µs) misses the goal, the micro-benchmark (1.1 µs) meets it: the micro decides.
    const swinging = pairs([150, 230], [150, 210], [160, 200]);
    const goal = filterGoal({ scenarios: [], filterPairs: swinging, filterMicro: micro(1.1) });
    expect(goal?.medianUs).toBe(6);
    expect(goal?.micro?.perEndpointUs).toBe(1.1);
    expect(goal?.met).toBe(true);
    // And the other way round: pairs within the goal do not save a micro-benchmark over it.
    const over = filterGoal({ scenarios: [], filterPairs: pairs([150, 190]), filterMicro: micro(5.2) });
    expect(over?.medianUs).toBe(4);
    expect(over?.met).toBe(false);
    expect(filterGoal({ scenarios: [], filterMicro: micro(5) })?.met).toBe(true);
  });

  it("is not met when a filtered run was incomplete, whatever the micro-benchmark says", () => {
    const incomplete = [filterPairOf(1, channels(150), filtered(190, false))];
    expect(filterGoal({ scenarios: [], filterPairs: incomplete, filterMicro: micro(1) })?.met).toBe(false);
  });

  it("stands on the micro-benchmark alone in a run without the scenarios", () => {
    const goal = filterGoal({ scenarios: [], filterMicro: micro(1.1) });
    expect(goal?.pairs).toEqual([]);
    expect(goal?.medianUs).toBeUndefined();
    expect(goal?.met).toBe(true);
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

  it("show the micro-benchmark as the judged figure and the pairs as context", () => {
    const filterPairs = [
      filterPairOf(1, channels(150), filtered(260)),
      filterPairOf(2, channels(160), filtered(190)),
    ];
    const results = bench({ filterPairs, filterMicro: micro(1.1) });
    const row = filterGoalRows(filterGoal(results)).join("\n");
    expect(row).toContain(
      "| 1.1 µs (23 against 12 µs an event); in the scenarios, not judged: median 7 µs over 2 pairs",
    );
    expect(row).toContain("**met**");
    const text = filterPairLines(results).join("\n");
    expect(text).toContain("| 23 µs | 12 µs | 1.1 µs | 10 × 20,000 | 1.5 |");
    expect(text).toContain("shown, not judged");
    expect(text).toContain("| 1 | s2-fanout-channels | 150 µs | 260 µs | 11 µs | – | 2.5 / 2.5 |");
    expect(text).not.toContain("which the goal judges");
    const alone = filterPairLines({ scenarios: [], filterMicro: micro(1.1) } as unknown as BenchResults);
    expect(alone.join("\n")).toContain("| 23 µs | 12 µs | 1.1 µs |");
    expect(alone.join("\n")).not.toContain("| pair |");
    const carried = { scenarios: [], filterMicro: micro(1.1), carried: { filterMicro: "2026-12-07" } };
    expect(filterPairLines(carried as unknown as BenchResults).join("\n")).toContain(
      "carried from the run of 2026-12-07",
    );
  });

  it("render a run saved before pairs as its one pair, and nothing without the scenario", () => {
    const text = filterPairLines(bench({})).join("\n");
    expect(text).toContain("saved before these pairs");
    expect(filterGoalRows(filterGoal(bench({}))).join("\n")).toContain("over 1 pair (5.4 µs;");
    expect(filterPairLines({ scenarios: [channels(150)] } as unknown as BenchResults)).toEqual([]);
    expect(filterGoalRows(undefined)).toEqual([]);
  });
});
