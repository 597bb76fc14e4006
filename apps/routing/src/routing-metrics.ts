import { Counter, Gauge, Histogram } from "@herald/platform";
import type { Registry } from "prom-client";
import type { RouteMetrics } from "./routing/route-event.js";

/** How the routing service's work moves its metrics. */
export interface RoutingMetrics extends RouteMetrics {
  /** Endpoints a re-seal pass left sealed under an older key. */
  setStaleEndpoints(count: number): void;
  /** Endpoints re-sealed under the key ring's first key. */
  countResealed(count: number): void;
}

/**
 * The routing service's metrics, registered in `registry`. At 0 stale endpoints the older keys can
 * leave the ring.
 */
export function routingMetrics(registry: Registry): RoutingMetrics {
  const stale = new Gauge({
    name: "herald_secrets_stale_endpoints",
    help: "Endpoints holding a secret or headers not sealed under the key ring's first key (-1 until the first pass ends); at 0 the older keys can go",
    registers: [registry],
  });
  stale.set(-1);
  const resealed = new Counter({
    name: "herald_secrets_resealed_total",
    help: "Endpoints whose secrets and headers were re-sealed under the key ring's first key",
    registers: [registry],
  });
  const routed = new Counter({
    name: "herald_events_routed_total",
    help: "Events routed, by result: matched (one task or more), unmatched (no endpoint subscribed), dropped (unknown or deleted tenant)",
    labelNames: ["result"],
    registers: [registry],
  });
  const fanout = new Histogram({
    name: "herald_event_fanout_endpoints",
    help: "Endpoints one routed event fanned out to (unmatched events count as 0)",
    buckets: [0, 1, 2, 3, 5, 10, 20, 50, 100, 250],
    registers: [registry],
  });
  return {
    setStaleEndpoints: (count) => stale.set(count),
    countResealed: (count) => resealed.inc(count),
    recordRouted(endpointCount) {
      routed.inc({ result: endpointCount > 0 ? "matched" : "unmatched" });
      fanout.observe(endpointCount);
    },
    countDropped: () => routed.inc({ result: "dropped" }),
  };
}
