import { describe, expect, it } from "vitest";
import { BoundedLabel, Counter, createMetricsRegistry } from "./metrics.js";

describe("metrics", () => {
  it("bounds a label's values", () => {
    const label = new BoundedLabel(2);
    expect(["a", "b", "c", "a", "d", "b"].map((v) => label.value(v))).toEqual([
      "a",
      "b",
      "_other",
      "a",
      "_other",
      "b",
    ]);
  });

  it("exposes counters in the Prometheus text format with the service label", async () => {
    const registry = createMetricsRegistry("test");
    const counter = new Counter({
      name: "herald_things_total",
      help: "things",
      labelNames: ["kind"],
      registers: [registry],
    });
    counter.inc({ kind: "x" }, 3);
    const text = await registry.metrics();
    expect(text).toContain('herald_things_total{kind="x",service="test"} 3');
    expect(text).toContain("herald_process_cpu_seconds_total");
  });

  it("names no gauge as a counter (_total), Node's default metrics included", async () => {
    const text = await createMetricsRegistry("test").metrics();
    const gauges = [...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map((m) => m[1]);
    expect(gauges).toContain("herald_nodejs_active_handles");
    expect(gauges.filter((name) => name?.endsWith("_total"))).toEqual([]);
  });
});
