import { describe, expect, it } from "vitest";
import { firstRuns, pairsOf, runOrder } from "./paired-runs.js";

const tagged = (order: Array<{ spec: { id: string }; pair?: number }>) =>
  order.map((r) => `${r.spec.id}${r.pair === undefined ? "" : `#${r.pair}`}`);

describe("runOrder", () => {
  const specs = [
    "s1-max",
    "s1-500",
    "s1-500-purge",
    "s2-fanout-filters",
    "s2-fanout-channels",
    "s1-2000",
  ].map((id) => ({ id }));
  const purge = { base: "s1-500", variant: "s1-500-purge", pairs: 3 };
  const filters = { base: "s2-fanout-channels", variant: "s2-fanout-filters", pairs: 2 };

  it("runs each comparison's pairs alternating, base first, where the first of its two stood", () => {
    expect(tagged(runOrder(specs, [purge, filters]))).toEqual([
      "s1-max",
      "s1-500#1",
      "s1-500-purge#1",
      "s1-500#2",
      "s1-500-purge#2",
      "s1-500#3",
      "s1-500-purge#3",
      "s2-fanout-channels#1",
      "s2-fanout-filters#1",
      "s2-fanout-channels#2",
      "s2-fanout-filters#2",
      "s1-2000",
    ]);
  });

  it("makes no pairs for a comparison unless both its scenarios are in the run", () => {
    const without = specs.filter((s) => s.id !== "s1-500-purge" && s.id !== "s2-fanout-channels");
    expect(runOrder(without, [purge, filters])).toEqual(without.map((spec) => ({ spec })));
    const onlyFilters = specs.filter((s) => s.id !== "s1-500-purge");
    expect(tagged(runOrder(onlyFilters, [purge, filters]))).toEqual([
      "s1-max",
      "s1-500",
      "s2-fanout-channels#1",
      "s2-fanout-filters#1",
      "s2-fanout-channels#2",
      "s2-fanout-filters#2",
      "s1-2000",
    ]);
  });

  it("runs one pair when asked for one", () => {
    expect(tagged(runOrder(specs.slice(1, 3), [{ ...purge, pairs: 1 }]))).toEqual([
      "s1-500#1",
      "s1-500-purge#1",
    ]);
  });
});

describe("firstRuns and pairsOf", () => {
  const r = (id: string, pair?: number) => ({
    ...(pair === undefined ? {} : { pair }),
    result: { id, n: pair },
  });
  const runs = [
    r("s1-max"),
    r("a", 1),
    r("b", 1),
    r("c", 1),
    r("d", 1),
    r("a", 2),
    r("b", 2),
    r("c", 2),
    r("a", 3),
    r("s1-2000"),
  ];

  it("keeps the runs outside pairs and the first pair's as the run's results", () => {
    expect(firstRuns(runs).map((x) => x.id)).toEqual(["s1-max", "a", "b", "c", "d", "s1-2000"]);
  });

  it("pairs each comparison's runs by number, leaving out a pair an interrupted run did not finish", () => {
    expect(pairsOf(runs, { base: "a", variant: "b" }).map((p) => [p.pair, p.base.n, p.variant.n])).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    expect(pairsOf(runs, { base: "c", variant: "d" }).map((p) => p.pair)).toEqual([1]);
    expect(pairsOf(runs, { base: "x", variant: "y" })).toEqual([]);
  });
});
