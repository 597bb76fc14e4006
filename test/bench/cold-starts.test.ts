import { describe, expect, it } from "vitest";
import {
  type ColdStartResult,
  coldStartGoal,
  coldStartsFromEnv,
  collectColdStarts,
  repeatColdStart,
} from "./cold-starts.js";

const cold = (p99: number, extra: Partial<ColdStartResult["delivery"]> = {}): ColdStartResult => ({
  id: "cold-start",
  publish: { sent: 20_000, accepted: 20_000, unsent: 0, callLatencyMs: { p99: p99 - 30 } },
  delivery: { complete: true, unique: 20_000, expected: 20_000, latencyMs: { p99 }, ...extra },
  loadAverageBefore: [0.5, 1, 1],
});

describe("coldStartsFromEnv", () => {
  it("defaults to 3 and takes a whole number from 1", () => {
    expect(coldStartsFromEnv({})).toBe(3);
    expect(coldStartsFromEnv({ BENCH_COLD_STARTS: "" })).toBe(3);
    expect(coldStartsFromEnv({ BENCH_COLD_STARTS: "1" })).toBe(1);
    expect(coldStartsFromEnv({ BENCH_COLD_STARTS: "5" })).toBe(5);
  });

  it("refuses anything else", () => {
    for (const bad of ["0", "-1", "2.5", "three", "Infinity"]) {
      expect(() => coldStartsFromEnv({ BENCH_COLD_STARTS: bad }), bad).toThrow(/BENCH_COLD_STARTS/);
    }
  });
});

describe("repeatColdStart", () => {
  const order = ["single-2000", "cold-start", "s3-healthy"].map((id) => ({ spec: { id } }));

  it("runs cold-start the given number of times in a row, in its place, numbered from 1", () => {
    expect(repeatColdStart(order, 3).map((e) => [e.spec.id, e.coldRun])).toEqual([
      ["single-2000", undefined],
      ["cold-start", 1],
      ["cold-start", 2],
      ["cold-start", 3],
      ["s3-healthy", undefined],
    ]);
  });

  it("leaves an order without cold-start as it is", () => {
    const others = order.filter((e) => e.spec.id !== "cold-start");
    expect(repeatColdStart(others, 3)).toEqual(others);
  });
});

describe("collectColdStarts", () => {
  it("keeps the first cold start among the scenarios and every cold start's figures", () => {
    const runs = [
      { result: { ...cold(100), id: "single-2000" } },
      { coldRun: 1, result: cold(300) },
      { coldRun: 2, result: cold(200) },
      { coldRun: 3, result: cold(250) },
    ];
    const { scenarios, coldStarts } = collectColdStarts(runs);
    expect(scenarios.map((s) => [s.result.id, s.result.delivery.latencyMs.p99])).toEqual([
      ["single-2000", 100],
      ["cold-start", 300],
    ]);
    expect(coldStarts.map((r) => [r.run, r.p99Ms, r.callP99Ms, r.complete])).toEqual([
      [1, 300, 270, true],
      [2, 200, 170, true],
      [3, 250, 220, true],
    ]);
  });
});

describe("coldStartGoal", () => {
  const runsOf = (...p99s: number[]) =>
    collectColdStarts(p99s.map((p, i) => ({ coldRun: i + 1, result: cold(p) })));

  it("judges the median p99, not the first or the worst run", () => {
    const { coldStarts } = runsOf(565, 217, 240);
    const goal = coldStartGoal({ scenarios: [cold(565)], coldStarts }, 250);
    expect(goal?.medianP99Ms).toBe(240);
    expect(goal?.met).toBe(true);
    expect(
      coldStartGoal({ scenarios: [cold(565)], coldStarts: runsOf(565, 217, 307).coldStarts }, 250)?.met,
    ).toBe(false);
  });

  it("is not met when any run lost or left events behind, whatever the median", () => {
    const incomplete = collectColdStarts([
      { coldRun: 1, result: cold(100) },
      { coldRun: 2, result: cold(100, { complete: false, unique: 19_990 }) },
      { coldRun: 3, result: cold(100) },
    ]);
    expect(coldStartGoal({ scenarios: [], coldStarts: incomplete.coldStarts }, 250)?.met).toBe(false);
    const unsent = { ...cold(100), publish: { ...cold(100).publish, unsent: 5 } };
    const withUnsent = collectColdStarts([{ coldRun: 1, result: unsent }]);
    expect(coldStartGoal({ scenarios: [], coldStarts: withUnsent.coldStarts }, 250)?.met).toBe(false);
  });

  it("counts a run saved before repeats by its one cold-start scenario, and none without it", () => {
    const goal = coldStartGoal({ scenarios: [cold(309)] }, 250);
    expect(goal?.runs).toHaveLength(1);
    expect(goal?.medianP99Ms).toBe(309);
    expect(goal?.met).toBe(false);
    expect(coldStartGoal({ scenarios: [{ ...cold(100), id: "s1-500" }] }, 250)).toBeUndefined();
  });
});
