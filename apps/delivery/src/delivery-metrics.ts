import { Counter, Gauge, Histogram, type TopologyNames } from "@herald/platform";
import type { Registry } from "prom-client";
import type { Connection } from "rabbitmq-client";
import type { CircuitState } from "./circuit-breaker.js";
import type { DeliveryOutcome } from "./deliver-task.js";

/** How the delivery service's work moves its metrics. */
export interface DeliveryMetrics {
  /** What became of one task; `hop`: it came back before its due and the task queue sent it on. */
  recordOutcome(outcome: DeliveryOutcome | { kind: "hop" }): void;
}

/**
 * The delivery service's metrics, registered in `registry`. The retry queue depths are read from
 * RabbitMQ and the circuit counts from `circuits` when the metrics are scraped.
 */
export function deliveryMetrics(
  registry: Registry,
  rabbit: Connection,
  names: TopologyNames,
  tiersMs: readonly number[],
  circuits: () => Record<CircuitState, number>,
): DeliveryMetrics {
  const deliveries = new Counter({
    name: "herald_deliveries_total",
    help: "Tasks handled, by outcome: succeeded, failed (retry scheduled), dead, gone (410), skipped, parked, hop",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const attemptSeconds = new Histogram({
    name: "herald_attempt_duration_seconds",
    help: "Time from sending a webhook to reading its answer",
    labelNames: ["outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const retryLag = new Histogram({
    name: "herald_retry_lag_seconds",
    help: "How late an attempt started after its due time (queueing and tier rounding)",
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 15, 60, 300],
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: "herald_dead_letters_total",
    help: "Tasks dead-lettered after their last attempt",
    registers: [registry],
  });
  new Gauge({
    name: "herald_retry_queue_depth",
    help: "Tasks waiting in each retry tier queue",
    labelNames: ["tier"],
    registers: [registry],
    async collect() {
      for (const tierMs of tiersMs) {
        const { messageCount } = await rabbit.queueDeclare({
          queue: names.retryQueue(tierMs),
          passive: true,
        });
        this.set({ tier: `${tierMs}ms` }, messageCount);
      }
    },
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

  return {
    recordOutcome(outcome) {
      deliveries.inc({ outcome: outcome.kind });
      if (!("latencyMs" in outcome)) return;
      attemptSeconds.observe({ outcome: outcome.kind }, outcome.latencyMs / 1000);
      retryLag.observe(outcome.lagMs / 1000);
      if (outcome.kind === "dead") deadLetters.inc();
    },
  };
}
