import { collectDefaultMetrics, Registry } from "prom-client";

export { Counter, Gauge, Histogram } from "prom-client";

/** A Prometheus registry with Node's process metrics and a `service` label on every series. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: "herald_" });
  return registry;
}

/**
 * Keeps a label's cardinality bounded: the first `max` distinct values are kept as they are and every
 * later one is reported as "_other", so a platform with many tenants cannot blow up the time series.
 */
export class BoundedLabel {
  readonly #seen = new Set<string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  value(raw: string): string {
    if (this.#seen.has(raw)) return raw;
    if (this.#seen.size >= this.#max) return "_other";
    this.#seen.add(raw);
    return raw;
  }
}
