import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { routingMetrics } from "./routing-metrics.js";

describe("routingMetrics", () => {
  it("counts events by result and observes their fan-out, unmatched as 0", async () => {
    const registry = new Registry();
    const m = routingMetrics(registry);
    m.recordRouted(3);
    m.recordRouted(0);
    m.recordRouted(1);
    m.countDropped();
    const text = await registry.metrics();
    expect(text).toContain('herald_events_routed_total{result="matched"} 2');
    expect(text).toContain('herald_events_routed_total{result="unmatched"} 1');
    expect(text).toContain('herald_events_routed_total{result="dropped"} 1');
    // Dropped events are not routed anywhere and stay out of the fan-out.
    expect(text).toContain("herald_event_fanout_endpoints_count 3");
    expect(text).toContain("herald_event_fanout_endpoints_sum 4");
    expect(text).toContain('herald_event_fanout_endpoints_bucket{le="0"} 1');
    expect(text).toContain('herald_event_fanout_endpoints_bucket{le="1"} 2');
  });

  it("reports stale endpoints as -1 until the first re-seal pass ends", async () => {
    const registry = new Registry();
    const m = routingMetrics(registry);
    expect(await registry.metrics()).toContain("herald_secrets_stale_endpoints -1");
    m.setStaleEndpoints(0);
    expect(await registry.metrics()).toContain("herald_secrets_stale_endpoints 0");
  });
});
