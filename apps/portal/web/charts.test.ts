import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { EndpointHealthPointSchema, EndpointHealthWindowSchema, HealthWindow } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import {
  latencySummary,
  niceCeiling,
  percent,
  scaled,
  seriesSlots,
  seriesSummary,
  successSummary,
} from "./charts.js";

const hour = create(EndpointHealthWindowSchema, {
  window: HealthWindow.HEALTH_WINDOW_1H,
  attempts: 25n,
  succeeded: 20n,
  successRate: 0.8,
  latencyP50Ms: 110,
  latencyP95Ms: 980,
  latencyP99Ms: 1010,
});
const idleDay = create(EndpointHealthWindowSchema, { window: HealthWindow.HEALTH_WINDOW_24H });

describe("the health charts' arithmetic", () => {
  it("ends the latency axis at 1, 2 or 5 times a power of ten", () => {
    expect([0, 1, 3, 20, 21, 120, 980, 1010, 4999].map(niceCeiling)).toEqual([
      1, 1, 5, 20, 50, 200, 1000, 2000, 5000,
    ]);
  });

  it("scales bars within the track, never below zero", () => {
    expect(scaled(0.8, 1, 220)).toBeCloseTo(176);
    expect(scaled(5, 0, 220)).toBe(0);
    expect(scaled(-1, 10, 220)).toBe(0);
    expect(scaled(30, 10, 220)).toBe(220);
  });

  it("says each chart in one sentence, idle windows included", () => {
    expect(percent(0.8)).toBe("80.0 %");
    expect(percent(1)).toBe("100 %");
    expect(successSummary([hour, idleDay])).toBe("Success rate. 1 h: 80.0 % of 25; 24 h: no attempts.");
    expect(latencySummary([hour, idleDay])).toBe(
      "Latency. 1 h: p50 110 ms, p95 980 ms, p99 1010 ms; 24 h: no attempts.",
    );
  });
});

describe("the health series", () => {
  const start = Date.parse("2026-01-10T11:10:00Z");
  const point = (minutes: number, succeeded: bigint, latencyP95Ms: number) =>
    create(EndpointHealthPointSchema, {
      startTime: timestampFromDate(new Date(start + minutes * 60_000)),
      attempts: 4n,
      succeeded,
      successRate: Number(succeeded) / 4,
      latencyP95Ms,
    });
  const series = create(EndpointHealthWindowSchema, {
    window: HealthWindow.HEALTH_WINDOW_1H,
    pointSeconds: 300,
    pointsStartTime: timestampFromDate(new Date(start)),
    // The second and the last of twelve 5-minute points; one before the window is dropped.
    points: [point(-5, 4n, 1), point(5, 2n, 300), point(55, 4n, 120)],
  });

  it("puts each point in its slot, empty slots where there were no attempts", () => {
    const slots = seriesSlots(series);
    expect(slots).toHaveLength(12);
    expect(slots.map((p) => p?.successRate)).toEqual([undefined, 0.5, ...Array(9).fill(undefined), 1]);
    expect(seriesSlots(idleDay)).toEqual(Array(24).fill(undefined));
  });

  it("says the series in one sentence", () => {
    expect(seriesSummary([series, idleDay])).toBe(
      "Over time. 1 h: attempts in 2 of 12 5-minute points, success rate 50.0 % to 100 %, p95 up to 300 ms; 24 h: no attempts.",
    );
  });
});
