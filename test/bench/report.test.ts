import { describe, expect, it } from "vitest";
import type { FilterMicroResult } from "./filter-micro.js";
import type { PortalPagesResult } from "./portal-pages.js";
import type { ReadsResult } from "./reads.js";
import { type BenchResults, carryUnmeasured, cpuProbeRow } from "./report.js";
import type { ScenarioResult } from "./scenario.js";

const run = (date: string, extra: Partial<BenchResults> = {}): BenchResults =>
  ({
    machine: { date },
    infra: { rabbitmq: "", mongodb: "" },
    settings: { secondsPerScenario: 30 },
    raw: [],
    scenarios: [],
    totalSeconds: 1,
    ...extra,
  }) as unknown as BenchResults;
const reads = { id: "reads" } as ReadsResult;
const pages = { id: "portal-pages" } as PortalPagesResult;
const micro = { perEndpointUs: 1.1 } as FilterMicroResult;

describe("carryUnmeasured", () => {
  it("takes the committed reads and pages a run left out, with the date that measured them", () => {
    const out = carryUnmeasured(run("new"), run("old", { reads, portalPages: pages }));
    expect(out.reads).toBe(reads);
    expect(out.portalPages).toBe(pages);
    expect(out.carried).toEqual({ reads: "old", portalPages: "old" });
  });

  it("keeps the date of the run that measured them through several carries", () => {
    const once = carryUnmeasured(run("b"), run("a", { reads }));
    const twice = carryUnmeasured(run("c"), once);
    expect(twice.carried).toEqual({ reads: "a" });
  });

  it("carries the filters' micro-benchmark a run left out, and keeps one the run measured", () => {
    const out = carryUnmeasured(run("new"), run("old", { filterMicro: micro }));
    expect(out.filterMicro).toBe(micro);
    expect(out.carried).toEqual({ filterMicro: "old" });
    const own = { perEndpointUs: 0.9 } as FilterMicroResult;
    const kept = carryUnmeasured(run("new", { filterMicro: own }), run("old", { filterMicro: micro }));
    expect(kept.filterMicro).toBe(own);
    expect(kept.carried).toBeUndefined();
  });

  it("keeps what the run measured itself, and carries nothing without committed results", () => {
    const own = { id: "reads", title: "own" } as ReadsResult;
    const out = carryUnmeasured(run("new", { reads: own }), run("old", { reads, portalPages: pages }));
    expect(out.reads).toBe(own);
    expect(out.carried).toEqual({ portalPages: "old" });
    expect(carryUnmeasured(run("new"), undefined).carried).toBeUndefined();
  });
});

describe("cpuProbeRow", () => {
  const scenario = (cpuProbeUs?: number) => ({ cpuProbeUs }) as ScenarioResult;

  it("gives each scenario's probe against the run's first measured one", () => {
    expect(cpuProbeRow([scenario(), scenario(20_000), scenario(30_000), scenario(18_000)])).toBe(
      "| CPU probe before the window (fixed work; × the run's first) | – | 20,000 µs (1 ×) | 30,000 µs (1.5 ×) | 18,000 µs (0.9 ×) |",
    );
  });

  it("is all dashes for a run saved before the probe", () => {
    expect(cpuProbeRow([scenario(), scenario()])).toBe(
      "| CPU probe before the window (fixed work; × the run's first) | – | – |",
    );
  });
});
