// Renders a run as docs/benchmarks.md and docs/benchmarks.svg (a hand-made SVG: no chart library).

import {
  AUDIT_RECORD_GATHER_MS,
  MAX_BATCH_PAYLOAD_BYTES,
  MAX_RECORDS_PER_MESSAGE,
  MAX_TASKS_PER_MESSAGE,
} from "@herald/platform/model";
import type { BrokerPerEvent } from "./broker-counters.js";
import { type ColdStartRun, coldStartGoal, DEFAULT_COLD_STARTS } from "./cold-starts.js";
import type { FilterMicroResult } from "./filter-micro.js";
import { DEFAULT_FILTER_PAIRS, FILTER_US_GOAL, type FilterPair, filterGoal } from "./filter-pairs.js";
import {
  DEFAULT_HEALTHY_PAIRS,
  FAILING_ENDPOINTS,
  type HealthyComparison,
  type HealthyPair,
  type HealthyPairSide,
  healthyGoal,
  SLOW_RECEIVERS,
} from "./healthy-pairs.js";
import { PAGE_GOAL_MS, type PortalPagesResult } from "./portal-pages.js";
import { DEFAULT_PAIRS, PURGE_P99_RATIO, type PurgePair, purgeGoal } from "./purge-pairs.js";
import type { RawResult } from "./raw.js";
import type { ReadMeasure, ReadsResult } from "./reads.js";
import type { ScenarioResult } from "./scenario.js";
import { type MachineInfo, round } from "./system.js";

export interface BenchResults {
  machine: MachineInfo;
  infra: { rabbitmq: string; mongodb: string };
  settings: { secondsPerScenario: number };
  raw: RawResult[];
  scenarios: ScenarioResult[];
  /** The reads scenario, when the run had it. */
  reads?: ReadsResult;
  /** The portal-pages scenario, when the run had it. */
  portalPages?: PortalPagesResult;
  /**
   * s1-500 against s1-500-purge, pair by pair, when the run had both (the first pair's results are also
   * in `scenarios`). Absent in runs saved before pairs: their two scenarios then count as one pair.
   */
  purgePairs?: PurgePair[];
  /**
   * s2-fanout-channels against s2-fanout-filters, pair by pair, when the run had both (the first pair's
   * results are also in `scenarios`). Absent in runs saved before these pairs: one pair then.
   */
  filterPairs?: FilterPair[];
  /**
   * slow-receivers-healthy against slow-receivers, pair by pair, when the run had both (the first
   * pair's results are also in `scenarios`). Absent in runs saved before these pairs: one pair then.
   */
  slowPairs?: HealthyPair[];
  /**
   * s3-healthy against s3-failing, pair by pair, when the run had both (the first pair's results are
   * also in `scenarios`). Absent in runs saved before these pairs: one pair then.
   */
  failingPairs?: HealthyPair[];
  /** The filters' in-process micro-benchmark (filter-micro.ts), which the filters' goal is judged on. */
  filterMicro?: FilterMicroResult;
  /** Every run of cold-start, in order, when the run had it (the first is also in `scenarios`). */
  coldStarts?: ColdStartRun[];
  /**
   * Parts this run did not measure, taken from the run the committed docs were rendered from
   * (docs/benchmarks.json): the date of the run that measured each.
   */
  carried?: { reads?: string; portalPages?: string; filterMicro?: string };
  totalSeconds: number;
}

/** The parts of a run that a later run may leave out and carry from the committed results. */
const CARRIED_PARTS = ["reads", "portalPages", "filterMicro"] as const;

/**
 * A run's results with the reads and portal-pages scenarios and the filters' micro-benchmark of
 * `previous` (the committed results) where the run left them out (`BENCH_READS=0`, as they take most of
 * an hour), marked as carried with the date of the run that measured them, so re-rendering the docs does
 * not drop them.
 */
export function carryUnmeasured(run: BenchResults, previous: BenchResults | undefined): BenchResults {
  if (!previous) return run;
  const carried = { ...run.carried };
  const out: BenchResults = { ...run };
  const carry = <P extends (typeof CARRIED_PARTS)[number]>(part: P) => {
    if (run[part] || !previous[part]) return;
    out[part] = previous[part];
    carried[part] = previous.carried?.[part] ?? previous.machine.date;
  };
  for (const part of CARRIED_PARTS) carry(part);
  if (CARRIED_PARTS.some((part) => carried[part])) out.carried = carried;
  return out;
}

/** The line under a carried section's heading. */
function carriedNote(date: string | undefined): string[] {
  return date
    ? [`_Not measured in this run: carried from the run of ${date} (docs/benchmarks.json)._`, ""]
    : [];
}

export const GOALS = {
  eventsPerSecond: 2_000,
  p99Ms: 100,
  healthyP99Ratio: FAILING_ENDPOINTS.p99Ratio,
  /** Every read of the API at this many events of one tenant (and their attempts)… */
  readsAtEvents: 1_000_000,
  /** …answers with a p99 within this… */
  readP99Ms: 50,
  /**
   * …and its cost does not grow with the log: its p50 at the largest size is within this factor of its
   * p50 at the smallest (plus {@link READ_GROWTH_SLACK_MS}), where a read of the whole log would grow 100 ×.
   */
  readGrowth: 2,
  /** Quiet tenants' p99 beside a flood: within this factor of theirs without it… */
  floodP99Ratio: 2,
  /** …and under this. */
  floodP99Ms: 500,
  /** The flood drains at this share of s1-max's rate (the machine's full rate) or more. */
  floodRateShare: 0.8,
  /** Healthy endpoints' p99 beside stalled and hanging ones, the median over pairs (healthy-pairs.ts). */
  slowReceiversP99Ratio: SLOW_RECEIVERS.p99Ratio,
  /** …and their delivered rate, the median over pairs (unchanged, within noise). */
  slowReceiversRateShare: SLOW_RECEIVERS.rateShare ?? 0,
  /** Single-event calls (one event per call) in flight at once in single-json and single-grpc… */
  singleConcurrency: 64,
  /** …which deliver and log at least this many events per second (twice the fastest peer measured). */
  singleEventsPerSecond: 3_200,
  /** Single-event calls offered per second in single-2000, kept up with… */
  singleSteadyRate: 2_000,
  /** …with publish→received p99 within this, as in cold-start's first seconds. */
  singleP99Ms: 250,
  /** Single-event calls per second from a restart, in cold-start, for this many seconds. */
  coldStartRate: 1_000,
  coldStartSeconds: 20,
  /** "A few µs": routing's filter cost per event per endpoint, the median over pairs (filter-pairs.ts). */
  filterUsPerEventPerEndpoint: FILTER_US_GOAL,
};

/** What the fairness goals came to in this run: undefined for a scenario pair the run did not have. */
export function fairnessGoals(results: BenchResults) {
  const find = (id: string) => results.scenarios.find((s) => s.id === id);
  const ratio = (a?: number, b?: number) => (a !== undefined && b ? round(a / b, 2) : undefined);
  const flood = find("flood");
  const quiet = find("flood-quiet");
  const full = find("s1-max");
  const floodRatio = ratio(flood?.delivery.latencyMs.p99, quiet?.delivery.latencyMs.p99);
  const floodRateShare = ratio(flood?.flood?.deliveriesPerSecond, full?.delivery.deliveriesPerSecond);
  return {
    flood:
      flood && quiet
        ? {
            p99: flood.delivery.latencyMs.p99,
            quietP99: quiet.delivery.latencyMs.p99,
            ratio: floodRatio,
            floodRate: flood.flood?.deliveriesPerSecond,
            fullRate: full?.delivery.deliveriesPerSecond,
            rateShare: floodRateShare,
            met:
              (floodRatio ?? Infinity) <= GOALS.floodP99Ratio &&
              flood.delivery.latencyMs.p99 <= GOALS.floodP99Ms &&
              flood.delivery.complete &&
              flood.flood?.complete === true &&
              (floodRateShare ?? 0) >= GOALS.floodRateShare,
          }
        : undefined,
    slowReceivers: healthyGoalOf(SLOW_RECEIVERS, results),
  };
}

/** Timings of a few ms vary by a few ms from run to run, whatever the log's size. */
const READ_GROWTH_SLACK_MS = 5;

/** What the reads goal came to for each read: met at the top size, or why not. */
export function readGoals(reads: ReadsResult): Array<{ id: string; met: boolean; why: string }> {
  const first = reads.sizes[0];
  const top = reads.sizes[reads.sizes.length - 1];
  return reads.reads.map(({ id }) => {
    const a = first?.reads[id];
    const z = top?.reads[id];
    if (!top || !first || !z || !a) return { id, met: false, why: "not measured" };
    if (z.error) return { id, met: false, why: "failed" };
    if (z.overCap || z.count === 0) return { id, met: false, why: `over ${reads.capSeconds} s` };
    const growth = a.p50 > 0 ? round(z.p50 / a.p50, 1) : 1;
    const flat = z.p50 <= GOALS.readGrowth * a.p50 + READ_GROWTH_SLACK_MS;
    const fast = z.p99 <= GOALS.readP99Ms;
    const whole = top.events >= GOALS.readsAtEvents;
    const why = [
      `p99 ${fmt(Math.round(z.p99))} ms`,
      reads.sizes.length > 1 ? `p50 ${growth} × that at ${fmt(first.events)}` : "",
      whole ? "" : `measured up to ${fmt(top.events)} events only`,
    ]
      .filter(Boolean)
      .join(", ");
    return { id, met: fast && flat && whole, why };
  });
}

/**
 * At a steady rate Herald keeps up with, an event waits tens of milliseconds; once it falls behind, the
 * queue and so the wait grow for as long as the load lasts. A p99 over this means it fell behind.
 */
const KEPT_UP_P99_MS = 1_000;
/** Kept up also means the log: complete within this of the last delivery. */
const KEPT_UP_LOG_LAG_SECONDS = 1;

/** What the three goals came to in this run. */
export function goals(results: BenchResults) {
  const find = (id: string) => results.scenarios.find((s) => s.id === id);
  const sustained = find("s1-2000");
  const fixed = find("s1-500");
  const healthy = find("s3-healthy");
  const failing = find("s3-failing");
  const slow = find("s3-slow");
  const endToEnd = sustained
    ? Math.min(sustained.delivery.eventsPerSecond, sustained.logged?.attemptsPerSecond ?? 0)
    : undefined;
  const keptUp =
    sustained !== undefined &&
    sustained.publish.accepted === sustained.publish.sent &&
    sustained.publish.unsent === 0 &&
    sustained.delivery.complete &&
    sustained.delivery.latencyMs.p99 <= KEPT_UP_P99_MS &&
    sustained.logged?.complete === true &&
    sustained.logged.seconds - sustained.delivery.seconds <= KEPT_UP_LOG_LAG_SECONDS;
  const p99 = fixed?.delivery.latencyMs.p99;
  const ratio = (other?: ScenarioResult) =>
    healthy && other && healthy.delivery.latencyMs.p99 > 0
      ? round(other.delivery.latencyMs.p99 / healthy.delivery.latencyMs.p99, 2)
      : undefined;
  const singleMax = (s: ScenarioResult | undefined) =>
    s ? Math.min(s.delivery.eventsPerSecond, s.logged?.attemptsPerSecond ?? 0) : undefined;
  const singleMaxMet = (s: ScenarioResult | undefined) =>
    s?.delivery.complete === true &&
    s.logged?.complete === true &&
    (singleMax(s) ?? 0) >= GOALS.singleEventsPerSecond;
  const single = (id: string) => {
    const s = find(id);
    return { scenario: s, perSecond: singleMax(s), met: singleMaxMet(s) };
  };
  const steady = find("single-2000");
  const within = (s: ScenarioResult | undefined) =>
    s !== undefined &&
    s.publish.accepted === s.publish.sent &&
    s.publish.unsent === 0 &&
    s.delivery.complete &&
    s.delivery.latencyMs.p99 <= GOALS.singleP99Ms;
  return {
    singleJson: single("single-json"),
    singleGrpc: single("single-grpc"),
    singleSteady: { scenario: steady, met: within(steady) && steady?.logged?.complete === true },
    coldStart: coldStartGoal(results, GOALS.singleP99Ms),
    endToEnd,
    endToEndP99: sustained?.delivery.latencyMs.p99,
    endToEndMet: keptUp,
    p99,
    p99Met: p99 !== undefined && p99 <= GOALS.p99Ms && fixed?.delivery.complete === true,
    failingRatio: ratio(failing),
    slowRatio: ratio(slow),
    filters: filterGoal(results),
  };
}

const fmt = (n: number | undefined) => (n === undefined ? "–" : n.toLocaleString("en-US"));
const ms = (n: number | undefined) => fmt(n === undefined ? undefined : Math.round(n));
/** A ratio as the report shows it: "1.2 ×", or "–" where there is none. */
const times = (ratio: number | undefined) => (ratio === undefined ? "–" : `${ratio} ×`);
/** Each pair's ratio, in order. */
const pairRatios = (pairs: Array<{ ratio?: number }>) => pairs.map((p) => times(p.ratio)).join(", ");
const pct = (p: { p50: number; p95: number; p99: number }) => `${ms(p.p50)} / ${ms(p.p95)} / ${ms(p.p99)}`;
const yes = (met: boolean) => (met ? "**met**" : "**not met**");

export function renderMarkdown(results: BenchResults): string {
  const { machine } = results;
  const g = goals(results);
  const by = (id: string) => results.scenarios.find((s) => s.id === id);
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);

  push(
    "# Benchmarks",
    "",
    "<!-- Generated by `npm run bench` (test/bench): edit the generator, not this file. -->",
    "",
    "`npm run bench` builds Herald, starts RabbitMQ and a MongoDB wire server like `scripts/infra.sh` (or uses",
    "`AMQP_URL` / `MONGO_URL`), measures the machine's raw ceilings, then runs each scenario on a fresh stack",
    "(the four services from `apps/*/dist`, their own RabbitMQ namespace and database, removed afterwards)",
    "with local receivers and a load generator publishing over gRPC (stock `@grpc/grpc-js`). It writes",
    "`bench-results/latest.json`, this page and [benchmarks.svg](benchmarks.svg). `BENCH_SECONDS` sets the",
    `load phase of each scenario (here ${results.settings.secondsPerScenario} s); \`BENCH_ONLY=s1-500,…\` runs some scenarios only`,
    "(results then go to `bench-results/partial.json`); `BENCH_RENDER=bench-results/latest.json` writes this page again",
    "from a run's results. `BENCH_PURGE=1` adds `s1-500-purge`: s1-500 while audit's retention purge deletes 60,000",
    `expired documents in batches, run with s1-500 as \`BENCH_PURGE_PAIRS\` (${DEFAULT_PAIRS}) alternating pairs to compare their p99`,
    `([below](#retention-purge-against-s1-500)). \`cold-start\` restarts the stack \`BENCH_COLD_STARTS\` (${DEFAULT_COLD_STARTS}) times in a row, and its goal judges the median p99.`,
    `s2-fanout-channels and s2-fanout-filters run as \`BENCH_FILTER_PAIRS\` (${DEFAULT_FILTER_PAIRS}) alternating pairs, and after the scenarios a micro-benchmark times routing's decision with and without the filters in one process (\`BENCH_ONLY=filters-micro\` runs it alone) for the filters' goal ([below](#filters-against-channels)). slow-receivers-healthy and slow-receivers, and s3-healthy and s3-failing, run as \`BENCH_SLOW_PAIRS\` and \`BENCH_FAILING_PAIRS\` (${DEFAULT_HEALTHY_PAIRS}) alternating pairs ([below](#slow-receivers-against-all-healthy)).`,
    "Some scenarios run only when `BENCH_ONLY` names them: each changes one thing of a judged one, to measure its weight in the same run:",
    "`single-2000-nogather` (ingest's insert gathering off), `single-grpc-load-thread` and `single-json-load-thread` (the load generator in a",
    "worker thread of its own), `single-grpc-connect` and `single-grpc-lean` (connect-es's gRPC client, or calls written on node:http2, instead of",
    "grpc-js) ([why](decisions/single-event-speed.md)).",
    "The `reads` scenario runs last, on a FerretDB of its own (`BENCH_READS=0`",
    "leaves it out, `BENCH_ONLY=reads` runs it alone): it fills one tenant's log to 10,000, 100,000 and 1,000,000 events",
    "and times every read of the API at each size ([below](#reads-as-the-log-grows)); `BENCH_READS_MAX` lowers the top size,",
    "`BENCH_READS_SAMPLES` (200) and `BENCH_READS_CAP_SECONDS` (20) set the calls per read and the time each read gets.",
    "The load scenarios take under 10 minutes; the reads scenario grows the log no more once `BENCH_READS_BUDGET_SECONDS` (1200)",
    "have passed. A run fails only on errors, never on a missed goal. To profile the",
    'services, `BENCH_SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` (or `--trace-gc`; one service:',
    '`BENCH_INGEST_NODE_ARGS="--inspect=127.0.0.1:9229"`); to profile FerretDB,',
    "`HERALD_FERRETDB_PPROF=127.0.0.1:6060` (Go's `/debug/pprof/`); `BENCH_KEEP_LOGS=1` keeps the services'",
    "logs in `bench-results/logs/`.",
    "",
    "## Machine of this run",
    "",
    `- ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB; ${machine.os}`,
    `- Node ${machine.node}; ${machine.rabbitmq} at ${results.infra.rabbitmq}; MongoDB: ${results.infra.mongodb}`,
    `- ${machine.date}; the whole run took ${Math.round(results.totalSeconds)} s`,
    "- Everything shares the machine: the four services, RabbitMQ, the MongoDB wire server, the load generator and",
    "  the receivers (one process). Tracing is off (`OTEL_SDK_DISABLED=true`, as in the e2e suite); logs at `warn`.",
    "  The benchmark process runs with V8's memory reducer off (`--no-memory-reducer`): a few seconds after a",
    "  scenario's stack stopped, it shrank the process's heap in one full collection that stood the process still",
    "  for about 110 ms, often inside the next scenario's load, where it delayed the receipt times being measured.",
    "- Herald's patches are in: to rabbitmq-client ([patches/](../patches/README.md)) and, when the run starts its own",
    "  FerretDB, to FerretDB ([tools/ferretdb/patches/](../tools/ferretdb/patches/README.md)). Each says what it",
    "  changes and what it was measured to do.",
    "",
    "![Throughput and latency per scenario](benchmarks.svg)",
    "",
    "## Goals",
    "",
    "| goal | measured | |",
    "| --- | --- | --- |",
    `| ≥ ${fmt(GOALS.eventsPerSecond)} events/s delivered and logged end to end (1 tenant × 1 endpoint), kept up with as a steady rate | ${fmt(g.endToEnd)} events/s at ${fmt(GOALS.eventsPerSecond)}/s offered, p99 ${ms(g.endToEndP99)} ms | ${yes(g.endToEndMet)} |`,
    `| p99 publish→received ≤ ${GOALS.p99Ms} ms at 500 events/s | p99 ${ms(g.p99)} ms | ${yes(g.p99Met)} |`,
    ...failingGoalRows(results),
    ...singleGoalRows(g),
    ...filterGoalRows(g.filters),
    ...(results.reads ? [readsGoalRow(results.reads)] : []),
    ...fairnessRows(results),
    ...purgeGoalRows(results),
    "",
  );

  push(
    "## Scenarios",
    "",
    "Rates are counted from the first publish to the last event delivered (or logged). *Logged* means audit",
    "wrote the attempt to its log (`attempts` in MongoDB): timed by audit's `herald_audit_records_stored_total`,",
    "then checked by counting the attempts in the log once the window ended (a count on FerretDB reads every",
    "document, so counting while audit writes would slow what it measures). Latencies are in ms:",
    "*publish→received* from the call to the receiver getting the POST, at endpoints answering 2xx;",
    "*publish call* is the gRPC call itself (a batch of events for PublishEvents). Before its load, each",
    "scenario warms the stack up, uncounted: one event per tenant, then more events shaped like the load, at",
    "its rate (*warm-up* in the notes), and waits until all are delivered and the queues are empty. The",
    "figures are those of a running stack (compiled code, filled caches, open connections); a freshly started",
    "one is slower for its first seconds (at 500 events/s from cold, events once waited up to 6 s before it caught up).",
    "",
    "| scenario | events published/s | events delivered/s | deliveries/s | attempts logged/s | publish→received p50 / p95 / p99 | publish call p50 / p95 / p99 | notes |",
    "| --- | --: | --: | --: | --: | --: | --: | --- |",
  );
  for (const s of results.scenarios) {
    const notes: string[] = [];
    notes.push(
      `${fmt(s.publish.accepted)} events${(s.load.batchSize ?? 1) > 1 ? ` in batches of ${s.load.batchSize}` : ", one per call"}`,
      `warm-up ${fmt(s.warmUpEvents)} events`,
    );
    if (!s.delivery.complete)
      notes.push(`only ${fmt(s.delivery.unique)} of ${fmt(s.delivery.expected)} delivered in time`);
    if (s.logged && s.logged.count < s.logged.expected)
      notes.push(`only ${fmt(s.logged.count)} of ${fmt(s.logged.expected)} logged in time`);
    if (s.logged && s.logged.inLog < s.logged.expected)
      notes.push(`only ${fmt(s.logged.inLog)} of ${fmt(s.logged.expected)} attempts found in the log`);
    const errors = Object.entries(s.publish.errors);
    if (errors.length > 0) notes.push(`refused: ${errors.map(([k, v]) => `${k} × ${v}`).join(", ")}`);
    if (s.publish.unsent > 0) notes.push(`${fmt(s.publish.unsent)} events not sent: the sender fell behind`);
    if (s.publish.unanswered > 0) notes.push(`${fmt(s.publish.unanswered)} calls unanswered`);
    if (s.load.kind === "fixed" && s.publish.maxScheduleLagMs > 50)
      notes.push(`sender fell up to ${fmt(Math.round(s.publish.maxScheduleLagMs))} ms behind schedule`);
    const dup = Object.values(s.delivery.groups).reduce((n, gr) => n + gr.duplicates, 0);
    if (dup > 0) notes.push(`${fmt(dup)} duplicate deliveries`);
    if (s.brokerInterruptions > 0)
      notes.push(
        `**the RabbitMQ broker dropped its connections ${s.brokerInterruptions} × meanwhile (another run restarting it)**`,
      );
    const failing = s.delivery.groups.failing;
    if (failing) notes.push(`failing endpoints got ${fmt(failing.received)} requests`);
    for (const kind of ["stalled", "hanging"] as const) {
      const group = s.delivery.groups[kind];
      if (group) notes.push(`${group.endpoints} ${kind} endpoints got ${fmt(group.received)} requests`);
    }
    const sentBack = s.deliveryHops?.endpoint_busy ?? 0;
    if (sentBack > 0) notes.push(`${fmt(sentBack)} tasks sent back to the queue by a slow endpoint's gate`);
    if (s.flood)
      notes.push(
        `the flooding tenant published ${fmt(s.flood.accepted)} events in ${fmt(s.flood.publishSeconds)} s; ${fmt(s.flood.unique)} delivered in ${fmt(s.flood.seconds)} s (${fmt(s.flood.deliveriesPerSecond)}/s), its p99 ${ms(s.flood.latencyMs.p99)} ms`,
      );
    if (s.purge) {
      const base = results.scenarios.find((other) => other.id === "s1-500")?.delivery.latencyMs.p99;
      const change =
        base && base > 0
          ? `; p99 ${Math.round((s.delivery.latencyMs.p99 / base - 1) * 100)}% against s1-500's ${ms(base)} ms (pair 1)`
          : "";
      notes.push(
        `audit's retention purge removed ${fmt(s.purge.removed)} of ${fmt(s.purge.seeded)} expired documents in the window${change}`,
      );
    }
    if (s.ingestStepMeanMs)
      notes.push(
        `in ingest, an event's insert took ${s.ingestStepMeanMs.store} ms and its publish confirm ${s.ingestStepMeanMs.confirm} ms (means)`,
      );
    push(
      `| ${s.title} | ${fmt(s.publish.eventsPerSecond)} | ${fmt(s.delivery.eventsPerSecond)} | ${fmt(s.delivery.deliveriesPerSecond)} | ${s.logged ? fmt(s.logged.attemptsPerSecond) : "–"} | ${pct(s.delivery.latencyMs)} | ${pct(s.publish.callLatencyMs)} | ${notes.join("; ")} |`,
    );
  }
  push("");
  push(...purgePairLines(results));
  push(...filterPairLines(results));
  push(...healthyPairLines(results));

  push(
    "## Raw ceilings, measured in the same run",
    "",
    "| part | per second | how |",
    "| --- | --: | --- |",
    ...results.raw.map((r) => `| ${r.name} | ${fmt(r.perSecond)} | ${r.detail} |`),
    "",
  );

  const processNames = [...new Set(results.scenarios.flatMap((s) => Object.keys(s.processes)))];
  push(
    "## CPU and memory per process",
    "",
    "Average CPU over each scenario's measured window (100% = one core) and peak resident memory (VmHWM of the",
    "service process, which is fresh for each scenario). RabbitMQ is the machine's broker, shared with anything",
    "else using it meanwhile. *machine* is the whole machine's busy share of all cores. The benchmark process's",
    "memory is its peak so far. *GC* is the share of the window a service's JavaScript thread stood still for",
    "garbage collection (prom-client's `nodejs_gc_duration_seconds`); V8's helper threads collect beside it, on",
    "CPU counted in the service's share.",
    "",
    `| process | ${results.scenarios.map((s) => s.id).join(" | ")} |`,
    `| --- | ${results.scenarios.map(() => "--:").join(" | ")} |`,
    ...processNames.map(
      (name) =>
        `| ${name} | ${results.scenarios
          .map((s) => {
            const p = s.processes[name];
            if (!p) return "–";
            return (
              `${p.cpuPercent}%${p.peakRssMiB !== undefined ? `, ${fmt(Math.round(p.peakRssMiB))} MiB` : ""}` +
              (p.gcPausePercent !== undefined ? `; GC ${p.gcPausePercent}%` : "")
            );
          })
          .join(" | ")} |`,
    ),
    `| machine | ${results.scenarios.map((s) => `${s.machineBusyPercent}%`).join(" | ")} |`,
    `| load average before | ${results.scenarios.map((s) => s.loadAverageBefore[0]).join(" | ")} |`,
    `| CPU stolen by the hypervisor | ${results.scenarios.map((s) => (s.stolenPercent === undefined ? "–" : `${s.stolenPercent}%`)).join(" | ")} |`,
    cpuProbeRow(results.scenarios),
    "",
    "CPU time per event published in the window, in µs (a process's CPU over the window divided by the events",
    "accepted in it): far less dependent on what else runs on the machine than the rates are.",
    "",
    `| process | ${results.scenarios.map((s) => s.id).join(" | ")} |`,
    `| --- | ${results.scenarios.map(() => "--:").join(" | ")} |`,
    ...processNames.map(
      (name) => `| ${name} | ${results.scenarios.map((s) => fmt(cpuPerEventUs(s, name))).join(" | ")} |`,
    ),
    `| all | ${results.scenarios
      .map((s) => fmt(processNames.reduce((n, name) => n + (cpuPerEventUs(s, name) ?? 0), 0)))
      .join(" | ")} |`,
    "",
    ...brokerPerEventLines(results.scenarios),
    "## Where messages waited",
    "",
    "Peak ready messages per queue, sampled each second (passive declares).",
    "",
    "| scenario | routing.events | delivery.tasks | audit.attempts |",
    "| --- | --: | --: | --: |",
    ...results.scenarios.map(
      (s) =>
        `| ${s.id} | ${fmt(s.queuePeaks["routing.events"])} | ${fmt(s.queuePeaks["delivery.tasks"])} | ${fmt(s.queuePeaks["audit.attempts"])} |`,
    ),
    "",
  );

  push(
    "## What one event costs",
    "",
    "- ingest: one insert into `events` (events that arrive while an insert is under way go together in the next",
    "  `insertMany`, and an idle writer waits `INGEST_INSERT_GATHER`, 5 ms, for others to join the first), one",
    "  publish with a publisher confirm (the events one insert stored go in one message, up to",
    "  32 events or 256 KiB of payload), and an update marking it published only when the event has an idempotency key",
    "  (only such a call can be retried onto it);",
    "- routing: no database write (tenants and endpoints come from a cache); one delivery task per endpoint and",
    "  one routing record, each confirmed; the tasks made in the same turn (the fan-out of the events one message",
    `  held) go in one message, up to ${MAX_TASKS_PER_MESSAGE} tasks or ${MAX_BATCH_PAYLOAD_BYTES / 1024} KiB of payload;`,
    "- delivery: per task, one signed POST and one attempt record, confirmed;",
    `- routing and delivery let a record wait up to ${AUDIT_RECORD_GATHER_MS} ms for others to share its message, and put the records`,
    `  they publish while their previous record message awaits its confirm into the next (up to ${MAX_RECORDS_PER_MESSAGE}), so even a`,
    "  moderately busy instance sends far fewer record messages than records;",
    "- audit: per batch of up to 800 records (one batch written at a time), one `insertMany` each for attempts",
    "  and routes, one read of the batch's deliveries, one `insertMany` of the new ones that need a document (with",
    "  their status; a delivery whose first attempt was accepted has none) and one bulk write of version-guarded",
    "  updates to the others.",
    "",
    "So a persistent message through RabbitMQ carries several events, tasks or records once Herald is busy: an",
    "event costs its share of an event message, of a task message per endpoint it goes to, and of its records'",
    "messages. Retries travel alone, one message per task.",
    "",
  );
  if (results.reads) push(...readsSection(results.reads, results.carried?.reads));
  if (results.portalPages) push(...portalPagesSection(results.portalPages, results.carried?.portalPages));
  push("## Where it stands and what limits it", "", ...analysis(results, by), "");
  return `${lines.join("\n")}\n`;
}

/** The fairness goals' rows, for the scenario pairs the run had. */
export function fairnessRows(results: BenchResults): string[] {
  const { flood, slowReceivers } = fairnessGoals(results);
  const rows: string[] = [];
  if (flood) {
    const rate =
      flood.rateShare !== undefined
        ? `${fmt(flood.floodRate)} deliveries/s, ${flood.rateShare} × s1-max's ${fmt(flood.fullRate)}`
        : `${fmt(flood.floodRate)} deliveries/s (s1-max not in this run)`;
    rows.push(
      `| a flood of one tenant: the quiet tenants' p99 within ${GOALS.floodP99Ratio} × theirs without it and under ${GOALS.floodP99Ms} ms; the flood drains at ≥ ${GOALS.floodRateShare * 100}% of the full rate | p99 ${ms(flood.p99)} ms, ${flood.ratio ?? "–"} × ${ms(flood.quietP99)} ms; flood ${rate} | ${yes(flood.met)} |`,
    );
  }
  if (slowReceivers) {
    const n = slowReceivers.pairs.length;
    rows.push(
      `| 10 of 100 endpoints answering after 10 s and 2 never: healthy endpoints' p99 within ${GOALS.slowReceiversP99Ratio} × the all-healthy run, their delivered rate per endpoint ≥ ${GOALS.slowReceiversRateShare} × it, the medians over alternating pairs | median ${slowReceivers.medianRatio ?? "–"} × over ${pairCount(n)} (${pairRatios(slowReceivers.pairs)}); rate per endpoint ${slowReceivers.medianRateShare ?? "–"} × ([pairs](#slow-receivers-against-all-healthy)) | ${yes(slowReceivers.met)} |`,
    );
  }
  return rows;
}

const pairCount = (n: number) => `${n} pair${n === 1 ? "" : "s"}`;

/**
 * The broker's messages per event accepted in each scenario's window, when the run could read its
 * counters (broker-counters.ts); nothing for a run saved before them.
 */
export function brokerPerEventLines(scenarios: ScenarioResult[]): string[] {
  if (!scenarios.some((s) => s.brokerPerEvent)) return [];
  const row = (label: string, field: keyof BrokerPerEvent) =>
    `| ${label} | ${scenarios.map((s) => (s.brokerPerEvent ? fmt(s.brokerPerEvent[field]) : "–")).join(" | ")} |`;
  return [
    "RabbitMQ's work per event accepted in the window, from its own counters (`rabbitmqctl eval`, read before and",
    "after the window; test/bench/broker-counters.ts). A message costs the broker about as much whatever it",
    "holds, so its CPU per event follows these; a write-ahead-log batch is one write and fsync of the quorum",
    "queues' log, shared by every queue.",
    "",
    `| per event | ${scenarios.map((s) => s.id).join(" | ")} |`,
    `| --- | ${scenarios.map(() => "--:").join(" | ")} |`,
    row("messages published", "received"),
    row("messages delivered to consumers", "delivered"),
    row("messages acknowledged", "acknowledged"),
    row("log entries written", "walWrites"),
    row("log batches (fsyncs)", "walBatches"),
    "",
  ];
}

/** The filters' goal row, when the run had the micro-benchmark or s2-fanout-filters with a base. */
export function filterGoalRows(goal: ReturnType<typeof filterGoal>): string[] {
  if (!goal) return [];
  const costs = goal.pairs.map((p) => (p.filterUs === undefined ? "–" : `${p.filterUs} µs`)).join(", ");
  const base = goal.pairs[0]?.base.id ?? "–";
  const pairs =
    goal.pairs.length > 0
      ? `median ${goal.medianUs ?? "–"} µs over ${pairCount(goal.pairs.length)} (${costs}; [pairs](#filters-against-channels)); routing's whole CPU per event and endpoint with filters: ${goal.medianUpperUs ?? "–"} µs`
      : "";
  const { micro } = goal;
  if (!micro) {
    return [
      `| filters cost ≤ ${FILTER_US_GOAL} µs of routing CPU per event per endpoint: the median over alternating pairs of s2-fanout-filters less ${base} | ${pairs} | ${yes(goal.met)} |`,
    ];
  }
  return [
    `| filters cost ≤ ${FILTER_US_GOAL} µs of routing CPU per event per endpoint: routing's decision with the scenario's ${micro.endpoints} filters less the same endpoints by channel, alternating in one process ([how](#filters-against-channels)) | ${micro.perEndpointUs} µs (${micro.filteredUs} against ${micro.channelsUs} µs an event)${pairs ? `; in the scenarios, not judged: ${pairs}` : ""} | ${yes(goal.met)} |`,
  ];
}

/** The filters' micro-benchmark and the pairs of s2-fanout-channels and s2-fanout-filters, when the run had them. */
export function filterPairLines(results: BenchResults): string[] {
  const goal = filterGoal(results);
  if (!goal) return [];
  const side = (s: { routingCpuUsPerEvent?: number; complete: boolean }) =>
    `${s.routingCpuUsPerEvent ?? "–"} µs${s.complete ? "" : " (incomplete)"}`;
  const { micro } = goal;
  const judged = micro
    ? [
        "The goal is judged in one process: `test/bench/micro/route-filters.ts` times routing's decision (`decideRoutes`,",
        `as routing calls it, with a fresh payload per event) for ${micro.endpoints} endpoints with the scenario's filters and for the same`,
        "endpoints taking the same half of the events by channel, the two alternating round by round, and takes the best",
        "round of each: so time the process waits for a core, and what else the machine runs, hit both alike.",
        "",
        ...carriedNote(results.carried?.filterMicro),
        "| with filters, per event | by channel, per event | filters per event per endpoint | rounds × events | load average before |",
        "| --: | --: | --: | --: | --: |",
        `| ${micro.filteredUs} µs | ${micro.channelsUs} µs | ${micro.perEndpointUs} µs | ${micro.rounds} × ${micro.iterations.toLocaleString("en-US")} | ${micro.loadAverageBefore} |`,
        "",
      ]
    : [];
  if (goal.pairs.length === 0) return ["## Filters against channels", "", ...judged];
  return [
    "## Filters against channels",
    "",
    ...judged,
    `The scenarios compare s2-fanout-filters with s2-fanout-channels, which takes the same half of the fan-out`,
    "by channel subscription (so routing publishes the same tasks) without CEL. Routing's CPU per event is measured over",
    "each run's window, and routing's whole CPU for the same scenario varies from run to run by more than the filters cost",
    "([endpoint-filters.md](decisions/endpoint-filters.md)), so one pair's difference swings by several µs per endpoint. `npm run bench` runs",
    `them as \`BENCH_FILTER_PAIRS\` (${DEFAULT_FILTER_PAIRS}) alternating pairs, each on a fresh stack, and takes the median`,
    `of the pairs' differences, per endpoint (10 filters per tenant)${micro ? ": shown, not judged (the median of three pairs still swung across the goal from one run to the next)" : ", which the goal judges"}. The first pair's runs are the rows above. The same`,
    "difference over the load only (routing keeps up, so its drain is idle) is recorded beside it, not judged.",
    ...(results.filterPairs
      ? []
      : ["This run was saved before these pairs: its two scenarios are its one pair."]),
    "",
    "| pair | base | routing CPU per event, base | with filters | filters per event per endpoint | the same over the load only | load average before (base / filters) |",
    "| --: | --- | --: | --: | --: | --: | --: |",
    ...goal.pairs.map(
      (p) =>
        `| ${p.pair} | ${p.base.id} | ${side(p.base)} | ${side(p.filtered)} | ${p.filterUs === undefined ? "–" : `${p.filterUs} µs`} | ${p.loadFilterUs === undefined ? "–" : `${p.loadFilterUs} µs`} | ${p.base.loadAverageBefore} / ${p.filtered.loadAverageBefore} |`,
    ),
    `| median | | | | ${goal.medianUs === undefined ? "–" : `${goal.medianUs} µs`} | ${goal.medianLoadUs === undefined ? "–" : `${goal.medianLoadUs} µs`} | |`,
    "",
  ];
}

/** How the report shows each comparison of healthy endpoints (healthy-pairs.ts). */
const HEALTHY_SECTIONS: Array<{
  comparison: HealthyComparison;
  pairs: (results: BenchResults) => HealthyPair[] | undefined;
  title: string;
  sides: [string, string];
}> = [
  {
    comparison: SLOW_RECEIVERS,
    pairs: (r) => r.slowPairs,
    title: "Slow receivers against all healthy",
    sides: ["all healthy", "10 stalled, 2 hanging"],
  },
  {
    comparison: FAILING_ENDPOINTS,
    pairs: (r) => r.failingPairs,
    title: "Failing endpoints against none failing",
    sides: ["none failing", "10% failing"],
  },
];

/** The goal of one comparison of healthy endpoints in this run; undefined without its scenarios. */
export function healthyGoalOf(comparison: HealthyComparison, results: BenchResults) {
  const section = HEALTHY_SECTIONS.find((s) => s.comparison === comparison);
  return healthyGoal(comparison, results.scenarios, section?.pairs(results));
}

/** The failing endpoints' goal row, when the run had s3-healthy and s3-failing. */
export function failingGoalRows(results: BenchResults): string[] {
  const goal = healthyGoalOf(FAILING_ENDPOINTS, results);
  if (!goal) return [];
  const percent = Math.round((FAILING_ENDPOINTS.p99Ratio - 1) * 100);
  return [
    `| healthy endpoints' p99 publish→received within ${percent}% when 10% of endpoints fail, the median over alternating pairs | median ${goal.medianRatio ?? "–"} × the p99 without failures over ${pairCount(goal.pairs.length)} (${pairRatios(goal.pairs)}; [pairs](#failing-endpoints-against-none-failing)) | ${yes(goal.met)} |`,
  ];
}

/** The pairs of each comparison of healthy endpoints, one row each, when the run had them. */
export function healthyPairLines(results: BenchResults): string[] {
  const side = (p: HealthyPairSide) =>
    `${ms(p.p99Ms)} ms, ${fmt(p.deliveriesPerSecond)}/s${p.complete ? "" : " (incomplete)"}`;
  return HEALTHY_SECTIONS.flatMap(({ comparison: c, pairs, title, sides }) => {
    const goal = healthyGoal(c, results.scenarios, pairs(results));
    if (!goal) return [];
    return [
      `## ${title}`,
      "",
      `${c.base} and ${c.variant} run as \`${c.pairsVariable}\` (${DEFAULT_HEALTHY_PAIRS}) pairs, alternating, each on a fresh stack:`,
      `the healthy endpoints' p99 over ${fmt(goal.pairs[0]?.variant.delivered)} deliveries is set by a few stalls of the shared machine (one pair of`,
      "the slow receivers has measured from 0.93 × to 2.24 × with the same code), so the goal judges the medians of the",
      "pairs' ratios, with every run complete. The first pair's runs are the rows above; the later pairs appear only here.",
      ...(pairs(results)
        ? []
        : ["This run was saved before these pairs: its two scenarios are its one pair."]),
      "",
      `| pair | ${sides[0]}: p99, deliveries | ${sides[1]}: p99, deliveries | p99 ratio | rate per healthy endpoint | load average before |`,
      "| --: | --: | --: | --: | --: | --: |",
      ...goal.pairs.map(
        (p) =>
          `| ${p.pair} | ${side(p.base)} | ${side(p.variant)} | ${times(p.ratio)} | ${times(p.rateShare)} | ${p.base.loadAverageBefore} / ${p.variant.loadAverageBefore} |`,
      ),
      `| median | | | ${times(goal.medianRatio)} | ${times(goal.medianRateShare)} | |`,
      "",
    ];
  });
}

/** The retention purge's goal row, when the run had s1-500 and s1-500-purge. */
export function purgeGoalRows(results: BenchResults): string[] {
  const goal = purgeGoal(results);
  if (!goal) return [];
  const percent = Math.round((PURGE_P99_RATIO - 1) * 100);
  const ratios = pairRatios(goal.pairs);
  const n = goal.pairs.length;
  return [
    `| audit's retention purge moves s1-500's p99 by ≤ ${percent}%: the median over alternating pairs of s1-500-purge's p99 / s1-500's ≤ ${PURGE_P99_RATIO.toFixed(2)} | median ${goal.medianRatio ?? "–"} × over ${n} pair${n === 1 ? "" : "s"} (${ratios}; [pairs](#retention-purge-against-s1-500)) | ${yes(goal.met)} |`,
  ];
}

/** The pairs of s1-500 and s1-500-purge, one row each, when the run had them. */
export function purgePairLines(results: BenchResults): string[] {
  const goal = purgeGoal(results);
  if (!goal) return [];
  const side = (p: { p99Ms: number; complete: boolean }) =>
    `${ms(p.p99Ms)} ms${p.complete ? "" : " (incomplete)"}`;
  return [
    "## Retention purge against s1-500",
    "",
    "`BENCH_PURGE=1` runs s1-500 and s1-500-purge as `BENCH_PURGE_PAIRS` pairs, alternating (s1-500, s1-500-purge,",
    "s1-500, …), each run on a fresh stack, so drift over the run hits both sides alike; one pair has swung from",
    "−22% to +59% on a shared 2-core machine, so the goal judges the median of the pairs' ratios, with every run",
    "complete. The first pair's runs are the s1-500 and s1-500-purge rows above, and that s1-500 is the one every",
    "other goal and table uses; the later pairs appear only here.",
    ...(results.purgePairs
      ? []
      : ["This run was saved before pairs: its s1-500 and s1-500-purge are its one pair."]),
    "",
    "| pair | s1-500 p99 | s1-500-purge p99 | ratio | expired documents the purge removed in the window | load average before (s1-500 / purge) |",
    "| --: | --: | --: | --: | --: | --: |",
    ...goal.pairs.map(
      (p) =>
        `| ${p.pair} | ${side(p.base)} | ${side(p.purge)} | ${times(p.ratio)} | ${fmt(p.purge.removed)} of ${fmt(p.purge.seeded)} | ${p.base.loadAverageBefore} / ${p.purge.loadAverageBefore} |`,
    ),
    `| median | | | ${times(goal.medianRatio)} | | |`,
    "",
  ];
}

/** The single-event goals of the scenarios the run had. */
function singleGoalRows(g: ReturnType<typeof goals>): string[] {
  const rows: string[] = [];
  for (const [single, how] of [
    [g.singleJson, "Connect JSON over HTTP/1.1"],
    [g.singleGrpc, "gRPC over HTTP/2"],
  ] as const) {
    const s = single.scenario;
    if (!s) continue;
    rows.push(
      `| ≥ ${fmt(GOALS.singleEventsPerSecond)} events/s delivered and logged, one event per ${how} call, ${GOALS.singleConcurrency} calls in flight | ${fmt(single.perSecond)} events/s, p99 ${ms(s.delivery.latencyMs.p99)} ms | ${yes(single.met)} |`,
    );
  }
  const steady = g.singleSteady.scenario;
  if (steady)
    rows.push(
      `| ${fmt(GOALS.singleSteadyRate)} events/s offered as single calls kept up with, p99 ≤ ${GOALS.singleP99Ms} ms | ${fmt(steady.delivery.eventsPerSecond)} events/s delivered, p99 ${ms(steady.delivery.latencyMs.p99)} ms | ${yes(g.singleSteady.met)} |`,
    );
  const cold = g.coldStart;
  if (cold) {
    const n = cold.runs.length;
    const each = cold.runs.map((r) => `${ms(r.p99Ms)}${r.complete ? "" : " (incomplete)"}`).join(", ");
    const delivered = cold.runs.reduce((sum, r) => sum + r.delivered, 0);
    const expected = cold.runs.reduce((sum, r) => sum + r.expected, 0);
    rows.push(
      `| from a restart, ${fmt(GOALS.coldStartRate)} events/s as single calls with p99 ≤ ${GOALS.singleP99Ms} ms over the first ${GOALS.coldStartSeconds} s, the median of the restarts | median p99 ${ms(cold.medianP99Ms)} ms over ${n} restart${n === 1 ? "" : "s"} (${each} ms); ${fmt(delivered)} of ${fmt(expected)} delivered | ${yes(cold.met)} |`,
    );
  }
  return rows;
}

/** CPU time of a process per event published in the scenario's window, in µs. */
export function cpuPerEventUs(s: ScenarioResult, name: string): number | undefined {
  const p = s.processes[name];
  return p && s.publish.accepted > 0 ? Math.round((p.cpuSeconds * 1e6) / s.publish.accepted) : undefined;
}

function readsGoalRow(reads: ReadsResult): string {
  const goals = readGoals(reads);
  const met = goals.filter((g) => g.met).length;
  const top = reads.sizes[reads.sizes.length - 1]?.events;
  return (
    `| every read of the API with p99 ≤ ${GOALS.readP99Ms} ms at ${fmt(GOALS.readsAtEvents)} events, its cost not growing with the log |` +
    ` ${met} of ${goals.length} reads at ${fmt(top)} events ([per read](#reads-as-the-log-grows)) | ${yes(met === goals.length && goals.length > 0)} |`
  );
}

/** A read's p50 / p99 at one size (with the calls timed when the cap cut them short), or why there are none. */
function readCell(m: ReadMeasure | undefined, reads: ReadsResult): string {
  if (!m) return "–";
  if (m.skippedAfter !== undefined) return `> ${reads.capSeconds} s (not tried)`;
  if (m.error) return "failed";
  if (m.overCap || m.count === 0) return `> ${reads.capSeconds} s`;
  return `${ms(m.p50)} / ${ms(m.p99)}${m.count < reads.samples ? ` (${fmt(m.count)} call${m.count === 1 ? "" : "s"})` : ""}`;
}

const mib = (bytes: number) => `${fmt(Math.round(bytes / 1024 ** 2))} MiB`;

function readsSection(reads: ReadsResult, carriedFrom?: string): string[] {
  const goals = new Map(readGoals(reads).map((g) => [g.id, g]));
  const out = [
    "## Reads as the log grows",
    "",
    ...carriedNote(carriedFrom),
    "One stack; one measured tenant with one endpoint, every event delivered once (its event, its route, its",
    "delivery status and one attempt), and two other tenants with a tenth as many events between them, so every",
    "query must keep to its tenant. The log is filled in bulk through the services' own writers (ingest's `EventStore`,",
    "audit's `writeAuditRecords` fed the records routing and delivery publish), in batches of 1,000 events, three at",
    "once, with payloads of about 300 bytes, 8 event types, every other event with an idempotency key, and creation",
    "times spread over the last 23 hours. Two events published through the real pipeline first are compared with",
    `bulk-written ones, document by document and answer by answer: ${
      reads.shapeDifferences.length === 0
        ? "they read back the same."
        : `**they differ**: ${reads.shapeDifferences.join("; ")}.`
    }`,
    "",
    "At each size, with nothing else running, each read is called one at a time through the API over gRPC (a Connect",
    `client, as the CLI uses), ${fmt(reads.samples)} calls each after one untimed call (timed when it took over a second), for`,
    `${reads.capSeconds} s in all: the call running then is cut short. A read none of whose calls finished within the cap is`,
    `reported as over ${reads.capSeconds} s and not tried at the larger sizes. Page 20 of ListEvents is read with the token of`,
    "the page before it, had by following the pages (or, where following them would take longer than the cap, computed",
    "from the log as audit encodes it, the same token). Recover and Redrive have no dry",
    "run: every delivery succeeded, so their selection matches nothing and they send nothing. The delivery status read",
    "is GetEvent's (its deliveries); the rate-limit lookup is the claim every PublishEvent makes, timed with the dedupe",
    "lookup. Storage is that of the two databases (events and control plane; audit's) divided by the events of every",
    "tenant.",
    "",
    "| events of the tenant (all tenants) | storage | per event | filled in | fill rate | page 20's token | load average |",
    "| --: | --: | --: | --: | --: | --- | --: |",
    ...reads.sizes.map(
      (s) =>
        `| ${fmt(s.events)} (${fmt(s.allEvents)}) | ${mib(s.storage.bytes)} | ${fmt(s.storage.bytesPerEvent)} B | ${fmt(s.fill.seconds)} s |` +
        ` ${fmt(s.fill.eventsPerSecond)} events/s (${fmt(s.fill.documentsPerSecond)} documents/s) | ${s.deepPageToken} | ${s.loadAverage} |`,
    ),
    "",
    `Storage is measured as ${reads.sizes[0]?.storage.how ?? "–"}. Each read's p50 / p99 in ms; the goal: p99 ≤ ${GOALS.readP99Ms} ms at`,
    `${fmt(GOALS.readsAtEvents)} events and a p50 there within ${GOALS.readGrowth} × (+ ${READ_GROWTH_SLACK_MS} ms) of that at the smallest size.`,
    "",
    `| read | ${reads.sizes.map((s) => `${fmt(s.events)} events`).join(" | ")} | goal |`,
    `| --- | ${reads.sizes.map(() => "--:").join(" | ")} | --- |`,
    ...reads.reads.map(({ id, title }) => {
      const g = goals.get(id);
      return `| ${title} | ${reads.sizes.map((s) => readCell(s.reads[id], reads)).join(" | ")} | ${g ? `${yes(g.met)} (${g.why})` : "–"} |`;
    }),
    "",
  ];
  if (reads.notes.length > 0) out.push(...reads.notes.map((n) => `- ${n}`), "");
  return out;
}

function portalPagesSection(portal: PortalPagesResult, carriedFrom?: string): string[] {
  const cell = (m: ReadMeasure | undefined) => {
    if (!m) return "–";
    if (m.error) return "failed";
    if (m.overCap || m.count === 0) return `> ${portal.capSeconds} s`;
    return `${ms(m.p50)} / ${ms(m.p99)}`;
  };
  const top = portal.sizes[portal.sizes.length - 1];
  const met = (id: string) => {
    const m = top?.pages[id];
    return m !== undefined && !m.error && !m.overCap && m.count > 0 && m.p99 < PAGE_GOAL_MS;
  };
  return [
    "## Portal pages as the log grows",
    "",
    ...carriedNote(carriedFrom),
    "The tenant portal's pages, each timed as the wait for what it loads when it opens: its RPCs through the",
    "portal server's `/rpc` entry (one more hop than the API reads above), with a portal session's token, in the",
    "browser's Connect JSON; calls a page makes at once are made at once, calls it makes after the first answer",
    `one after the other. The log is filled as for the reads above (\`BENCH_READS_MAX\` sets the top size);`,
    `${fmt(portal.samples)} loads per page after one untimed load, ${portal.capSeconds} s at most. The goal: each page under`,
    `${PAGE_GOAL_MS} ms (p99) with 1,000,000 attempts. Opt-in: \`BENCH_PORTAL_PAGES=1\` or \`BENCH_ONLY=portal-pages\`.`,
    "",
    `| page (p50 / p99 ms) | ${portal.sizes.map((s) => `${fmt(s.events)} events (load ${s.loadAverage})`).join(" | ")} | under ${PAGE_GOAL_MS} ms at ${fmt(top?.events)} |`,
    `| --- | ${portal.sizes.map(() => "--:").join(" | ")} | --- |`,
    ...portal.pages.map(
      ({ id, title }) =>
        `| ${title} | ${portal.sizes.map((s) => cell(s.pages[id])).join(" | ")} | ${yes(met(id))} |`,
    ),
    "",
    ...portal.notes.map((n) => `- ${n}`),
  ];
}

/** Each whole second's publish→received p99, sorted (the last second is partial: the load ends within it). */
function secondP99s(s: ScenarioResult): number[] {
  return (s.latencySeries ?? [])
    .slice(0, -1)
    .map(([, , p99]) => p99)
    .sort((a, b) => a - b);
}

const median = (sorted: number[]) => sorted[Math.floor(sorted.length / 2)];

/** How steady latency was: the p99 of each second's events, against the goal. */
function perSecond(s: ScenarioResult): string {
  const p99s = secondP99s(s);
  if (p99s.length === 0) return "";
  const within = p99s.filter((v) => v <= GOALS.p99Ms).length;
  const pauses = [...(s.benchPauseMs ?? [])].sort((a, b) => a - b);
  return (
    ` Second by second, the p99 was ${ms(p99s[0])}–${ms(p99s[p99s.length - 1])} ms` +
    ` (median ${ms(median(p99s))} ms) and within ${GOALS.p99Ms} ms in ${within} of ${p99s.length} seconds.` +
    (pauses.length > 0
      ? ` The benchmark process itself (load generator and receivers) paused for up to ${ms(pauses[pauses.length - 1])} ms` +
        ` in a second (median second ${ms(median(pauses))} ms): on a machine this busy it waits for a core too, and` +
        " its pauses delay both the sends and the receipt times it measures."
      : "") +
    (s.ingestStepMeanMs
      ? ` Inside ingest, a new event's MongoDB insert took ${ms(s.ingestStepMeanMs.store)} ms on average (it waits for` +
        ` the insert before it, as one writer batches them) and its RabbitMQ publish confirm ${ms(s.ingestStepMeanMs.confirm)} ms.`
      : "") +
    ingestGc(s)
  );
}

/** Ingest's garbage collection in the window: see the operator guide on why it matters at this rate. */
function ingestGc(s: ScenarioResult): string {
  const gc = s.processes.ingest;
  if (gc?.gcPausePercent === undefined || gc.majorGcs === undefined) return "";
  return (
    ` Ingest's JavaScript thread stood still for garbage collection ${gc.gcPausePercent}% of the window, with` +
    ` ${gc.majorGcs} full collections ([why](operator-guide.md#garbage-collection-in-ingest)).`
  );
}

/**
 * The healthy endpoints' median per-second p99 with failures against without: at 20 events/s a p99 over
 * the whole run is the slowest few dozen requests, so one slow second (a pause anywhere on the machine)
 * swings it; the median second does not move with one.
 */
function medianSecondRatio(healthy: ScenarioResult | undefined, failing: ScenarioResult | undefined): string {
  const without = median(healthy ? secondP99s(healthy) : []);
  const withFailures = median(failing ? secondP99s(failing) : []);
  if (without === undefined || withFailures === undefined || without <= 0) return "";
  return (
    ` The median second's p99, which one slow second does not sway, was ${ms(withFailures)} ms against` +
    ` ${ms(without)} ms: ${round(withFailures / without, 2)} ×.`
  );
}

function analysis(results: BenchResults, by: (id: string) => ScenarioResult | undefined): string[] {
  const g = goals(results);
  const out: string[] = [];
  const raw = (prefix: string) => results.raw.find((r) => r.name.startsWith(prefix))?.perSecond;
  const busiest = (s: ScenarioResult) =>
    Object.entries(s.processes)
      .sort((a, b) => b[1].cpuPercent - a[1].cpuPercent)
      .slice(0, 3)
      .map(([name, p]) => `${name} ${p.cpuPercent}%`)
      .join(", ");
  const queued = (s: ScenarioResult) => {
    const [queue, depth] = Object.entries(s.queuePeaks).sort((a, b) => b[1] - a[1])[0] ?? ["", 0];
    return depth > 0
      ? ` Messages piled up in ${queue} (up to ${fmt(depth)} waiting).`
      : " No queue backed up.";
  };
  /** CPU of every measured process (load generator and receivers included) per event accepted, ms. */
  const cpuPerEventMs = (s: ScenarioResult) =>
    round(
      (Object.values(s.processes).reduce((sum, p) => sum + p.cpuSeconds, 0) * 1000) /
        Math.max(1, s.publish.accepted),
      2,
    );
  const max = by("s1-max");
  if (max) {
    out.push(
      `- **As fast as possible, 1 tenant × 1 endpoint:** ${fmt(max.publish.eventsPerSecond)} events/s accepted,` +
        ` ${fmt(max.delivery.eventsPerSecond)} delivered and ${fmt(max.logged?.attemptsPerSecond)} logged per second` +
        `${max.logged && !max.logged.complete ? ` (${fmt(max.logged.count)} of ${fmt(max.logged.expected)} logged when the run stopped waiting)` : ""},` +
        " counted until the backlog was gone. Once the load stops, the backlog drains without ingest and the load" +
        " generator taking their share of the CPU, so this is more than Herald keeps up with as a steady rate (below)." +
        ` Busiest: ${busiest(max)} (100% = one core; the machine was ${max.machineBusyPercent}% busy);` +
        ` ${cpuPerEventMs(max)} ms of CPU per event, all processes together.` +
        queued(max),
    );
  }
  const sustained = by("s1-2000");
  if (sustained) {
    const rate = fmt(sustained.load.kind === "fixed" ? sustained.load.ratePerSecond : undefined);
    out.push(
      `- **Throughput as a steady rate, 1 tenant × 1 endpoint at ${rate} events/s:**` +
        (g.endToEndMet
          ? ` Herald kept up (every event delivered and logged, publish→received p99 ${ms(sustained.delivery.latencyMs.p99)} ms): the goal is met.`
          : ` Herald fell behind: ${fmt(sustained.delivery.eventsPerSecond)} events/s delivered and` +
            ` ${fmt(sustained.logged?.attemptsPerSecond)} logged, publish→received p99 ${ms(sustained.delivery.latencyMs.p99)} ms` +
            ` (kept up means every event delivered and logged with a p99 within ${fmt(KEPT_UP_P99_MS)} ms, and the log` +
            ` complete within ${KEPT_UP_LOG_LAG_SECONDS} s of the last delivery): the goal is not met.`) +
        ` Busiest: ${busiest(sustained)}; machine ${sustained.machineBusyPercent}% busy;` +
        ` ${cpuPerEventMs(sustained)} ms of CPU per event, all processes together.` +
        queued(sustained),
    );
  }
  const small = raw("MongoDB findOne by _id, 1,000");
  const large = raw("MongoDB findOne by _id, 20,000");
  out.push(
    `- **MongoDB wire server:** ${fmt(raw("MongoDB insertOne, 16"))} single inserts/s, ${fmt(raw("MongoDB insertMany"))}` +
      ` documents/s inserted in batches, ${fmt(raw("MongoDB updateOne"))} updates by _id/s.` +
      (small && large
        ? ` A lookup by _id ran ${fmt(small)} times/s in a collection of 1,000 documents and ${fmt(large)} times/s in one of` +
          ` 20,000${small / Math.max(1, large) > 3 ? ": it reads the collection instead of using the _id index, so every update gets slower as the collections grow" : ": the _id index is used"}.`
        : ""),
  );
  if (small && large && small / Math.max(1, large) > 3 && /FerretDB/.test(results.infra.mongodb)) {
    out.push(
      "  This is FerretDB 1.24's SQLite backend: its lookup by _id compares `_ferretdb_sjson->'$._id'` while the unique",
      '  index is on `_ferretdb_sjson->"_id"`, which SQLite does not take for the same expression (`EXPLAIN QUERY PLAN`',
      "  says `SCAN`), and it narrows a query by _id only when _id is the filter's only field, checking every other filter",
      "  by decoding each document. So a read-modify-write of one delivery status (audit: `findOne({_id})`, then",
      "  `updateOne({_id, version})`) costs a pass over the whole `deliveries` collection, and the audit log falls",
      "  behind more the longer a run lasts; the work it leaves waits in `audit.attempts`, and the database being busy",
      "  slows every other service's reads and writes. On MongoDB these are index lookups.",
    );
  }
  const fixed = by("s1-500");
  if (fixed) {
    out.push(
      `- **Latency at 500 events/s:** publish→received p50 ${ms(fixed.delivery.latencyMs.p50)} ms, p99 ${ms(fixed.delivery.latencyMs.p99)} ms;` +
        ` a PublishEvent call p50 ${ms(fixed.publish.callLatencyMs.p50)} ms, p99 ${ms(fixed.publish.callLatencyMs.p99)} ms` +
        ` (${g.p99Met ? "goal met" : "goal not met"}). Busiest: ${busiest(fixed)}; machine ${fixed.machineBusyPercent}% busy.` +
        queued(fixed) +
        perSecond(fixed),
    );
  }
  const fan = by("s2-fanout");
  if (fan) {
    out.push(
      `- **Fan-out, 100 tenants × 10 endpoints:** ${fmt(fan.publish.eventsPerSecond)} events/s accepted,` +
        ` ${fmt(fan.delivery.deliveriesPerSecond)} deliveries/s (${fmt(fan.delivery.eventsPerSecond)} events/s fully delivered)` +
        `${fan.delivery.complete ? "" : `, ${fmt(fan.delivery.unique)} of ${fmt(fan.delivery.expected)} deliveries made before the run stopped waiting`}.` +
        ` Busiest: ${busiest(fan)}.${queued(fan)}`,
    );
  }
  const filtered = by("s2-fanout-filters");
  if (filtered) {
    out.push(
      `- **Fan-out with filters:** each of the 1,000 endpoints carries a CEL filter (field comparisons, \`in\` over a list` +
        " and over the channels, string functions, a macro; test/bench/filters.ts) taking half the events:" +
        ` ${fmt(filtered.publish.eventsPerSecond)} events/s accepted, ${fmt(filtered.delivery.deliveriesPerSecond)} deliveries/s` +
        `${filtered.delivery.complete ? "" : `, ${fmt(filtered.delivery.unique)} of ${fmt(filtered.delivery.expected)} deliveries made before the run stopped waiting`}.` +
        ` Routing's CPU per event: ${filtered.routingCpuUsPerEvent ?? "–"} µs with filters,` +
        ` ${by("s2-fanout-channels")?.routingCpuUsPerEvent ?? "–"} µs taking the same half by channel (s2-fanout-channels),` +
        ` ${fan?.routingCpuUsPerEvent ?? "–"} µs for the whole fan-out (s2-fanout)` +
        (g.filters?.medianUs !== undefined
          ? `: ${g.filters.medianUs} µs per event per endpoint for the filters, the median of ${pairCount(g.filters.pairs.length)}` +
            ` against ${g.filters.pairs[0]?.base.id} ([pairs](#filters-against-channels)); all of routing's CPU with filters is` +
            ` ${g.filters.medianUpperUs ?? "–"} µs per event per endpoint.`
          : ".") +
        (g.filters?.micro
          ? ` Routing's decision alone, in one process: ${g.filters.micro.perEndpointUs} µs per event per endpoint for the` +
            " filters (the goal's figure)."
          : ""),
    );
  }
  if (g.failingRatio !== undefined) {
    const healthy = by("s3-healthy");
    const failing = by("s3-failing");
    out.push(
      `- **Failing endpoints:** with 10% of endpoints answering 500, healthy endpoints' p99 was ${ms(failing?.delivery.latencyMs.p99)} ms` +
        ` against ${ms(healthy?.delivery.latencyMs.p99)} ms with none failing: ${g.failingRatio} × in the first pair, the median over the pairs ${healthyGoalOf(FAILING_ENDPOINTS, results)?.medianRatio ?? "–"} × (goal ≤ ${GOALS.healthyP99Ratio} ×)` +
        `${g.slowRatio !== undefined ? `; with 10% answering after 200 ms it was ${g.slowRatio} ×` : ""}.` +
        medianSecondRatio(healthy, failing) +
        " The failing endpoints answer 2xx through the warm-up and 500 from the load's first second: their failures" +
        " cost retries (first after 5 s), attempt records, and once their circuits open, tasks parked in a retry" +
        " tier; slow endpoints hold delivery slots (`DELIVERY_CONCURRENCY` per instance) for 200 ms each." +
        ((healthy?.delivery.latencyMs.p99 ?? 0) > 1_000
          ? " Here even the run without failures had a p99 over a second, from the same database stalls as above, so" +
            " the ratio says little about failures."
          : ""),
    );
  }
  const loads = results.scenarios.map((s) => s.loadAverageBefore[0] ?? 0);
  out.push(
    `- **The machine:** the load average before the scenarios was ${Math.min(...loads)}–${Math.max(...loads)} on ${results.machine.cores} cores:` +
      " other work on this machine (other test runs, builds) competes for the same cores and, when it uses it, the same" +
      " RabbitMQ broker, so figures vary from run to run; compare a run's parts with its own raw ceilings." +
      stolenSentence(results.scenarios) +
      probeSentence(results.scenarios),
  );
  return out;
}

/**
 * The CPU probe before each scenario against the run's first probe (×, above 1 is a slower host), so a
 * scenario's CPU per event can be read against the host's speed at the time; "–" where it was not measured.
 */
export function cpuProbeRow(scenarios: BenchResults["scenarios"]): string {
  const first = scenarios.find((s) => s.cpuProbeUs !== undefined)?.cpuProbeUs;
  const cell = (s: ScenarioResult) =>
    s.cpuProbeUs === undefined || first === undefined
      ? "–"
      : `${fmt(s.cpuProbeUs)} µs (${round(s.cpuProbeUs / first, 2)} ×)`;
  return `| CPU probe before the window (fixed work; × the run's first) | ${scenarios.map(cell).join(" | ")} |`;
}

/** How far the host's speed moved through the run, by the CPU probe, when the run measured it. */
function probeSentence(scenarios: BenchResults["scenarios"]): string {
  const probes = scenarios.map((s) => s.cpuProbeUs).filter((p): p is number => p !== undefined);
  if (probes.length < 2) return "";
  const fastest = Math.min(...probes);
  const slowest = Math.max(...probes);
  return (
    ` A fixed piece of CPU work before each scenario took ${fmt(fastest)}–${fmt(slowest)} µs` +
    ` (up to ${round(slowest / fastest, 2)} × its fastest): the host's speed per core moved that much` +
    " through the run, and every process's CPU per event with it."
  );
}

/** What the hypervisor took during the scenarios, when the run measured it. */
function stolenSentence(scenarios: BenchResults["scenarios"]): string {
  const stolen = scenarios.map((s) => s.stolenPercent).filter((p): p is number => p !== undefined);
  if (stolen.length === 0) return "";
  return (
    ` The hypervisor took ${Math.min(...stolen)}–${Math.max(...stolen)}% of the machine's CPU time (steal) during the` +
    " scenarios: the cores ran that much less for this run, whatever the load average says."
  );
}

// ---------------------------------------------------------------------------------------------- SVG

interface Bar {
  label: string;
  value: number;
  color: string;
}

const COLORS = {
  published: "#9ecae1",
  delivered: "#3182bd",
  logged: "#08519c",
  p50: "#a1d99b",
  p95: "#41ab5d",
  p99: "#006d2c",
  raw: "#bdbdbd",
  goal: "#d62728",
};

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** One horizontal bar chart: rows of bars under a title, a linear axis, an optional goal line. */
function barPanel(
  y0: number,
  title: string,
  rows: Array<{ label: string; bars: Bar[] }>,
  unit: string,
  goal?: { value: number; label: string },
  logScale = false,
): { svg: string; height: number } {
  const width = 880;
  const left = 300;
  const right = 90;
  const barH = 12;
  const gap = 2;
  const rowGap = 10;
  const top = 28;
  const maxValue = Math.max(1, goal?.value ?? 0, ...rows.flatMap((r) => r.bars.map((b) => b.value))) * 1.05;
  const span = width - left - right;
  const scale = logScale
    ? (v: number) => (span * Math.log10(Math.max(1, v))) / Math.log10(Math.max(10, maxValue))
    : (v: number) => (span * v) / maxValue;
  const parts: string[] = [
    `<text x="10" y="${y0 + 18}" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  let y = y0 + top;
  for (const row of rows) {
    const rowHeight = row.bars.length * (barH + gap);
    parts.push(
      `<text x="${left - 8}" y="${y + rowHeight / 2 + 4}" font-size="11" text-anchor="end">${esc(row.label)}</text>`,
    );
    for (const bar of row.bars) {
      const w = Math.max(1, scale(bar.value));
      parts.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${bar.color}"/>`,
        `<text x="${(left + w + 4).toFixed(1)}" y="${y + barH - 2}" font-size="10">${esc(bar.label)} ${fmt(bar.value)}${unit}</text>`,
      );
      y += barH + gap;
    }
    y += rowGap;
  }
  if (goal) {
    const x = left + scale(goal.value);
    parts.push(
      `<line x1="${x.toFixed(1)}" y1="${y0 + top - 4}" x2="${x.toFixed(1)}" y2="${y - rowGap + 2}" stroke="${COLORS.goal}" stroke-dasharray="4 3"/>`,
      `<text x="${(x + 3).toFixed(1)}" y="${y0 + top - 6}" font-size="10" fill="${COLORS.goal}">${esc(goal.label)}</text>`,
    );
  }
  parts.push(`<line x1="${left}" y1="${y0 + top - 4}" x2="${left}" y2="${y - rowGap + 2}" stroke="#333"/>`);
  if (logScale) {
    // Powers of ten along the bottom, so a log axis reads as one.
    for (let tick = 1; tick <= maxValue; tick *= 10) {
      const x = left + scale(tick);
      parts.push(
        `<line x1="${x.toFixed(1)}" y1="${y - rowGap + 2}" x2="${x.toFixed(1)}" y2="${y - rowGap + 6}" stroke="#333"/>`,
        `<text x="${x.toFixed(1)}" y="${y - rowGap + 16}" font-size="9" text-anchor="middle" fill="#555">${fmt(tick)}</text>`,
      );
    }
    y += 14;
  }
  return { svg: parts.join("\n"), height: y - y0 + 6 };
}

/** A label short enough for the chart: id, tenants × endpoints each, and the rate. */
function shortLabel(s: ScenarioResult): string {
  const rate = s.load.kind === "fixed" ? `${s.load.ratePerSecond}/s` : "max rate";
  return `${s.id} (${s.tenants} × ${s.endpoints / s.tenants}, ${rate})`;
}

export function renderSvg(results: BenchResults): string {
  const panels: string[] = [];
  let y = 10;
  const add = (panel: { svg: string; height: number }) => {
    panels.push(panel.svg);
    y += panel.height + 10;
  };
  add(
    barPanel(
      y,
      "Throughput (per second)",
      results.scenarios
        .filter((s) => s.load.kind === "max" || s.logged)
        .map((s) => ({
          label: shortLabel(s),
          bars: [
            { label: "events published", value: s.publish.eventsPerSecond, color: COLORS.published },
            { label: "events delivered", value: s.delivery.eventsPerSecond, color: COLORS.delivered },
            ...(s.endpoints > s.tenants
              ? [{ label: "deliveries", value: s.delivery.deliveriesPerSecond, color: COLORS.delivered }]
              : []),
            ...(s.logged
              ? [{ label: "attempts logged", value: s.logged.attemptsPerSecond, color: COLORS.logged }]
              : []),
          ],
        })),
      "",
      { value: GOALS.eventsPerSecond, label: `goal ${fmt(GOALS.eventsPerSecond)} events/s` },
    ),
  );
  add(
    barPanel(
      y,
      "Publish → received latency at healthy endpoints (ms, log scale)",
      results.scenarios
        .filter((s) => s.load.kind === "fixed")
        .map((s) => ({
          label: shortLabel(s),
          bars: (["p50", "p95", "p99"] as const).map((p) => ({
            label: p,
            value: s.delivery.latencyMs[p],
            color: COLORS[p],
          })),
        })),
      " ms",
      { value: GOALS.p99Ms, label: `goal p99 ≤ ${GOALS.p99Ms} ms` },
      true,
    ),
  );
  const reads = results.reads;
  if (reads && reads.sizes.length > 0) {
    const sizeColors = [COLORS.p50, COLORS.p95, COLORS.p99];
    add(
      barPanel(
        y,
        "Reads as the log grows: p99 per read (ms, log scale)",
        reads.reads.map(({ id }) => ({
          label: id,
          bars: reads.sizes.map((s, i) => {
            const m = s.reads[id];
            const over = !m || m.overCap || m.error !== undefined || m.count === 0;
            return {
              label: `${fmt(s.events)} events${over ? ", over the cap of" : ""}`,
              value: over ? reads.capSeconds * 1000 : Math.round(m?.p99 ?? 0),
              color: sizeColors[i % sizeColors.length] as string,
            };
          }),
        })),
        " ms",
        { value: GOALS.readP99Ms, label: `goal p99 ≤ ${GOALS.readP99Ms} ms` },
        true,
      ),
    );
  }
  add(
    barPanel(
      y,
      "Raw ceilings of this machine (per second, log scale)",
      results.raw.map((r) => ({
        label: r.name,
        bars: [{ label: "", value: r.perSecond, color: COLORS.raw }],
      })),
      "",
      undefined,
      true,
    ),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="${y}" viewBox="0 0 900 ${y}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="900" height="${y}" fill="#fff"/>`,
    ...panels,
    "</svg>",
    "",
  ].join("\n");
}
