import { AttemptTrigger, type DeliveryTask } from "@herald/contracts";
import { Counter, Gauge, Histogram } from "@herald/platform";
import type { Registry } from "prom-client";
import type { CircuitState } from "./circuit-breaker.js";
import type { DeliveryOutcome } from "./deliver-task.js";

/** How the delivery service's work moves its metrics. */
export interface DeliveryMetrics {
  /** What became of one task; `nowMs` is when it settled. */
  recordOutcome(task: DeliveryTask, outcome: DeliveryOutcome, nowMs: number): void;
  /** An endpoint's circuit opened or closed in this instance. */
  countCircuitTransition(to: "open" | "closed"): void;
}

/** A task's final outcome: the delivery (event × endpoint) ends here, once. */
export type FinalOutcome = "succeeded" | "dead" | "gone" | "skipped";
/** An internal step: the task goes on through a retry tier. */
export type DeliveryHop = "retry_scheduled" | "parked" | "endpoint_busy" | "forwarded";

/**
 * Splits a task's outcome into what operators count: a final outcome (a success rate is succeeded over
 * all final outcomes) or an internal hop, which a naive rate would take for a delivery.
 */
export function classifyOutcome(
  kind: DeliveryOutcome["kind"],
): { final: FinalOutcome } | { hop: DeliveryHop } {
  switch (kind) {
    case "failed":
      return { hop: "retry_scheduled" };
    case "parked":
      return { hop: "parked" };
    case "endpoint_busy":
      return { hop: "endpoint_busy" };
    case "hop":
      return { hop: "forwarded" };
    default:
      return { final: kind };
  }
}

/** A response status's class for labels: "2xx".."5xx", or "none" when no response came back. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "none";
}

/** Endpoints with tasks waiting at their limit that get a metric series of their own. */
export const BUSIEST_ENDPOINTS = 5;

/** Tasks waiting at their endpoint's limit: in all, and at the endpoints with the most. */
export interface EndpointWaiting {
  total: number;
  busiest: Array<{ endpointId: string; waiting: number }>;
}

/**
 * The delivery service's metrics, registered in `registry`. The circuit counts are read from `circuits`
 * when the metrics are scraped; queue depths are runService's (herald_queue_messages_ready).
 */
export function deliveryMetrics(
  registry: Registry,
  circuits: () => Record<CircuitState, number>,
  endpointWaiting: () => EndpointWaiting = () => ({ total: 0, busiest: [] }),
): DeliveryMetrics {
  const deliveries = new Counter({
    name: "herald_deliveries_total",
    help: "Deliveries (event × endpoint) ended, by final outcome: succeeded, dead (retries exhausted), gone (410, endpoint disabled), skipped (endpoint or tenant deleted or disabled)",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const hops = new Counter({
    name: "herald_delivery_hops_total",
    help: "Tasks sent on through a retry tier rather than ended: retry_scheduled (attempt failed), parked (circuit open or endpoint's own limits), endpoint_busy (its endpoint slow and its wait list full), forwarded (a long retry's next tier)",
    labelNames: ["hop"],
    registers: [registry],
  });
  const attemptSeconds = new Histogram({
    name: "herald_attempt_duration_seconds",
    help: "Time from sending a webhook to reading its answer, by the attempt's outcome (succeeded, failed) and response status class (2xx..5xx, none)",
    labelNames: ["outcome", "status_class"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const retryLag = new Histogram({
    name: "herald_retry_lag_seconds",
    help: "How late an attempt started after its due time (queueing and tier rounding)",
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 15, 60, 300],
    registers: [registry],
  });
  const endToEnd = new Histogram({
    name: "herald_delivery_latency_seconds",
    help: "Time from an event's create_time (ingest's clock) to its successful delivery, by attempt (first, retry); manual replays left out",
    labelNames: ["attempt"],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400],
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: "herald_dead_letters_total",
    help: "Tasks dead-lettered after their last attempt",
    registers: [registry],
  });
  const transitions = new Counter({
    name: "herald_circuit_transitions_total",
    help: "Endpoint circuits that opened or closed in this instance, by the state entered",
    labelNames: ["to"],
    registers: [registry],
  });
  new Gauge({
    name: "herald_circuits",
    help: "Endpoint circuits in this instance, by state",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      for (const [state, count] of Object.entries(circuits())) this.set({ state }, count);
    },
  });

  new Gauge({
    name: "herald_endpoint_waiting_tasks",
    help: `Tasks waiting in this instance at their endpoint's concurrency limit (holding no delivery slot): endpoint="all" counts every endpoint, and the ${BUSIEST_ENDPOINTS} endpoints with the most waiting have a series of their own`,
    labelNames: ["endpoint"],
    registers: [registry],
    collect() {
      const waiting = endpointWaiting();
      // Reset each scrape so only the current busiest have series: cardinality stays bounded.
      this.reset();
      this.set({ endpoint: "all" }, waiting.total);
      for (const { endpointId, waiting: count } of waiting.busiest.slice(0, BUSIEST_ENDPOINTS))
        this.set({ endpoint: endpointId }, count);
    },
  });

  return {
    recordOutcome(task, outcome, nowMs) {
      const step = classifyOutcome(outcome.kind);
      if ("final" in step) deliveries.inc({ outcome: step.final });
      else hops.inc({ hop: step.hop });
      if (!("latencyMs" in outcome)) return;
      const succeeded = outcome.kind === "succeeded";
      attemptSeconds.observe(
        { outcome: succeeded ? "succeeded" : "failed", status_class: statusClass(outcome.status) },
        outcome.latencyMs / 1000,
      );
      retryLag.observe(outcome.lagMs / 1000);
      if (outcome.kind === "dead") deadLetters.inc();
      if (succeeded && task.trigger !== AttemptTrigger.MANUAL && task.eventTime) {
        const createdMs = Number(task.eventTime.seconds) * 1000 + task.eventTime.nanos / 1e6;
        endToEnd.observe(
          { attempt: task.attempt > 1 ? "retry" : "first" },
          Math.max(0, nowMs - createdMs) / 1000,
        );
      }
    },
    countCircuitTransition: (to) => transitions.inc({ to }),
  };
}
