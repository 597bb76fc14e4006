// Microbenchmark of routing's per-event decision for one tenant's endpoints with CEL filters (the
// s2-fanout-filters scenario's ten filters, test/bench/filters.ts) against the same endpoints taking
// the same half of the events by channel (s2-fanout-channels): decideRoutes as route-event calls it,
// with a fresh payload per event, so the payload's parse (once per event) is counted. The two sides
// alternate round by round, so a change in what else the machine runs hits both. `npm run bench` runs
// it with `--json` (one line: the figures the filters' goal is judged on; test/bench/filter-micro.ts);
// on its own it also times each filter alone:
//   npx nx run-many -t build --output-style=static && node test/bench/micro/route-filters.ts
// Results: docs/benchmarks.md (filter cost).
import { loadavg } from "node:os";
import type { EndpointDocument } from "@herald/platform/model";
import { testEndpoint } from "@herald/platform/testing";
import { compileFilter, FilterBindings } from "../../../apps/routing/dist/routing/filter.js";
import { decideRoutes } from "../../../apps/routing/dist/routing/match.js";
import { resolveTsSiblings } from "../ts-siblings.mjs";

// The scenario's filters are TypeScript source named `../filters.js`, as test/bench/run.ts resolves it.
resolveTsSiblings();
const { BENCH_FILTERS, encodeFilteredPayload, filteredChannels, filtersMatch, MATCHING_CHANNEL } =
  await import("../filters.js");

const ENDPOINTS = 10;
const EVENTS = 1_000;
const ROUNDS = 10;
const ITERATIONS = 20_000;

/** One of the tenant's endpoints, taking every `bench.*` type, with `extra` on top. */
function endpoint(index: number, extra: Partial<EndpointDocument>): EndpointDocument {
  return testEndpoint({
    _id: `ep_${index}`,
    tenant_id: "bench",
    url: "http://127.0.0.1/",
    event_types: ["bench.*"],
    ...extra,
  });
}

const withFilters = Array.from({ length: ENDPOINTS }, (_, i) =>
  endpoint(i, { filter: BENCH_FILTERS[i % BENCH_FILTERS.length] }),
);
const byChannel = Array.from({ length: ENDPOINTS }, (_, i) => endpoint(i, { channels: [MATCHING_CHANNEL] }));

// Payloads arrive as fresh buffers from the queue; a pool of distinct ones keeps the parse honest.
const events = Array.from({ length: EVENTS }, (_, seq) => ({
  type: "bench.order",
  channels: filteredChannels(seq),
  tenantId: "bench",
  payload: new Uint8Array(encodeFilteredPayload(seq, 1_000 + seq)),
}));

// The decisions must be the benchmark's: half the events to every endpoint.
for (const [seq, event] of events.entries()) {
  for (const endpoints of [withFilters, byChannel]) {
    const taken = decideRoutes(endpoints, event).endpoints.length;
    if (taken !== (filtersMatch(seq) ? ENDPOINTS : 0)) {
      throw new Error(`event ${seq}: ${taken} endpoints took it`);
    }
  }
}

const JSON_ONLY = process.argv.includes("--json");

/** CPU time per call of `fn` over one round (process.cpuUsage: time spent waiting for a core is left out). */
function cpuPerCall(fn: (i: number) => unknown): number {
  const start = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / ITERATIONS;
}

/** The best of ROUNDS rounds of each function, the functions taking turns within every round. */
function bestOfAlternating(fns: Array<(i: number) => unknown>): number[] {
  for (const fn of fns) for (let i = 0; i < ITERATIONS; i++) fn(i); // warm up the JIT
  const best = fns.map(() => Number.POSITIVE_INFINITY);
  for (let round = 0; round < ROUNDS; round++) {
    fns.forEach((fn, k) => {
      best[k] = Math.min(best[k] as number, cpuPerCall(fn));
    });
  }
  return best;
}

/** Prints one figure of the report. */
function row(label: string, us: number): void {
  console.log(`${label.padEnd(48)} ${us.toFixed(2)} µs`);
}

/** As {@link bestOfAlternating} for one function, printed with `label`. */
function timeIt(label: string, fn: (i: number) => unknown): number {
  const [best] = bestOfAlternating([fn]) as [number];
  row(label, best);
  return best;
}

const event = (i: number) => events[i % EVENTS] as (typeof events)[number];

const loadAverageBefore = loadavg()[0] as number;
const [filtered, channels] = bestOfAlternating([
  (i) => decideRoutes(withFilters, event(i)),
  (i) => decideRoutes(byChannel, event(i)),
]) as [number, number];
const perEndpoint = (filtered - channels) / ENDPOINTS;
if (JSON_ONLY) {
  const round2 = (n: number) => Math.round(n * 100) / 100;
  console.log(
    JSON.stringify({
      filteredUs: round2(filtered),
      channelsUs: round2(channels),
      perEndpointUs: round2(perEndpoint),
      endpoints: ENDPOINTS,
      rounds: ROUNDS,
      iterations: ITERATIONS,
      loadAverageBefore: round2(loadAverageBefore),
    }),
  );
  process.exit(0);
}

console.log(`best of ${ROUNDS} rounds of ${ITERATIONS} events, alternating; load average ${loadAverage()}`);
row(`${ENDPOINTS} endpoints with filters, per event`, filtered);
row(`${ENDPOINTS} endpoints by channel, per event`, channels);
row("filters' cost per event per endpoint", perEndpoint);
timeIt(
  "payload parse alone, per event",
  (i) => (new FilterBindings(event(i)).values() as { payload: unknown }).payload,
);

console.log("\neach filter alone, per event (payload parsed once beforehand)");
const bound = events.map((e) => {
  const bindings = new FilterBindings(e);
  bindings.values().payload;
  return bindings;
});
for (const source of BENCH_FILTERS) {
  const filter = compileFilter(source);
  timeIt(`  ${source.slice(0, 46)}`, (i) => filter.evaluate(bound[i % EVENTS] as FilterBindings));
}

function loadAverage(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(", ");
}
