import type { EndpointDocument } from "@herald/platform/model";
import { decideRoutes } from "../dist/routing/match.js";

// Routing cost of filters: one event against 100 endpoints that all pass type and channel matching and
// carry a filter (4 in 5 true). After `npx nx run @herald/routing:build`:
//   node_modules/.bin/node apps/routing/bench/filters.ts
// It prints the CPU time per event, and per event per endpoint; docs/benchmarks.md has the figures.

const ENDPOINTS = 100;
const payload = new TextEncoder().encode(
  JSON.stringify({
    id: "ord_123",
    amount: 150,
    currency: "EUR",
    customer: { id: "cus_9", tier: "gold", country: "DE" },
    items: [
      { sku: "A-1", quantity: 2, price: 50 },
      { sku: "B-2", quantity: 1, price: 50 },
    ],
  }),
);
const event = { type: "order.created", channels: ["eu"], tenantId: "t1", payload };

const FILTERS = [
  "payload.amount > 100",
  'payload.currency == "EUR" && payload.customer.tier in ["gold", "platinum"]',
  'payload.items.exists(i, i.sku.startsWith("A-"))',
  'type == "order.created" && "eu" in channels && payload.amount < 1000',
  "payload.amount < 100",
];

function endpoints(filters: readonly string[] | null): EndpointDocument[] {
  return Array.from(
    { length: ENDPOINTS },
    (_, i) =>
      ({
        _id: `ep_${i}`,
        disabled: false,
        event_types: ["order.*"],
        channels: [],
        ...(filters ? { filter: `${filters[i % filters.length]} && ${i} >= 0` } : {}),
      }) as EndpointDocument,
  );
}

const filtered = endpoints(FILTERS);
const unfiltered = endpoints(null);

const EVENTS = 20_000;

/** Mean microseconds per call of `route` over EVENTS calls, after a warm-up of as many. */
function measure(route: () => void): number {
  for (let i = 0; i < EVENTS; i++) route();
  const start = process.cpuUsage();
  for (let i = 0; i < EVENTS; i++) route();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / EVENTS;
}

const without = measure(() => decideRoutes(unfiltered, event));
// A fresh payload per event, as routing gets one: it is parsed once per event, not per endpoint.
const withFilters = measure(() => decideRoutes(filtered, { ...event, payload: payload.slice() }));
const perEndpoint = (withFilters - without) / ENDPOINTS;
console.log(`${ENDPOINTS} endpoints, ${EVENTS} events`);
console.log(`without filters: ${without.toFixed(1)} µs CPU per event`);
console.log(`with filters:    ${withFilters.toFixed(1)} µs CPU per event`);
console.log(`filter cost:     ${perEndpoint.toFixed(2)} µs CPU per event per endpoint`);
