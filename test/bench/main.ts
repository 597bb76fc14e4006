// `npm run bench` (run.ts builds Herald first): provides RabbitMQ and the MongoDB wire server, measures
// the machine's raw ceilings, runs the scenarios on fresh stacks, and writes bench-results/latest.json,
// docs/benchmarks.md and docs/benchmarks.svg. Exits non-zero only when something failed, not when a goal
// was missed.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { amqpConnectionOptions } from "@herald/platform/testing";
import { Connection } from "rabbitmq-client";
import { REPO_ROOT } from "../e2e/support/stack.js";
import { readBrokerCounters } from "./broker-counters.js";
import { COLD_START_ID, coldStartsFromEnv, collectColdStarts, repeatColdStart } from "./cold-starts.js";
import { type FilterMicroResult, measureFilterMicro } from "./filter-micro.js";
import { FILTERS_ID, filterComparison, filterPairs, filterPairsFromEnv } from "./filter-pairs.js";
import {
  FAILING_ENDPOINTS,
  healthyPairs,
  healthyPairsFromEnv,
  healthyRunComparison,
  SLOW_RECEIVERS,
} from "./healthy-pairs.js";
import { ensureInfra, type Infra, rabbitVersion, redact } from "./infra.js";
import { firstRuns, runOrder } from "./paired-runs.js";
import { type PortalPagesResult, runPortalPages } from "./portal-pages.js";
import { pairsFromEnv, purgeComparison, purgePairs } from "./purge-pairs.js";
import { mongoRaw, type RawResult, rabbitRaw, undiciRaw } from "./raw.js";
import { describe, type ReadsResult, readsOptions, runReads } from "./reads.js";
import {
  type BenchResults,
  carryUnmeasured,
  cpuPerEventUs,
  GOALS,
  renderMarkdown,
  renderSvg,
} from "./report.js";
import {
  runScenario,
  type ScenarioContext,
  type ScenarioResult,
  type ScenarioSpec,
  startedPids,
} from "./scenario.js";
import { machineInfo, nowMs, pidsByName, round } from "./system.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const ONLY = process.env.BENCH_ONLY?.split(",").filter(Boolean);
/** The whole run should end within this; stopping the last stack takes a few seconds more. */
const BUDGET_SECONDS = Number(process.env.BENCH_BUDGET_SECONDS ?? 560);
/** Pairs of s1-500 and s1-500-purge when the run has both (purge-pairs.ts). */
const PURGE_PAIRS = pairsFromEnv(process.env);
/** Pairs of s2-fanout-channels and s2-fanout-filters when the run has both (filter-pairs.ts). */
const FILTER_PAIRS = filterPairsFromEnv(process.env);
/** Pairs of slow-receivers-healthy and slow-receivers when the run has both (healthy-pairs.ts). */
const SLOW_PAIRS = healthyPairsFromEnv(SLOW_RECEIVERS, process.env);
/** Pairs of s3-healthy and s3-failing when the run has both (healthy-pairs.ts). */
const FAILING_PAIRS = healthyPairsFromEnv(FAILING_ENDPOINTS, process.env);
/** Each pair past the first gets this much more budget: two scenarios, with their set-up and drain. */
const PAIR_BUDGET_SECONDS = 2 * SECONDS + 150;
/** Runs of cold-start when the run has it (cold-starts.ts). */
const COLD_STARTS = coldStartsFromEnv(process.env);
/** Each cold start past the first gets this much more budget: a stack, its restart, 20 s of load, the drain. */
const COLD_START_BUDGET_SECONDS = 120;
/** The reads scenario's own budget, after the others': it stops growing the log once over it. */
const READS_BUDGET_SECONDS = Number(process.env.BENCH_READS_BUDGET_SECONDS ?? 1200);

/** Whether the run includes the reads scenario: unless BENCH_READS=0, or BENCH_ONLY leaves it out. */
export function readsSelected(): boolean {
  return ONLY ? ONLY.includes("reads") : process.env.BENCH_READS !== "0";
}

/**
 * Whether the run includes the portal-pages scenario: opt-in (BENCH_PORTAL_PAGES=1, or BENCH_ONLY naming
 * it), as it fills a log of its own as the reads scenario does.
 */
export function portalPagesSelected(): boolean {
  return ONLY ? ONLY.includes("portal-pages") : process.env.BENCH_PORTAL_PAGES === "1";
}

/**
 * Whether the run measures the filters' micro-benchmark (filter-micro.ts), which the filters' goal is
 * judged on: with s2-fanout-filters, or BENCH_ONLY naming `filters-micro`.
 */
export function filterMicroSelected(): boolean {
  return ONLY ? ONLY.includes("filters-micro") || ONLY.includes(FILTERS_ID) : true;
}

/** The scenarios, in order. Durations scale with BENCH_SECONDS (default 30). */
export function scenarios(): ScenarioSpec[] {
  const ms = SECONDS * 1000;
  const s3Rate = Number(process.env.BENCH_S3_RATE ?? 20);
  const s3 = (id: string, title: string, plan: ScenarioSpec["endpoints"]): ScenarioSpec => ({
    id,
    title,
    tenants: 10,
    endpointsPerTenant: 10,
    endpoints: plan,
    load: { kind: "fixed", ratePerSecond: s3Rate, durationMs: ms },
    warmUpEvents: s3Rate * 10,
    measureLogged: false,
    drainMs: 15_000,
  });
  const floodEvents = Number(process.env.BENCH_FLOOD_EVENTS ?? 100_000);
  const flood = (
    id: string,
    title: string,
    durationMs: number,
    extra?: ScenarioSpec["flood"],
  ): ScenarioSpec => ({
    id,
    title,
    tenants: 20,
    endpointsPerTenant: 1,
    endpoints: () => "fast",
    load: { kind: "fixed", ratePerSecond: 200, durationMs },
    warmUpEvents: 2_000,
    measureLogged: false,
    drainMs: 60_000,
    ...(extra ? { flood: extra } : {}),
  });
  const slowReceivers = (id: string, title: string, plan: ScenarioSpec["endpoints"]): ScenarioSpec => ({
    id,
    title,
    tenants: 1,
    endpointsPerTenant: 100,
    endpoints: plan,
    load: { kind: "fixed", ratePerSecond: 5, durationMs: ms },
    warmUpEvents: 50,
    measureLogged: false,
    drainMs: 30_000,
  });
  /** One tenant with one fast endpoint; `rest` gives what differs from a steady, unlogged run. */
  const single = (
    id: string,
    title: string,
    load: ScenarioSpec["load"],
    warmUpEvents: number,
    rest: Partial<ScenarioSpec> = {},
  ): ScenarioSpec => ({
    id,
    title: `1 tenant × 1 endpoint, ${title}`,
    tenants: 1,
    endpointsPerTenant: 1,
    endpoints: () => "fast",
    load,
    warmUpEvents,
    measureLogged: false,
    drainMs: 30_000,
    ...rest,
  });
  /**
   * `base` with one thing changed, run only when BENCH_ONLY names it: the change's weight, measured
   * beside `base` in the same run.
   */
  const variant = (
    base: ScenarioSpec,
    id: string,
    change: string,
    rest: Partial<ScenarioSpec>,
  ): ScenarioSpec => ({ ...base, id, title: `${base.title}, ${change}`, ...rest, optIn: true });
  const singleJson = single(
    "single-json",
    `one event per Connect JSON call (HTTP/1.1), ${GOALS.singleConcurrency} in flight, as fast as possible`,
    { kind: "max", maxEvents: 200_000, maxMs: ms, batchSize: 1, concurrency: GOALS.singleConcurrency },
    // Past V8's optimising of the per-call code (see s1-500) in every process.
    15_000,
    { protocol: "connect-json", measureLogged: true, drainMs: 60_000 },
  );
  const singleGrpc = single(
    "single-grpc",
    `one event per gRPC call (HTTP/2), ${GOALS.singleConcurrency} in flight, as fast as possible`,
    { kind: "max", maxEvents: 200_000, maxMs: ms, batchSize: 1, concurrency: GOALS.singleConcurrency },
    15_000,
    { measureLogged: true, drainMs: 60_000 },
  );
  const single2000 = single(
    "single-2000",
    `${GOALS.singleSteadyRate.toLocaleString("en-US")} events/s as single Connect JSON calls`,
    { kind: "fixed", ratePerSecond: GOALS.singleSteadyRate, durationMs: ms },
    15_000,
    { protocol: "connect-json", measureLogged: true },
  );
  const all: ScenarioSpec[] = [
    single(
      "s1-max",
      "as fast as possible",
      { kind: "max", maxEvents: 200_000, maxMs: ms, batchSize: 50, concurrency: 16 },
      5_000,
      { measureLogged: true, drainMs: 60_000 },
    ),
    single(
      "s1-500",
      "500 events/s",
      { kind: "fixed", ratePerSecond: 500, durationMs: ms },
      // V8 compiles the per-request code of every process with TurboFan after about 10,500 events (its
      // invocation counts), all processes at once: a second of compiling on both cores, which in the
      // measured window was the worst second of nearly every run (p99 200-500 ms). The warm-up covers it.
      15_000,
    ),
    // s1-500 with audit's retention purge at work: 60,000 expired documents (15,000 in each purged
    // collection) are inserted after the warm-up and the purge runs every 5 s, so it deletes in batches
    // throughout the measured load. Its p99 against s1-500's is the purge's cost to delivery latency.
    // Opt-in (BENCH_PURGE=1, or BENCH_ONLY naming it), as it adds about two minutes to a run. With s1-500
    // in the run too, the two run as BENCH_PURGE_PAIRS alternating pairs (purge-pairs.ts).
    single(
      "s1-500-purge",
      "500 events/s, retention purge running",
      { kind: "fixed", ratePerSecond: 500, durationMs: ms },
      15_000,
      { env: { RETENTION_PURGE_INTERVAL: "5s" }, expiredDocuments: 15_000 },
    ),
    single(
      "s1-2000",
      `${GOALS.eventsPerSecond.toLocaleString("en-US")} events/s`,
      // The throughput goal as a steady rate: does Herald keep up with it, rather than how fast it empties
      // a backlog (s1-max, whose drain runs without ingest's share of the CPU). Batches as s1-max's.
      { kind: "fixed", ratePerSecond: GOALS.eventsPerSecond, durationMs: ms, batchSize: 50 },
      GOALS.eventsPerSecond * 10,
      { measureLogged: true },
    ),
    {
      id: "s2-fanout",
      title: "100 tenants × 10 endpoints, as fast as possible",
      tenants: 100,
      endpointsPerTenant: 10,
      endpoints: () => "fast",
      load: { kind: "max", maxEvents: 5_000, maxMs: ms, batchSize: 10, concurrency: 8 },
      warmUpEvents: 500,
      measureLogged: true,
      drainMs: 60_000,
    },
    {
      // s2-fanout with a CEL filter on every endpoint (test/bench/filters.ts) taking half the events: its
      // routing CPU per event against s2-fanout-channels' (the same half chosen by channel, so the same
      // tasks published), in the same run, is the filters' cost (issue 27).
      id: "s2-fanout-filters",
      title: "100 tenants × 10 endpoints with filters (half match), as fast as possible",
      tenants: 100,
      endpointsPerTenant: 10,
      endpoints: () => "fast",
      halfBy: "filter",
      load: { kind: "max", maxEvents: 5_000, maxMs: ms, batchSize: 10, concurrency: 8 },
      warmUpEvents: 500,
      measureLogged: true,
      drainMs: 60_000,
    },
    {
      id: "s2-fanout-channels",
      title: "100 tenants × 10 endpoints taking half the events by channel, as fast as possible",
      tenants: 100,
      endpointsPerTenant: 10,
      endpoints: () => "fast",
      halfBy: "channel",
      load: { kind: "max", maxEvents: 5_000, maxMs: ms, batchSize: 10, concurrency: 8 },
      warmUpEvents: 500,
      measureLogged: true,
      drainMs: 60_000,
    },
    // Single-event calls, as REST users publish to Herald's peers: one event per call, the caller waiting
    // for each answer (which comes after the insert and the broker's confirm).
    singleJson,
    singleGrpc,
    // The load generator changed, to measure in the same run what it weighs: in a worker thread of its
    // own, off the event loop the receivers share, or (gRPC) another client than grpc-js.
    variant(singleGrpc, "single-grpc-load-thread", "the load generator in a thread of its own", {
      ownLoadThread: true,
    }),
    variant(singleGrpc, "single-grpc-connect", "connect-es's gRPC client", { grpcClient: "connect-es" }),
    variant(singleGrpc, "single-grpc-lean", "calls written on node:http2", { grpcClient: "http2" }),
    variant(singleJson, "single-json-load-thread", "the load generator in a thread of its own", {
      ownLoadThread: true,
    }),
    single2000,
    // Ingest's writer writing each round at once (INGEST_INSERT_GATHER=0ms), as before it gathered: the
    // gathering's effect on CPU per event and latency.
    variant(single2000, "single-2000-nogather", "no insert gathering", {
      env: { INGEST_INSERT_GATHER: "0ms" },
    }),
    // From a start, as after a deploy: the services are restarted once the tenant and its endpoint
    // exist, and the load begins the moment all four are ready, with no warm-up.
    single(
      "cold-start",
      `${GOALS.coldStartRate.toLocaleString("en-US")} events/s as single Connect JSON calls from a restart`,
      { kind: "fixed", ratePerSecond: GOALS.coldStartRate, durationMs: GOALS.coldStartSeconds * 1000 },
      0,
      { protocol: "connect-json", restartBeforeLoad: true },
    ),
    s3(`s3-healthy`, `10 tenants × 10 endpoints, ${s3Rate} events/s, all healthy`, () => "fast"),
    s3(`s3-failing`, `10 tenants × 10 endpoints, ${s3Rate} events/s, 10% failing (500)`, (i) =>
      i === 0 ? "failing" : "fast",
    ),
    s3(`s3-slow`, `10 tenants × 10 endpoints, ${s3Rate} events/s, 10% slow (200 ms)`, (i) =>
      i === 0 ? "slow" : "fast",
    ),
    // Fairness between tenants (docs/decisions/fair-delivery.md): 20 quiet tenants at 200 events/s in
    // all, alone and then beside one tenant publishing FLOOD_EVENTS as fast as it can.
    flood("flood-quiet", "20 tenants × 1 endpoint, 200 events/s in all, no flood", ms),
    flood(
      "flood",
      `20 tenants × 1 endpoint, 200 events/s in all, while 1 tenant publishes ${floodEvents.toLocaleString("en-US")} events as fast as it can`,
      2 * ms,
      { events: floodEvents, batchSize: 50, concurrency: 16 },
    ),
    // Isolation of slow endpoints: 500 deliveries/s over 100 endpoints, all healthy, then 10 answering
    // after 10 s and 2 never (within the default 15 s request timeout, so their requests are held).
    slowReceivers(
      "slow-receivers-healthy",
      "1 tenant × 100 endpoints, 500 deliveries/s, all healthy",
      () => "fast",
    ),
    slowReceivers(
      "slow-receivers",
      "1 tenant × 100 endpoints, 500 deliveries/s, 10 answering after 10 s and 2 never",
      (i) => (i < 10 ? "stalled" : i < 12 ? "hanging" : "fast"),
    ),
  ];
  const purgeScenario = process.env.BENCH_PURGE === "1";
  const optIn = (spec: ScenarioSpec) => (spec.id === "s1-500-purge" && !purgeScenario) || spec.optIn === true;
  return all.filter((s) => (ONLY ? ONLY.includes(s.id) : !optIn(s)));
}

/** The results docs/benchmarks.md was last rendered from, committed beside it. */
const COMMITTED_RESULTS = `${REPO_ROOT}docs/benchmarks.json`;

function committedResults(): BenchResults | undefined {
  if (!existsSync(COMMITTED_RESULTS)) return undefined;
  return JSON.parse(readFileSync(COMMITTED_RESULTS, "utf8")) as BenchResults;
}

/**
 * Writes the page, its chart and the results they were rendered from; the results are committed, so a
 * later run that leaves out the hour-long scenarios (reads, portal pages) can carry theirs over.
 */
function writeDocs(results: BenchResults): void {
  writeFileSync(COMMITTED_RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${REPO_ROOT}docs/benchmarks.svg`, renderSvg(results));
  writeFileSync(`${REPO_ROOT}docs/benchmarks.md`, renderMarkdown(results));
}

export async function main(): Promise<number> {
  // BENCH_RENDER=<results.json>: write the docs from a run's results again, running nothing.
  if (process.env.BENCH_RENDER) {
    const rendered = JSON.parse(readFileSync(process.env.BENCH_RENDER, "utf8")) as BenchResults;
    writeDocs(carryUnmeasured(rendered, committedResults()));
    process.stderr.write(`[bench] wrote docs/benchmarks.{md,svg,json} from ${process.env.BENCH_RENDER}\n`);
    return 0;
  }
  const started = nowMs();
  const tty = process.stderr.isTTY;
  let progressShown = false;
  const log = (line: string) => {
    if (progressShown && tty) process.stderr.write("\r\x1b[K");
    progressShown = false;
    process.stderr.write(`[bench] ${line}\n`);
  };
  const progress = (line: string) => {
    if (tty) {
      process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 160) - 1)}`);
      progressShown = true;
    } else {
      process.stderr.write(`${line}\n`);
    }
  };

  let infra: Infra | undefined;
  let rabbit: Connection | undefined;
  let interrupted = false;
  // The run stops itself: should stopping hang (a service stuck on its database, say), it ends
  // anyway, the exit handler below killing what it started.
  const forceExit = (why: string) => {
    log(`${why}: exiting without waiting any longer`);
    process.exit(1);
  };
  const order = repeatColdStart(
    runOrder(scenarios(), [
      purgeComparison(PURGE_PAIRS),
      filterComparison(FILTER_PAIRS),
      healthyRunComparison(SLOW_RECEIVERS, SLOW_PAIRS),
      healthyRunComparison(FAILING_ENDPOINTS, FAILING_PAIRS),
    ]),
    COLD_STARTS,
  );
  // Two runs for each pair past the first of its comparison.
  const extraPairs = order.filter((r) => r.pair !== undefined && r.pair > 1).length / 2;
  const extraColdStarts = Math.max(0, order.filter((r) => r.spec.id === COLD_START_ID).length - 1);
  const loadBudgetSeconds =
    BUDGET_SECONDS +
    Math.max(0, extraPairs) * PAIR_BUDGET_SECONDS +
    extraColdStarts * COLD_START_BUDGET_SECONDS;
  // The reads and portal-pages scenarios each have READS_BUDGET_SECONDS of their own.
  const budgetSeconds =
    loadBudgetSeconds + (Number(readsSelected()) + Number(portalPagesSelected())) * READS_BUDGET_SECONDS;
  const overBudget = setTimeout(
    () => forceExit(`over the budget of ${budgetSeconds} s by 3 minutes (building included)`),
    (budgetSeconds + 180) * 1000,
  );
  overBudget.unref();
  const onSignal = () => {
    interrupted = true;
    log("interrupted: stopping what was started");
    setTimeout(() => forceExit("still stopping 30 s after the interrupt"), 30_000).unref();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // An error nothing handled (a connection to the shared broker dropping, say) stops the run the same way,
  // so what was started is still stopped; the run then fails.
  let crashed: unknown;
  const onCrash = (err: unknown) => {
    crashed ??= err;
    log(`unexpected error, stopping: ${(err as Error)?.stack ?? err}`);
    interrupted = true;
  };
  process.on("uncaughtException", onCrash);
  // Last resort if this process dies anyway: the processes it started must not outlive it.
  const killStarted = () => {
    for (const pid of [...startedPids(), ...(infra?.mongoPid ? [infra.mongoPid] : [])]) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  };
  process.once("exit", killStarted);
  try {
    infra = await ensureInfra(log);
    process.env.AMQP_URL = infra.amqpUrl;
    process.env.MONGO_URL = infra.mongoUrl;
    log(`RabbitMQ ${redact(infra.amqpUrl)}, MongoDB ${infra.mongoKind}`);
    const machine = machineInfo(await rabbitVersion());

    log("raw ceilings: RabbitMQ, undici, MongoDB wire server");
    const raw: RawResult[] = [];
    const measureRaw = async (name: string, part: () => Promise<RawResult | RawResult[]>) => {
      try {
        raw.push(...[await part()].flat());
      } catch (err) {
        // One part failing (the shared broker restarting, say) leaves a gap, not a failed run.
        log(`raw ${name} failed: ${(err as Error).message}`);
        raw.push({ name, perSecond: 0, detail: `failed: ${(err as Error).message}` });
      }
    };
    await measureRaw("RabbitMQ", () => rabbitRaw(infra?.amqpUrl ?? ""));
    await measureRaw("undici", () => undiciRaw());
    await measureRaw("MongoDB", () => mongoRaw(infra?.mongoUrl ?? ""));
    for (const r of raw) log(`  ${r.name}: ${r.perSecond}/s (${r.detail})`);

    rabbit = new Connection({
      ...amqpConnectionOptions(infra.amqpUrl),
      connectionName: "herald-bench-monitor",
    });
    // The broker may be restarted under us (other test runs share it): reconnects are automatic.
    let interruptions = 0;
    rabbit.on("error", (err) => {
      interruptions++;
      log(`monitor connection: ${err.message}`);
    });
    const extraPids = () => {
      const pids: Record<string, number[]> = {};
      // The broker's Erlang VM, not those of rabbitmqctl calls.
      const beam = pidsByName("beam.smp", "-s rabbit boot");
      if (beam.length > 0 && /127\.0\.0\.1|localhost/.test(infra?.amqpUrl ?? "")) pids.rabbitmq = beam;
      if (infra?.mongoPid) pids.ferretdb = [infra.mongoPid];
      return pids;
    };
    const ctx: ScenarioContext = {
      mongoUrl: infra.mongoUrl,
      rabbit,
      extraPids,
      progress,
      log,
      stop: () => interrupted,
      brokerInterruptions: () => interruptions,
      brokerCounters: () => readBrokerCounters(infra?.amqpUrl ?? ""),
    };

    // Each scenario gets an equal share of what is left of the budget; drains end early to keep to it.
    const budgetEnd = started + loadBudgetSeconds * 1000;
    const runs: Array<{ pair?: number; coldRun?: number; result: ScenarioResult }> = [];
    for (const [i, { spec, pair, coldRun }] of order.entries()) {
      if (interrupted) break;
      const endBy = nowMs() + (budgetEnd - nowMs()) / (order.length - i);
      await infra.freshMongo();
      const result = await runScenario(spec, ctx, endBy);
      runs.push({ pair, coldRun, result });
      const tag =
        pair !== undefined ? `pair ${pair}: ` : coldRun !== undefined ? `cold start ${coldRun}: ` : "";
      log(`${tag}${summary(result)}`);
    }
    const { scenarios: kept, coldStarts } = collectColdStarts(runs);
    const results = firstRuns(kept);
    const pairs = purgePairs(kept);
    const filters = filterPairs(kept);
    const slow = healthyPairs(SLOW_RECEIVERS, kept);
    const failing = healthyPairs(FAILING_ENDPOINTS, kept);
    let filterMicro: FilterMicroResult | undefined;
    if (filterMicroSelected() && !interrupted) {
      // After the scenarios, with no stack running: the micro-benchmark's two sides alternate in one process.
      log("filters' micro-benchmark (test/bench/micro/route-filters.ts)");
      try {
        filterMicro = await measureFilterMicro();
        log(
          `  filters ${filterMicro.perEndpointUs} µs per event per endpoint (${filterMicro.filteredUs} against ${filterMicro.channelsUs} µs an event)`,
        );
      } catch (err) {
        // A gap in the results, not a failed run: the goal then falls back to the pairs.
        log(`  failed: ${(err as Error).message}`);
      }
    }
    let reads: ReadsResult | undefined;
    if (readsSelected() && !interrupted) {
      // Last, and on a FerretDB of its own: its million events stay out of every other scenario.
      await infra.freshMongo();
      reads = await runReads(
        ctx,
        readsOptions(process.env, infra.dataDir),
        nowMs() + READS_BUDGET_SECONDS * 1000,
      );
      for (const size of reads.sizes) {
        log(
          `reads at ${size.events} events (${size.storage.bytesPerEvent} bytes each): ` +
            Object.entries(size.reads)
              .map(([id, m]) => `${id} ${describe(m, reads?.capSeconds ?? 0)}`)
              .join("; "),
        );
      }
    }
    let portalPages: PortalPagesResult | undefined;
    if (portalPagesSelected() && !interrupted) {
      await infra.freshMongo();
      portalPages = await runPortalPages(
        ctx,
        readsOptions(process.env, infra.dataDir),
        nowMs() + READS_BUDGET_SECONDS * 1000,
      );
      for (const size of portalPages.sizes) {
        log(
          `portal pages at ${size.events} events (load average ${size.loadAverage}): ` +
            Object.entries(size.pages)
              .map(([id, m]) => `${id} ${describe(m, portalPages?.capSeconds ?? 0)}`)
              .join("; "),
        );
      }
    }
    if (crashed) return 1;
    if (interrupted) return 130;

    const bench: BenchResults = {
      machine,
      infra: { rabbitmq: redact(infra.amqpUrl), mongodb: infra.mongoKind },
      settings: { secondsPerScenario: SECONDS },
      raw,
      scenarios: results,
      ...(reads ? { reads } : {}),
      ...(portalPages ? { portalPages } : {}),
      ...(pairs.length > 0 ? { purgePairs: pairs } : {}),
      ...(filters.length > 0 ? { filterPairs: filters } : {}),
      ...(slow.length > 0 ? { slowPairs: slow } : {}),
      ...(failing.length > 0 ? { failingPairs: failing } : {}),
      ...(filterMicro ? { filterMicro } : {}),
      ...(coldStarts.length > 0 ? { coldStarts } : {}),
      totalSeconds: round((nowMs() - started) / 1000),
    };
    if (ONLY) {
      log("BENCH_ONLY set: results kept in bench-results/partial.json, docs left as they are");
      mkdirSync(`${REPO_ROOT}bench-results`, { recursive: true });
      writeFileSync(`${REPO_ROOT}bench-results/partial.json`, `${JSON.stringify(bench, null, 2)}\n`);
      return 0;
    }
    mkdirSync(`${REPO_ROOT}bench-results`, { recursive: true });
    writeFileSync(`${REPO_ROOT}bench-results/latest.json`, `${JSON.stringify(bench, null, 2)}\n`);
    writeDocs(carryUnmeasured(bench, committedResults()));
    log(`wrote bench-results/latest.json, docs/benchmarks.{md,svg,json} in ${bench.totalSeconds} s`);
    return 0;
  } catch (err) {
    log(`failed: ${(err as Error).stack ?? err}`);
    return 1;
  } finally {
    clearTimeout(overBudget);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("uncaughtException", onCrash);
    process.off("exit", killStarted);
    await rabbit?.close().catch(() => undefined);
    await infra?.stop();
  }
}

function summary(r: ScenarioResult): string {
  const parts = [
    `${r.id}: published ${r.publish.accepted} (${r.publish.eventsPerSecond}/s)`,
    `delivered ${r.delivery.unique}/${r.delivery.expected} (${r.delivery.deliveriesPerSecond}/s)`,
  ];
  if (r.logged) parts.push(`logged ${r.logged.count}/${r.logged.expected} (${r.logged.attemptsPerSecond}/s)`);
  const l = r.delivery.latencyMs;
  parts.push(`publish→received p50/p95/p99 ${l.p50}/${l.p95}/${l.p99} ms`);
  const cpu = Object.keys(r.processes).map((name) => `${name.split(" ")[0]} ${cpuPerEventUs(r, name)}`);
  parts.push(`CPU µs/event: ${cpu.join(", ")}`);
  const ingestLoad = r.processes.ingest?.loadCpuSeconds;
  if (ingestLoad !== undefined && r.publish.accepted > 0)
    parts.push(`ingest while loaded ${Math.round((ingestLoad * 1e6) / r.publish.accepted)} µs/event`);
  parts.push(`load average ${r.loadAverageBefore.join(" ")}`);
  if (r.cpuProbeUs !== undefined) parts.push(`CPU probe ${r.cpuProbeUs} µs`);
  const errors = Object.entries(r.publish.errors);
  if (errors.length > 0) parts.push(`errors ${errors.map(([k, v]) => `${k}: ${v}`).join(", ")}`);
  if (r.flood) {
    const f = r.flood;
    parts.push(
      `flood: ${f.accepted} accepted in ${f.publishSeconds} s, ${f.unique} delivered in ${f.seconds} s ` +
        `(${f.deliveriesPerSecond}/s), p99 ${f.latencyMs.p99} ms`,
    );
  }
  const hops = Object.entries(r.deliveryHops ?? {}).filter(([, n]) => n > 0);
  if (hops.length > 0)
    parts.push(`sent through a retry tier: ${hops.map(([k, v]) => `${k} ${v}`).join(", ")}`);
  for (const group of Object.values(r.delivery.groups)) {
    if (group.kind === "fast") continue;
    parts.push(`${group.kind} endpoints got ${group.received} requests`);
  }
  return parts.join(", ");
}
