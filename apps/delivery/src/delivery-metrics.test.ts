import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AttemptTrigger, DeliveryTaskSchema } from "@herald/contracts";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { DeliveryOutcome } from "./deliver-task.js";
import { BUSIEST_ENDPOINTS, classifyOutcome, deliveryMetrics, statusClass } from "./delivery-metrics.js";

const CREATED = Date.parse("2026-01-01T00:00:00Z");

function task(attempt = 1, trigger = AttemptTrigger.SCHEDULED) {
  return create(DeliveryTaskSchema, {
    eventId: "evt_1",
    attempt,
    trigger,
    eventTime: timestampFromDate(new Date(CREATED)),
  });
}

const attempted = (kind: "succeeded" | "failed" | "dead" | "gone", status: number): DeliveryOutcome => ({
  kind,
  latencyMs: 20,
  lagMs: 5,
  status,
});

async function series(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const out: Record<string, number> = {};
  for (const v of (metric?.values ?? []) as Array<{
    labels: Record<string, string | number>;
    value: number;
    metricName?: string;
  }>) {
    if (v.metricName && v.metricName !== `${name}_count` && !v.metricName.endsWith("_total")) continue;
    const key = Object.entries(v.labels)
      .filter(([k]) => k !== "le")
      .map(([k, l]) => `${k}=${l}`)
      .join(",");
    out[key] = v.value;
  }
  return out;
}

describe("classifyOutcome", () => {
  it("separates final outcomes from internal hops", () => {
    expect(classifyOutcome("succeeded")).toEqual({ final: "succeeded" });
    expect(classifyOutcome("dead")).toEqual({ final: "dead" });
    expect(classifyOutcome("gone")).toEqual({ final: "gone" });
    expect(classifyOutcome("skipped")).toEqual({ final: "skipped" });
    expect(classifyOutcome("failed")).toEqual({ hop: "retry_scheduled" });
    expect(classifyOutcome("parked")).toEqual({ hop: "parked" });
    expect(classifyOutcome("endpoint_busy")).toEqual({ hop: "endpoint_busy" });
    expect(classifyOutcome("hop")).toEqual({ hop: "forwarded" });
  });
});

describe("statusClass", () => {
  it("classes statuses, and anything else as none", () => {
    expect([200, 204, 301, 410, 429, 503, 0, 99, 600].map(statusClass)).toEqual([
      "2xx",
      "2xx",
      "3xx",
      "4xx",
      "4xx",
      "5xx",
      "none",
      "none",
      "none",
    ]);
  });
});

describe("deliveryMetrics", () => {
  it("counts a retried delivery once, as its final outcome, and its retry as a hop", async () => {
    const registry = new Registry();
    const m = deliveryMetrics(registry, () => ({ closed: 1, open: 0, "half-open": 0 }));
    m.recordOutcome(task(1), attempted("failed", 503), CREATED + 1_000);
    m.recordOutcome(task(2), { kind: "hop" }, CREATED + 2_000);
    m.recordOutcome(task(2), attempted("succeeded", 200), CREATED + 61_000);
    m.recordOutcome(task(1), { kind: "parked" }, CREATED);
    m.recordOutcome(task(3), attempted("dead", 0), CREATED);
    expect(await series(registry, "herald_deliveries_total")).toEqual({
      "outcome=succeeded": 1,
      "outcome=dead": 1,
    });
    expect(await series(registry, "herald_delivery_hops_total")).toEqual({
      "hop=retry_scheduled": 1,
      "hop=forwarded": 1,
      "hop=parked": 1,
    });
    expect(await series(registry, "herald_attempt_duration_seconds")).toEqual({
      "outcome=failed,status_class=5xx": 1,
      "outcome=succeeded,status_class=2xx": 1,
      "outcome=failed,status_class=none": 1,
    });
    expect(await series(registry, "herald_dead_letters_total")).toEqual({ "": 1 });
  });

  it("measures publish to delivered from the event's create time, by attempt, leaving replays out", async () => {
    const registry = new Registry();
    const m = deliveryMetrics(registry, () => ({ closed: 0, open: 0, "half-open": 0 }));
    m.recordOutcome(task(1), attempted("succeeded", 200), CREATED + 250);
    m.recordOutcome(task(4), attempted("succeeded", 204), CREATED + 3_600_000);
    m.recordOutcome(task(1, AttemptTrigger.MANUAL), attempted("succeeded", 200), CREATED + 86_400_000);
    m.recordOutcome(task(2), attempted("failed", 500), CREATED + 100);
    const latency = (await registry.getMetricsAsJSON()).find(
      (metric) => metric.name === "herald_delivery_latency_seconds",
    );
    const sums = Object.fromEntries(
      (latency?.values ?? [])
        .filter((v) => (v as { metricName?: string }).metricName === "herald_delivery_latency_seconds_sum")
        .map((v) => [v.labels.attempt, v.value]),
    );
    expect(sums).toEqual({ first: 0.25, retry: 3_600 });
  });

  it("counts circuit transitions and reports circuit states on scrape", async () => {
    const registry = new Registry();
    const m = deliveryMetrics(registry, () => ({ closed: 2, open: 1, "half-open": 0 }));
    m.countCircuitTransition("open");
    m.countCircuitTransition("open");
    m.countCircuitTransition("closed");
    expect(await series(registry, "herald_circuit_transitions_total")).toEqual({
      "to=open": 2,
      "to=closed": 1,
    });
    expect(await series(registry, "herald_circuits")).toEqual({
      "state=closed": 2,
      "state=open": 1,
      "state=half-open": 0,
    });
  });

  it("reports tasks waiting at endpoint limits: all, and only the current busiest few", async () => {
    const registry = new Registry();
    let busiest = Array.from({ length: 8 }, (_, n) => ({ endpointId: `ep_${n}`, waiting: 8 - n }));
    deliveryMetrics(
      registry,
      () => ({ closed: 0, open: 0, "half-open": 0 }),
      () => ({ total: 36, busiest }),
    );
    const first = await series(registry, "herald_endpoint_waiting_tasks");
    expect(first["endpoint=all"]).toBe(36);
    expect(Object.keys(first)).toHaveLength(1 + BUSIEST_ENDPOINTS);
    expect(first["endpoint=ep_5"]).toBeUndefined();
    busiest = [{ endpointId: "ep_new", waiting: 2 }];
    expect(await series(registry, "herald_endpoint_waiting_tasks")).toEqual({
      "endpoint=all": 36,
      "endpoint=ep_new": 2,
    });
  });
});
