import { BoundedLabel, Counter, Gauge, Histogram } from "@herald/platform";
import type { Registry } from "prom-client";

/** How the ingest service's work moves its metrics. */
export interface IngestMetrics {
  /** One event published (or refused), by its tenant and outcome. */
  countEvent(tenantId: string, outcome: "accepted" | "duplicate" | "refused"): void;
  /** How long one step of publishing a new event took. */
  observeStep(step: "store" | "confirm", ms: number): void;
  /** Events the republish sweep published. */
  countRepublished(count: number): void;
}

/** What the metrics read when scraped. */
export interface IngestGauges {
  /** Calls waiting at their tenant's bound of events in flight (TenantGate). */
  callsWaiting(): number;
}

/** The ingest service's metrics, registered in `registry`. */
export function ingestMetrics(registry: Registry, gauges?: IngestGauges): IngestMetrics {
  const ingested = new Counter({
    name: "herald_events_ingested_total",
    help: "Events published, by tenant (the first 100 tenants seen; the rest as _other) and outcome",
    labelNames: ["tenant", "outcome"],
    registers: [registry],
  });
  const stepSeconds = new Histogram({
    name: "herald_ingest_step_seconds",
    help: "Time of each step of publishing a new event: store (MongoDB insert) and confirm (RabbitMQ publish until confirmed)",
    labelNames: ["step"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const republished = new Counter({
    name: "herald_events_republished_total",
    help: "Events published by the sweep after ingest stopped between storing and publishing them",
    registers: [registry],
  });
  if (gauges) {
    new Gauge({
      name: "herald_ingest_calls_waiting",
      help: "Publish calls waiting because their tenant has INGEST_TENANT_EVENTS_IN_FLIGHT events in flight",
      registers: [registry],
      collect() {
        this.set(gauges.callsWaiting());
      },
    });
  }
  const tenantLabel = new BoundedLabel(100);
  return {
    countEvent: (tenantId, outcome) => ingested.inc({ tenant: tenantLabel.value(tenantId), outcome }),
    observeStep: (step, ms) => stepSeconds.observe({ step }, ms / 1000),
    countRepublished: (count) => republished.inc(count),
  };
}
