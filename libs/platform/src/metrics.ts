import { collectDefaultMetrics, Registry } from "prom-client";

export { Counter, Gauge, Histogram } from "prom-client";

/**
 * prom-client's default gauges whose names end in `_total`, which Prometheus keeps for counters
 * (`promtool check metrics` flags them); their twins without the suffix, by type, give the same figures.
 */
const MISNAMED_DEFAULT_GAUGES = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** A Prometheus registry with Node's process metrics and a `service` label on every series. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: "herald_" });
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(`herald_${name}`);
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
