import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ingestMetrics } from "./ingest-metrics.js";
import { TenantGate } from "./tenant-gate.js";

describe("ingestMetrics", () => {
  it("reports the calls waiting at their tenant's bound when scraped", async () => {
    const registry = new Registry();
    const gate = new TenantGate(100);
    ingestMetrics(registry, { callsWaiting: () => gate.waiting });
    const release = await gate.acquire("flood", 100);
    const waiting = [gate.acquire("flood", 50), gate.acquire("flood", 50)];
    expect(await registry.getSingleMetricAsString("herald_ingest_calls_waiting")).toMatch(
      /^herald_ingest_calls_waiting 2$/m,
    );
    release();
    for (const next of await Promise.all(waiting)) next();
    expect(await registry.getSingleMetricAsString("herald_ingest_calls_waiting")).toMatch(
      /^herald_ingest_calls_waiting 0$/m,
    );
  });
});
