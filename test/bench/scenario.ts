// Runs one scenario on a fresh stack: receivers, tenants and endpoints, load, drain, and what every
// process spent. Stacks come from the e2e suite (test/e2e/support/stack.ts): four service processes with
// their own RabbitMQ namespace and MongoDB database, removed when stopped.
import { mkdirSync, writeFileSync } from "node:fs";
import { topologyNames } from "@herald/platform";
import { MongoClient } from "mongodb";
import type { Connection } from "rabbitmq-client";
import { createEndpoint, createTenant } from "../e2e/support/fixtures.js";
import { readMetrics } from "../e2e/support/metrics.js";
import { REPO_ROOT, SERVICES, type ServiceName, type Stack, startStack } from "../e2e/support/stack.js";
import { type BrokerCounters, type BrokerPerEvent, brokerPerEvent } from "./broker-counters.js";
import { benchFilter, filtersMatch, MATCHING_CHANNEL } from "./filters.js";
import {
  type GrpcClientKind,
  type IngestTarget,
  type LoadGenerator,
  LoadStats,
  loadInThisThread,
  type Publisher,
} from "./load.js";
import { loadInWorkerThread } from "./load-thread.js";
import {
  type BenchReceiver,
  isHealthy,
  type ReceiverKind,
  Recorder,
  startBenchReceiver,
  startDelayedReceiver,
} from "./receivers.js";
import {
  cpuProbeUs,
  LoopPauses,
  loadAverage,
  machineCpuTicks,
  nowMs,
  type Percentiles,
  type ProcessReading,
  percentiles,
  pool,
  readProcess,
  round,
  Samples,
  sleep,
} from "./system.js";

type IngestStep = "store" | "confirm";

/** Keep-alive connections of the Connect JSON load generator: one per call in flight at most. */
export const CONNECT_JSON_CONNECTIONS = 64;

/** How endpoint `index` (0-based, of each tenant) answers. */
export type EndpointPlan = (index: number) => ReceiverKind;

export interface ScenarioSpec {
  id: string;
  title: string;
  tenants: number;
  endpointsPerTenant: number;
  /** Receiver of endpoint i of every tenant: one server per endpoint index. */
  endpoints: EndpointPlan;
  load:
    | { kind: "max"; maxEvents: number; maxMs: number; batchSize: number; concurrency: number }
    | { kind: "fixed"; ratePerSecond: number; durationMs: number; batchSize?: number };
  /**
   * Events published before the measured load, uncounted, at half its rate (or in its batches), so it
   * meets compiled code, filled caches and open connections rather than a cold stack.
   */
  warmUpEvents: number;
  /** Wait for every attempt to be in the audit log, and time it. */
  measureLogged: boolean;
  /** Longest wait for deliveries (and the audit log) after the load ended. */
  drainMs: number;
  /** Service environment on top of the e2e defaults. */
  env?: Record<string, string>;
  /**
   * One more tenant, with one fast endpoint of its own, publishing `events` as fast as it can (batches
   * of `batchSize`, `concurrency` calls at once) while the scenario's load runs: the flood the other
   * tenants' figures are measured under. Its own figures are in {@link ScenarioResult.flood}.
   */
  flood?: { events: number; batchSize: number; concurrency: number };
  /**
   * How the load generator calls ingest: "grpc" (the default: stock @grpc/grpc-js over HTTP/2, two
   * channels) or "connect-json" (Connect unary calls with JSON bodies over HTTP/1.1, as REST users call,
   * on {@link CONNECT_JSON_CONNECTIONS} keep-alive connections).
   */
  protocol?: "grpc" | "connect-json";
  /** The gRPC client of the load generator; default stock @grpc/grpc-js. */
  grpcClient?: GrpcClientKind;
  /**
   * The load generator runs in a worker thread of its own, not on the event loop the receivers share,
   * as a separate load-generating process would.
   */
  ownLoadThread?: boolean;
  /** Runs only when BENCH_ONLY names it. */
  optIn?: boolean;
  /**
   * Cold start: once tenants and endpoints exist, every service is stopped and started again (as a
   * deploy does), and the load begins as soon as all four report ready, with no warm-up at all.
   */
  restartBeforeLoad?: boolean;
  /**
   * Half the events go out to each endpoint (the even ones, which carry the fields and channels
   * filters.ts reads): chosen by one of its CEL filters on every endpoint (`filter`), or by subscribing
   * every endpoint to the channel only those events carry (`channel`: the same fan-out without CEL).
   */
  halfBy?: "filter" | "channel";
  /**
   * Documents of each collection the retention purge sweeps (events, event routes, deliveries, attempts)
   * inserted 40 days old after the warm-up, so that audit's purge (run often through `env`) removes them
   * while the load is measured.
   */
  expiredDocuments?: number;
}

export interface ProcessUsage {
  cpuSeconds: number;
  /**
   * CPU seconds while the load ran, without the drain after it: all of ingest's work happens then,
   * and so its CPU per event is this over the events accepted.
   */
  loadCpuSeconds?: number;
  /** Average CPU over the measured window; 100 = one core. */
  cpuPercent: number;
  peakRssMiB?: number;
  /** Share of the window a service's JavaScript thread was stopped for garbage collection, in percent. */
  gcPausePercent?: number;
  /** Full (mark-compact) collections of a service in the window. */
  majorGcs?: number;
}

export interface GroupResult {
  kind: ReceiverKind;
  endpoints: number;
  received: number;
  unique: number;
  duplicates: number;
  latencyMs: Percentiles;
}

export interface ScenarioResult {
  id: string;
  title: string;
  tenants: number;
  endpoints: number;
  load: ScenarioSpec["load"];
  setupSeconds: number;
  /** Events of the warm-up load before the measured one (besides one per tenant). */
  warmUpEvents: number;
  publish: {
    sent: number;
    accepted: number;
    errors: Record<string, number>;
    seconds: number;
    eventsPerSecond: number;
    callLatencyMs: Percentiles;
    maxScheduleLagMs: number;
    /** Events the fixed-rate sender never sent, having fallen too far behind. */
    unsent: number;
    /** Calls without an answer when the sender stopped waiting. */
    unanswered: number;
  };
  delivery: {
    /** Deliveries expected at healthy (fast or slow) endpoints. */
    expected: number;
    unique: number;
    complete: boolean;
    seconds: number;
    deliveriesPerSecond: number;
    eventsPerSecond: number;
    /** Publish→received at endpoints answering 2xx. */
    latencyMs: Percentiles;
    groups: Record<string, GroupResult>;
  };
  logged?: {
    expected: number;
    count: number;
    complete: boolean;
    seconds: number;
    attemptsPerSecond: number;
    /** Attempts in the log made since the load started, counted once all were written. */
    inLog: number;
  };
  processes: Record<string, ProcessUsage>;
  machineBusyPercent: number;
  /** Share of the machine's CPU time the hypervisor gave to other guests during the window. */
  stolenPercent?: number;
  /** {@link cpuProbeUs} just before the window; absent in runs saved before it was measured. */
  cpuProbeUs?: number;
  loadAverageBefore: number[];
  queuePeaks: Record<string, number>;
  /** Seconds since load start, then ready messages in routing.events, delivery.tasks, audit.attempts. */
  queueSeries: Array<[number, number, number, number]>;
  /** Per second of sending: the second, then publish→received p50 and p99 of its events (healthy endpoints). */
  latencySeries: Array<[number, number, number]>;
  /** Per second from the load's start: the benchmark process's own longest event-loop pause, in ms. */
  benchPauseMs: number[];
  /** Mean ms of each step inside ingest for the window's new events (its herald_ingest_step_seconds). */
  ingestStepMeanMs?: Record<IngestStep, number>;
  windowSeconds: number;
  /**
   * The broker's messages (and write-ahead-log entries and batches) over the window per event accepted,
   * when its counters could be read (broker-counters.ts). Shared broker: whatever else used it counts.
   */
  brokerPerEvent?: BrokerPerEvent;
  /** Routing's CPU over the window per event accepted, in µs. */
  routingCpuUsPerEvent?: number;
  /** Routing's CPU from the window's start to the load's end per event accepted, in µs: without the drain. */
  routingLoadCpuUsPerEvent?: number;
  /** With `halfBy`: how the endpoints choose, how many a tenant has, and the share of events taken. */
  filters?: { by: "filter" | "channel"; perTenant: number; matchShare: number };
  /** Times the broker dropped connections during the scenario: its figures are disturbed. */
  brokerInterruptions: number;
  /** With `expiredDocuments`: expired documents inserted, and how many the purge removed in the window. */
  purge?: { seeded: number; removed: number };
  /** With `flood`: what the flooding tenant published and got delivered. */
  flood?: FloodResult;
  /**
   * Tasks delivery sent through a retry tier in the window instead of delivering, by reason (its
   * herald_delivery_hops_total): `endpoint_busy` counts a slow endpoint's overflow.
   */
  deliveryHops?: Record<string, number>;
}

export interface FloodResult {
  accepted: number;
  publishSeconds: number;
  unique: number;
  complete: boolean;
  /** From its first publish to its last delivery. */
  seconds: number;
  deliveriesPerSecond: number;
  latencyMs: Percentiles;
}

/** The flooding tenant of a scenario with `flood`: its publisher and receiver. */
interface Flood {
  publisher: Publisher;
  receiver: BenchReceiver;
}

/** Shared by every scenario of a run. */
export interface ScenarioContext {
  mongoUrl: string;
  /** For passive declares: ready messages per queue. */
  rabbit: Connection;
  /** Extra processes to account for (RabbitMQ, FerretDB), by name. */
  extraPids(): Record<string, number[]>;
  progress(line: string): void;
  log(line: string): void;
  /** True once the run is interrupted. */
  stop(): boolean;
  /** How many times the broker dropped the monitor's connection so far (a restart, say). */
  brokerInterruptions(): number;
  /** The broker's message counters now, when they can be read here (broker-counters.ts). */
  brokerCounters(): Promise<BrokerCounters | undefined>;
}

/** Service processes of the stack running now, for a last-resort kill if the benchmark dies. */
let running: Stack | undefined;
export function startedPids(): number[] {
  return Object.values(running?.pids() ?? {});
}

/** Names the stack a scenario of another kind runs now (undefined once stopped), for {@link startedPids}. */
export function trackStack(stack: Stack | undefined): void {
  running = stack;
}

/** Runs a scenario; its drain ends at `endBy` (ms since the epoch) at the latest. */
export async function runScenario(
  spec: ScenarioSpec,
  ctx: ScenarioContext,
  endBy: number,
): Promise<ScenarioResult> {
  const setupStarted = nowMs();
  ctx.progress(`[${spec.id}] starting stack`);
  const stack = await startStack(
    {
      // As `npm start` runs it: audit's collections in a database of their own, which FerretDB's SQLite
      // backend writes beside the events rather than in turn with them.
      AUDIT_MONGO_DB: `bench_audit_${spec.id}`,
      ...spec.env,
    },
    { nodeArgs: serviceNodeArgs(process.env) },
  );
  running = stack;
  const receivers: BenchReceiver[] = [];
  let load: LoadGenerator | undefined;
  let flood: Flood | undefined;
  try {
    const kinds = Array.from({ length: spec.endpointsPerTenant }, (_, i) => spec.endpoints(i));
    for (const [i, kind] of kinds.entries()) {
      const recorder = new Recorder(`endpoint ${i} (${kind})`);
      // Failing receivers answer 2xx through the warm-up and fail from the measured load on, so the
      // window holds their failures, retries and circuits opening, not circuits opened long before.
      receivers.push(
        kind === "fast" || kind === "failing"
          ? await startBenchReceiver("fast", recorder)
          : await startDelayedReceiver(kind, recorder),
      );
    }
    const publishers = await createTenants(stack, spec, receivers, ctx);
    if (spec.flood) flood = await createFlood(stack);
    const target: IngestTarget =
      spec.protocol === "connect-json"
        ? { protocol: "connect-json", baseUrl: stack.url("ingest"), connections: CONNECT_JSON_CONNECTIONS }
        : {
            protocol: "grpc",
            address: `127.0.0.1:${stack.ports.ingest}`,
            clients: 2,
            client: spec.grpcClient,
          };
    load = spec.ownLoadThread ? loadInWorkerThread(target) : loadInThisThread(target);
    let attemptsBefore = 0;
    if (spec.restartBeforeLoad) {
      ctx.progress(`[${spec.id}] restarting every service`);
      for (const service of SERVICES) await stack.kill(service);
      for (const service of SERVICES) await stack.restart(service);
      if (spec.measureLogged) attemptsBefore = await attemptsStored(stack);
    } else {
      attemptsBefore = await warmUp(spec, ctx, stack, receivers, load, publishers, flood);
    }
    if (spec.expiredDocuments) await insertExpired(ctx, stack, publishers, spec.expiredDocuments);
    for (const [i, kind] of kinds.entries()) if (kind === "failing") receivers[i]?.setKind("failing");
    for (const receiver of receivers) receiver.misbehave();
    const setupSeconds = round((nowMs() - setupStarted) / 1000);
    return await measure(
      spec,
      ctx,
      stack,
      receivers,
      load,
      publishers,
      setupSeconds,
      endBy,
      attemptsBefore,
      flood,
    );
  } finally {
    await load?.close();
    ctx.progress(`[${spec.id}] stopping stack`);
    // Bounded: cleaning up needs the database, which may have stopped answering (FerretDB is restarted
    // empty before the next scenario anyway).
    await Promise.race([
      stack.stop(),
      sleep(60_000).then(() => Promise.reject(new Error("timed out"))),
    ]).catch((err: Error) => ctx.log(`[${spec.id}] stopping the stack: ${err.message}`));
    running = undefined;
    if (process.env.BENCH_KEEP_LOGS === "1") {
      mkdirSync(`${REPO_ROOT}bench-results/logs`, { recursive: true });
      for (const service of SERVICES) {
        writeFileSync(`${REPO_ROOT}bench-results/logs/${spec.id}-${service}.log`, stack.logs(service));
      }
    }
    await Promise.all([...receivers, ...(flood ? [flood.receiver] : [])].map((r) => r.close()));
  }
}

/** The flooding tenant: a rate limit no load here reaches, and one fast endpoint with a receiver of its own. */
async function createFlood(stack: Stack): Promise<Flood> {
  const receiver = await startBenchReceiver("fast", new Recorder("flood endpoint"));
  const tenant = await createTenant(stack, "bench-flood", { rateLimitPerSecond: 1_000_000 });
  await createEndpoint(tenant, receiver.url);
  return { publisher: { tenantId: tenant.id, token: tenant.publishKey }, receiver };
}

async function createTenants(
  stack: Stack,
  spec: ScenarioSpec,
  receivers: BenchReceiver[],
  ctx: ScenarioContext,
): Promise<Publisher[]> {
  const publishers: Publisher[] = [];
  let made = 0;
  await pool(spec.tenants, 8, async (t) => {
    // A tenant's own rate limit, well above what this machine can publish.
    const tenant = await createTenant(stack, `bench-${t}`, { rateLimitPerSecond: 1_000_000 });
    publishers[t] = { tenantId: tenant.id, token: tenant.publishKey };
    for (const [i, receiver] of receivers.entries()) {
      await createEndpoint(
        tenant,
        receiver.url,
        spec.halfBy === "filter"
          ? { filter: benchFilter(i) }
          : spec.halfBy === "channel"
            ? { channels: [MATCHING_CHANNEL] }
            : {},
      );
      made++;
    }
    ctx.progress(`[${spec.id}] setup: ${t + 1}/${spec.tenants} tenants, ${made} endpoints`);
  });
  return publishers;
}

/**
 * Warms the stack up: one event per tenant (every cache and connection in use once), then
 * `spec.warmUpEvents` more shaped like the load: at its rate, or for a load as fast as possible, with half
 * its concurrency. Waits (60 s at most) until every endpoint has them all and the queues are empty, so
 * the measured load starts on an idle stack. Returns the attempts then in the audit log when the scenario
 * measures it (failing endpoints' retries would go on adding to them, hence only for scenarios whose
 * endpoints all answer 2xx).
 */
async function warmUp(
  spec: ScenarioSpec,
  ctx: ScenarioContext,
  stack: Stack,
  receivers: BenchReceiver[],
  load: LoadGenerator,
  publishers: Publisher[],
  flood?: Flood,
): Promise<number> {
  ctx.progress(`[${spec.id}] warming up: one event per tenant, then ${spec.warmUpEvents} more`);
  const everyTenant = [...publishers, ...(flood ? [flood.publisher] : [])];
  const events = spec.halfBy ? "filtered-warm-up" : "warm-up";
  // One single call per tenant: each call goes to the next tenant in turn.
  const firstStats = new LoadStats();
  await load.asFastAsPossible(
    {
      publishers: everyTenant,
      events,
      maxEvents: everyTenant.length,
      maxMs: 60_000,
      batchSize: 1,
      concurrency: 8,
      stop: ctx.stop,
    },
    firstStats,
  );
  if (firstStats.accepted < everyTenant.length)
    throw new Error(`warm-up: ${JSON.stringify(firstStats.errors)} for the tenants' first events`);
  const stats = new LoadStats();
  const options = { publishers, events, stop: ctx.stop } as const;
  if (spec.load.kind === "max") {
    const concurrency = Math.max(1, Math.floor(spec.load.concurrency / 2));
    await load.asFastAsPossible(
      { ...options, ...spec.load, concurrency, maxEvents: spec.warmUpEvents, maxMs: 60_000 },
      stats,
    );
  } else {
    const { ratePerSecond, batchSize } = spec.load;
    const durationMs = (spec.warmUpEvents / ratePerSecond) * 1000;
    await load.atFixedRate(
      { ...options, ratePerSecond, batchSize, durationMs, maxInFlight: 2_000, answerWaitMs: 15_000 },
      stats,
    );
  }

  const perEndpoint = publishers.length + stats.accepted;
  const idle = async () =>
    receivers.every((r) => r.recorder.warmUps >= perEndpoint) &&
    (flood?.receiver.recorder.warmUps ?? 1) >= 1 &&
    (await queueDepths(ctx, stack)).every((ready) => ready === 0);
  const deadline = nowMs() + 60_000;
  while (!(await idle()) && nowMs() < deadline && !ctx.stop()) await sleep(100);
  if (!(await idle())) ctx.log(`[${spec.id}] warm-up not drained after 60 s; measuring anyway`);
  if (!spec.measureLogged) return 0;
  // The last batch may still be on its way into the log although its queue is empty.
  const expected = perEndpoint * receivers.length;
  let stored = await attemptsStored(stack);
  while (stored < expected && nowMs() < deadline && !ctx.stop()) {
    await sleep(100);
    stored = await attemptsStored(stack);
  }
  return stored;
}

/**
 * Attempts the audit service has written so far, from its /metrics. Counting the `attempts` collection
 * instead would time the count: FerretDB answers one by reading every document, which at tens of
 * thousands took seconds and took CPU from the very writes being measured.
 */
async function attemptsStored(stack: Stack): Promise<number> {
  const metric = await readMetrics(stack, "audit");
  // A series appears with its first value: none yet is 0.
  return metric("herald_audit_records_stored_total", 'kind="attempt"') || 0;
}

type MetricReader = Awaited<ReturnType<typeof readMetrics>>;

/** One read of every service's /metrics. A service that does not answer is left out. */
async function readServiceMetrics(stack: Stack): Promise<Partial<Record<ServiceName, MetricReader>>> {
  const read = await Promise.all(
    SERVICES.map(
      async (service) => [service, await readMetrics(stack, service).catch(() => undefined)] as const,
    ),
  );
  return Object.fromEntries(read.filter(([, metric]) => metric !== undefined));
}

type IngestStepTotals = Record<IngestStep, { seconds: number; count: number }>;

/** Seconds summed and events counted by each of ingest's steps so far. */
function ingestSteps(metric: MetricReader): IngestStepTotals {
  const step = (name: IngestStep) => ({
    seconds: metric("herald_ingest_step_seconds_sum", `step="${name}"`) || 0,
    count: metric("herald_ingest_step_seconds_count", `step="${name}"`) || 0,
  });
  return { store: step("store"), confirm: step("confirm") };
}

/** A service's garbage-collection pauses so far, from prom-client's `nodejs_gc_duration_seconds`. */
function gcTotals(metric: MetricReader): { pauseSeconds: number; majorCount: number } {
  const sum = (name: string, kind: string) => metric(name, `kind="${kind}"`) || 0;
  return {
    pauseSeconds: ["minor", "major", "incremental", "weakcb"].reduce(
      (total, kind) => total + sum("herald_nodejs_gc_duration_seconds_sum", kind),
      0,
    ),
    majorCount: sum("herald_nodejs_gc_duration_seconds_count", "major"),
  };
}

function gcUsage(
  before: MetricReader | undefined,
  after: MetricReader | undefined,
  windowMs: number,
): Pick<ProcessUsage, "gcPausePercent" | "majorGcs"> {
  if (!before || !after) return {};
  const [start, end] = [gcTotals(before), gcTotals(after)];
  return {
    gcPausePercent: round(((end.pauseSeconds - start.pauseSeconds) * 100_000) / windowMs),
    majorGcs: end.majorCount - start.majorCount,
  };
}

/** Attempts in the scenario's log since `since`, with bounded waits: the database may stop answering. */
async function countAttemptsSince(ctx: ScenarioContext, stack: Stack, since: Date): Promise<number> {
  const mongo = new MongoClient(ctx.mongoUrl, { serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 60_000 });
  try {
    const db = mongo.db(stack.env.AUDIT_MONGO_DB ?? stack.env.MONGO_DB);
    return await db.collection("attempts").countDocuments({ attempt_time: { $gte: since } });
  } finally {
    await mongo.close();
  }
}

/** The collections the retention purge sweeps, with the database and time field of each. */
const PURGED_COLLECTIONS = [
  { name: "events", audit: false },
  { name: "event_routes", audit: true },
  { name: "deliveries", audit: true },
  { name: "attempts", audit: true },
] as const;

/** Inserts `count` documents 40 days old into each collection the retention purge sweeps. */
async function insertExpired(
  ctx: ScenarioContext,
  stack: Stack,
  publishers: Publisher[],
  count: number,
): Promise<void> {
  const mongo = new MongoClient(ctx.mongoUrl, { serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 120_000 });
  const old = new Date(Date.now() - 40 * 86_400_000);
  const tenantId = publishers[0]?.tenantId ?? "bench-0";
  try {
    for (const { name, audit } of PURGED_COLLECTIONS) {
      const collection = mongo
        .db(audit ? (stack.env.AUDIT_MONGO_DB ?? stack.env.MONGO_DB) : stack.env.MONGO_DB)
        .collection(name);
      for (let start = 0; start < count; start += 1_000) {
        ctx.progress(`[expired] inserting ${name}: ${start}/${count}`);
        const docs = Array.from({ length: Math.min(1_000, count - start) }, (_, i) => {
          const id = `evt_expired_${String(start + i).padStart(7, "0")}`;
          return {
            _id: (name === "deliveries" ? `${id}:ep` : name === "attempts" ? `att_${id}` : id) as never,
            tenant_id: tenantId,
            event_id: id,
            event_type: "bench.expired",
            payload: Buffer.alloc(256, 120),
            dedupe_key: id,
            create_time: old,
            route_time: old,
            update_time: old,
            attempt_time: old,
          };
        });
        await collection.insertMany(docs, { ordered: false });
      }
    }
  } finally {
    await mongo.close();
  }
}

/** Documents audit's retention purge removed so far, from its /metrics. */
function purgedSoFar(metric: MetricReader | undefined): number {
  return PURGED_COLLECTIONS.reduce(
    (n, { name }) =>
      n + (metric?.("herald_purged_documents_total", `collection="${name}"`, 'reason="retention"') || 0),
    0,
  );
}

async function measure(
  spec: ScenarioSpec,
  ctx: ScenarioContext,
  stack: Stack,
  receivers: BenchReceiver[],
  load: LoadGenerator,
  publishers: Publisher[],
  setupSeconds: number,
  endBy: number,
  attemptsBefore: number,
  flood?: Flood,
): Promise<ScenarioResult> {
  const pids: Record<string, number[]> = {};
  for (const [service, pid] of Object.entries(stack.pids())) pids[service] = [pid];
  Object.assign(pids, ctx.extraPids());
  // The probe's own CPU goes before the bench process's reading, so it is not counted as the window's.
  const cpuProbe = cpuProbeUs();
  // Before the window's CPU is read: reading them costs half a second of CPU.
  const brokerBefore = await ctx.brokerCounters();
  const before = readAll(pids);
  const benchCpuBefore = process.cpuUsage();
  const machineBefore = machineCpuTicks();
  const loadAverageBefore = loadAverage();
  const interruptionsBefore = ctx.brokerInterruptions();
  const metricsBefore = await readServiceMetrics(stack);
  const pauses = new LoopPauses();
  const stats = new LoadStats();
  const healthy = receivers.filter((r) => isHealthy(r.kind));
  const floodStats = new LoadStats();
  const floodUnique = () => flood?.receiver.recorder.unique ?? 0;
  const healthyUnique = () => healthy.reduce((n, r) => n + r.recorder.unique, 0);
  const queueSeries: ScenarioResult["queueSeries"] = [];
  const windowStart = nowMs();
  const windowStartTime = new Date();
  let phase = "load";
  let lastDelivered = 0;
  let logged = 0;

  let ticking = true;
  const ticker = (async () => {
    while (ticking) {
      await sleep(1000);
      const depths = await queueDepths(ctx, stack);
      // Shown as it goes; the time the log is complete is taken after delivery, below.
      if (spec.measureLogged)
        logged = Math.max(logged, (await attemptsStored(stack).catch(() => 0)) - attemptsBefore);
      const t = round((nowMs() - windowStart) / 1000);
      queueSeries.push([t, depths[0] ?? 0, depths[1] ?? 0, depths[2] ?? 0]);
      const delivered = healthyUnique();
      ctx.progress(
        `[${spec.id}] ${phase} ${Math.round(t)}s  sent ${stats.sent}  accepted ${stats.accepted}  ` +
          `delivered ${delivered} (${delivered - lastDelivered}/s)` +
          (flood ? `  flood accepted ${floodStats.accepted} delivered ${floodUnique()}` : "") +
          (spec.measureLogged ? `  logged ${logged}` : "") +
          `  queues routing/delivery/audit ${depths.join("/")}`,
      );
      lastDelivered = delivered;
    }
  })();

  const events = spec.halfBy ? "filtered" : "measured";
  try {
    const flooding =
      flood && spec.flood
        ? load.asFastAsPossible(
            {
              publishers: [flood.publisher],
              maxEvents: spec.flood.events,
              maxMs: spec.load.kind === "max" ? spec.load.maxMs : spec.load.durationMs,
              batchSize: spec.flood.batchSize,
              concurrency: spec.flood.concurrency,
              stop: ctx.stop,
            },
            floodStats,
          )
        : Promise.resolve();
    if (spec.load.kind === "max") {
      await load.asFastAsPossible({ publishers, events, ...spec.load, stop: ctx.stop }, stats);
    } else {
      const answerWaitMs = Math.min(spec.drainMs, 15_000);
      await load.atFixedRate(
        { publishers, events, ...spec.load, maxInFlight: 2_000, answerWaitMs, stop: ctx.stop },
        stats,
      );
    }
    const atLoadEnd = readAll(pids);
    await flooding;
    phase = "drain";
    const routed = routedEvents(spec, stats);
    const expected = routed * healthy.length;
    const deadline = Math.max(nowMs() + 5_000, Math.min(nowMs() + spec.drainMs, endBy));
    while (
      (healthyUnique() < expected || floodUnique() < floodStats.accepted) &&
      nowMs() < deadline &&
      !ctx.stop()
    )
      await sleep(20);
    const deliveredAt = Math.max(...healthy.map((r) => r.recorder.lastAt), stats.startedAt);

    let loggedWritten: { expected: number; count: number; seconds: number } | undefined;
    if (spec.measureLogged) {
      const expectedLogged = routed * receivers.length;
      let loggedAt = nowMs();
      try {
        do {
          logged = (await attemptsStored(stack)) - attemptsBefore;
          loggedAt = nowMs();
          if (logged < expectedLogged) await sleep(50);
        } while (logged < expectedLogged && nowMs() < deadline && !ctx.stop());
      } catch (err) {
        ctx.log(`[${spec.id}] reading audit's metrics failed: ${(err as Error).message}`);
      }
      loggedWritten = {
        expected: expectedLogged,
        count: logged,
        seconds: (loggedAt - stats.startedAt) / 1000,
      };
    }
    const windowEnd = nowMs();
    ticking = false;
    await ticker;

    const benchPauseMs = pauses.stop();
    const after = readAll(pids);
    const metricsAfter = await readServiceMetrics(stack);
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const machineAfter = machineCpuTicks();
    const broker = brokerPerEvent(brokerBefore, await ctx.brokerCounters(), stats.accepted);
    const windowMs = windowEnd - windowStart;
    /** Routing's CPU from the window's start to `to`, per event accepted, in µs. */
    const routingUsPerEvent = (to: typeof after) =>
      round((((to.routing?.cpuMs ?? 0) - (before.routing?.cpuMs ?? 0)) * 1000) / stats.accepted);
    const processes: Record<string, ProcessUsage> = {};
    for (const name of Object.keys(pids)) {
      const cpuMs = (after[name]?.cpuMs ?? 0) - (before[name]?.cpuMs ?? 0);
      const service = SERVICES.find((s) => s === name);
      const loadCpuMs = (atLoadEnd[name]?.cpuMs ?? 0) - (before[name]?.cpuMs ?? 0);
      processes[name] = {
        cpuSeconds: round(cpuMs / 1000),
        loadCpuSeconds: round(loadCpuMs / 1000, 2),
        cpuPercent: Math.round((cpuMs / windowMs) * 100),
        ...(service
          ? {
              peakRssMiB: after[name]?.peakRssMiB,
              ...gcUsage(metricsBefore[service], metricsAfter[service], windowMs),
            }
          : {}),
      };
    }
    const benchMs = (benchCpu.user + benchCpu.system) / 1000;
    processes["bench (load generator + receivers)"] = {
      cpuSeconds: round(benchMs / 1000),
      cpuPercent: Math.round((benchMs / windowMs) * 100),
      peakRssMiB: round(process.resourceUsage().maxRSS / 1024),
    };
    const machineBusyPercent = Math.round(
      ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * 100,
    );
    const stolenPercent = Math.round(
      ((machineAfter.steal - machineBefore.steal) / (machineAfter.total - machineBefore.total)) * 100,
    );

    let loggedResult: ScenarioResult["logged"];
    if (loggedWritten) {
      // The metric said when audit wrote them; the log itself must hold every attempt of the window.
      // Counted after the window, as the count is a slow scan on FerretDB.
      const inLog = await countAttemptsSince(ctx, stack, windowStartTime).catch((err: Error) => {
        ctx.log(`[${spec.id}] counting attempts failed: ${err.message}`);
        return 0;
      });
      const { expected, count, seconds } = loggedWritten;
      loggedResult = {
        expected,
        count,
        inLog,
        complete: count >= expected && inLog >= expected,
        seconds: round(seconds),
        attemptsPerSecond: Math.round(count / seconds),
      };
    }

    const deliveredUnique = healthyUnique();
    const deliverySeconds = (deliveredAt - stats.startedAt) / 1000;
    const latencies = healthy.map((r) => r.recorder.latencyMs);
    const groups: Record<string, GroupResult> = {};
    for (const kind of ["fast", "slow", "failing", "stalled", "hanging"] as const) {
      const group = receivers.filter((r) => r.kind === kind);
      if (group.length === 0) continue;
      groups[kind] = {
        kind,
        endpoints: group.length * spec.tenants,
        received: group.reduce((n, r) => n + r.recorder.received, 0),
        unique: group.reduce((n, r) => n + r.recorder.unique, 0),
        duplicates: group.reduce((n, r) => n + r.recorder.duplicates, 0),
        latencyMs: Samples.merged(group.map((r) => r.recorder.latencyMs)),
      };
    }
    return {
      id: spec.id,
      title: spec.title,
      tenants: spec.tenants,
      endpoints: spec.tenants * spec.endpointsPerTenant,
      load: spec.load,
      setupSeconds,
      warmUpEvents: spec.warmUpEvents,
      publish: {
        sent: stats.sent,
        accepted: stats.accepted,
        errors: stats.errors,
        seconds: round((stats.endedAt - stats.startedAt) / 1000),
        eventsPerSecond: Math.round(stats.acceptedPerSecond),
        callLatencyMs: stats.callLatencyMs.percentiles(),
        maxScheduleLagMs: round(stats.maxScheduleLagMs),
        unsent: stats.unsent,
        unanswered: stats.unanswered,
      },
      delivery: {
        expected,
        unique: deliveredUnique,
        complete: deliveredUnique >= expected,
        seconds: round(deliverySeconds),
        deliveriesPerSecond: Math.round(deliveredUnique / deliverySeconds),
        eventsPerSecond: Math.round(deliveredUnique / Math.max(1, healthy.length) / deliverySeconds),
        latencyMs: Samples.merged(latencies),
        groups,
      },
      ...(loggedResult ? { logged: loggedResult } : {}),
      processes,
      machineBusyPercent,
      stolenPercent,
      cpuProbeUs: cpuProbe,
      loadAverageBefore,
      queuePeaks: {
        "routing.events": Math.max(0, ...queueSeries.map((s) => s[1])),
        "delivery.tasks": Math.max(0, ...queueSeries.map((s) => s[2])),
        "audit.attempts": Math.max(0, ...queueSeries.map((s) => s[3])),
      },
      queueSeries,
      latencySeries: latencyPerSecond(healthy, stats.startedAt),
      benchPauseMs,
      ...(metricsBefore.ingest && metricsAfter.ingest
        ? { ingestStepMeanMs: stepMeans(ingestSteps(metricsBefore.ingest), ingestSteps(metricsAfter.ingest)) }
        : {}),
      windowSeconds: round(windowMs / 1000),
      ...(broker ? { brokerPerEvent: broker } : {}),
      ...(stats.accepted > 0
        ? {
            routingCpuUsPerEvent: routingUsPerEvent(after),
            routingLoadCpuUsPerEvent: routingUsPerEvent(atLoadEnd),
          }
        : {}),
      ...(spec.halfBy
        ? {
            filters: {
              by: spec.halfBy,
              perTenant: spec.endpointsPerTenant,
              matchShare: round(routed / Math.max(1, stats.accepted), 3),
            },
          }
        : {}),
      brokerInterruptions: ctx.brokerInterruptions() - interruptionsBefore,
      ...(spec.expiredDocuments
        ? {
            purge: {
              seeded: spec.expiredDocuments * PURGED_COLLECTIONS.length,
              removed: purgedSoFar(metricsAfter.audit) - purgedSoFar(metricsBefore.audit),
            },
          }
        : {}),
      ...(flood ? { flood: floodResult(flood, floodStats) } : {}),
      ...(metricsBefore.delivery && metricsAfter.delivery
        ? { deliveryHops: deliveryHops(metricsBefore.delivery, metricsAfter.delivery) }
        : {}),
    };
  } finally {
    ticking = false;
    await ticker;
  }
}

const HOPS = ["retry_scheduled", "parked", "endpoint_busy", "forwarded"] as const;

function deliveryHops(before: MetricReader, after: MetricReader): Record<string, number> {
  const hop = (metric: MetricReader, name: string) =>
    metric("herald_delivery_hops_total", `hop="${name}"`) || 0;
  return Object.fromEntries(HOPS.map((name) => [name, hop(after, name) - hop(before, name)]));
}

function floodResult(flood: Flood, stats: LoadStats): FloodResult {
  const { recorder } = flood.receiver;
  const seconds = (Math.max(recorder.lastAt, stats.startedAt) - stats.startedAt) / 1000;
  return {
    accepted: stats.accepted,
    publishSeconds: round((stats.endedAt - stats.startedAt) / 1000),
    unique: recorder.unique,
    complete: recorder.unique >= stats.accepted,
    seconds: round(seconds),
    deliveriesPerSecond: seconds > 0 ? Math.round(recorder.unique / seconds) : 0,
    latencyMs: recorder.latencyMs.percentiles(),
  };
}

/**
 * Events of the load each endpoint should get: all accepted, or with filters the even ones (exact when
 * every event was accepted; otherwise in proportion).
 */
function routedEvents(spec: ScenarioSpec, stats: LoadStats): number {
  if (!spec.halfBy || stats.sent === 0) return stats.accepted;
  let matching = 0;
  for (let seq = 0; seq < stats.sent; seq++) if (filtersMatch(seq)) matching++;
  return Math.floor((matching * stats.accepted) / stats.sent);
}

function stepMeans(before: IngestStepTotals, after: IngestStepTotals): Record<IngestStep, number> {
  const mean = (step: IngestStep) => {
    const count = after[step].count - before[step].count;
    return count > 0 ? round(((after[step].seconds - before[step].seconds) / count) * 1000) : 0;
  };
  return { store: mean("store"), confirm: mean("confirm") };
}

function latencyPerSecond(receivers: BenchReceiver[], startedAt: number): ScenarioResult["latencySeries"] {
  const bySecond = new Map<number, number[]>();
  for (const { recorder } of receivers) {
    const sent = recorder.sentAt.values();
    const latency = recorder.latencyMs.values();
    for (const [i, t] of sent.entries()) {
      const second = Math.max(0, Math.floor((t - startedAt) / 1000));
      const list = bySecond.get(second) ?? [];
      if (list.length === 0) bySecond.set(second, list);
      list.push(latency[i] as number);
    }
  }
  return [...bySecond]
    .sort(([a], [b]) => a - b)
    .map(([second, values]) => {
      const p = percentiles(values);
      return [second, p.p50, p.p99];
    });
}

function readAll(pids: Record<string, number[]>): Record<string, ProcessReading> {
  const readings: Record<string, ProcessReading> = {};
  for (const [name, list] of Object.entries(pids)) {
    const parts = list.map(readProcess).filter((r): r is ProcessReading => r !== undefined);
    readings[name] = {
      cpuMs: parts.reduce((n, r) => n + r.cpuMs, 0),
      peakRssMiB: parts.reduce((n, r) => n + r.peakRssMiB, 0),
      rssMiB: parts.reduce((n, r) => n + r.rssMiB, 0),
    };
  }
  return readings;
}

/**
 * Ready messages in routing.events, delivery.tasks and audit.attempts, in that order; a sharded queue's
 * are its own and its shards'.
 */
function queueDepths(ctx: ScenarioContext, stack: Stack): Promise<number[]> {
  const names = topologyNames(stack.env.AMQP_NAMESPACE);
  const { queues } = names;
  const lanes = (queue: string) => [queue, ...names.shardQueues(queue)];
  return Promise.all(
    [lanes(queues.routingEvents), lanes(queues.deliveryTasks), [queues.auditAttempts]].map(async (group) =>
      (await Promise.all(group.map((queue) => readyMessages(ctx.rabbit, queue)))).reduce((a, b) => a + b, 0),
    ),
  );
}

async function readyMessages(rabbit: Connection, queue: string): Promise<number> {
  try {
    return (await rabbit.queueDeclare({ queue, passive: true })).messageCount;
  } catch {
    return 0;
  }
}

/**
 * Node arguments for profiling the services: BENCH_SERVICE_NODE_ARGS for all four (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof" or "--trace-gc"), then BENCH_<SERVICE>_NODE_ARGS for one (e.g.
 * BENCH_INGEST_NODE_ARGS="--inspect=127.0.0.1:9229"). Space-separated.
 */
export function serviceNodeArgs(env: NodeJS.ProcessEnv): Partial<Record<ServiceName, string[]>> {
  const split = (value: string | undefined) => value?.split(/\s+/).filter(Boolean) ?? [];
  return Object.fromEntries(
    SERVICES.map((service) => [
      service,
      [...split(env.BENCH_SERVICE_NODE_ARGS), ...split(env[`BENCH_${service.toUpperCase()}_NODE_ARGS`])],
    ]),
  );
}
