// The reads scenario: how long each read of the API takes as the log grows. One stack, one measured
// tenant with one endpoint (and two other tenants, so every query must filter on the tenant); the log is
// filled in bulk to each size (reads-fill.ts), then every read is timed through the real API, one call
// at a time, with nothing else running. A few events published through the real pipeline first show
// that the API answers the same for a bulk-written event as for a real one.
import { statSync } from "node:fs";
import os from "node:os";
import { create, toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  AuditService,
  DeliveryState,
  GetEventResponseSchema,
  IngestService,
  ListAttemptsResponseSchema,
  ListEventsRequestSchema,
  ListEventsResponseSchema,
} from "@herald/contracts";
import { type Db, MongoClient } from "mongodb";
import { encodePageToken } from "../../apps/audit/src/page-token.js";
import { DEFAULT_PAGE_SIZE, listEventsQuery } from "../../apps/audit/src/queries.js";
import { grpcClient } from "../e2e/support/clients.js";
import { createEndpoint, createTenant, eventually, type TestTenant } from "../e2e/support/fixtures.js";
import { type Receiver, startReceiver } from "../e2e/support/receiver.js";
import { startStack } from "../e2e/support/stack.js";
import {
  EVENT_TYPES,
  type EventLog,
  eventInput,
  eventPayload,
  LogFiller,
  RECEIVER_REPLY,
} from "./reads-fill.js";
import { type ScenarioContext, serviceNodeArgs, trackStack } from "./scenario.js";
import { nowMs, percentiles, readProcess, round, sleep } from "./system.js";

const HOUR = 3_600_000;
/** Sizes of the measured tenant's log, smallest first; BENCH_READS_MAX lowers the top one. */
const DEFAULT_SIZES = [10_000, 100_000, 1_000_000];
/** The page ListEvents is read at, following page tokens. */
const DEEP_PAGE = 20;

export interface ReadsOptions {
  sizes: number[];
  /** Calls timed per read and size. */
  samples: number;
  /** Longest a read is timed for at one size, calls included; a call still running then is cut. */
  capMs: number;
  /** FerretDB's data directory, when the run started it: the SQLite files' sizes are the storage. */
  dataDir?: string;
}

export function readsOptions(env: NodeJS.ProcessEnv, dataDir?: string): ReadsOptions {
  const max = Number(env.BENCH_READS_MAX ?? DEFAULT_SIZES[DEFAULT_SIZES.length - 1]);
  const sizes = DEFAULT_SIZES.filter((s) => s < max);
  return {
    sizes: [...sizes, max],
    samples: Number(env.BENCH_READS_SAMPLES ?? 200),
    capMs: Number(env.BENCH_READS_CAP_SECONDS ?? 20) * 1000,
    ...(dataDir ? { dataDir } : {}),
  };
}

/** One read's timings at one size. */
export interface ReadMeasure {
  /** Calls timed. */
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** No call finished within the cap: the read takes longer than `capSeconds`. */
  overCap: boolean;
  /** Not tried, as it was already over the cap at this smaller size. */
  skippedAfter?: number;
  /** Stopped by a failure other than the cap. */
  error?: string;
}

export interface ReadsSizeResult {
  /** Events of the measured tenant. */
  events: number;
  /** Events of every tenant. */
  allEvents: number;
  fill: {
    events: number;
    documents: number;
    seconds: number;
    eventsPerSecond: number;
    documentsPerSecond: number;
  };
  storage: { bytes: number; bytesPerEvent: number; how: string };
  /** The machine's load average (1 min) before the reads: other work slows them. */
  loadAverage: number;
  /** How the token of ListEvents' deep page was had: by following the pages, or computed from the log. */
  deepPageToken: "followed" | "computed";
  reads: Record<string, ReadMeasure>;
}

export interface ReadsResult {
  id: "reads";
  title: string;
  samples: number;
  capSeconds: number;
  /** The reads measured, in order: id, what it is. */
  reads: Array<{ id: string; title: string }>;
  /** Differences between the real pipeline's documents and answers and the bulk-written ones'; empty = same. */
  shapeDifferences: string[];
  sizes: ReadsSizeResult[];
  setupSeconds: number;
  totalSeconds: number;
  notes: string[];
}

type AuditClient = ReturnType<typeof grpcClient<typeof AuditService>>;
type IngestClient = ReturnType<typeof grpcClient<typeof IngestService>>;

/** What the reads need: the API's clients and the measured tenant's log. */
interface Fixture {
  audit: AuditClient;
  ingest: IngestClient;
  tenantId: string;
  endpointId: string;
  log: EventLog;
  deepPageToken: string;
}

interface Read {
  id: string;
  title: string;
  call(fx: Fixture, timeoutMs: number): Promise<unknown>;
}

const ts = (ms: number) => timestampFromDate(new Date(ms));
const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)] as T;

/** The reads, as the CLI and operators make them. */
export const READS: Read[] = [
  {
    id: "get-event",
    title: "GetEvent (a random event, with its delivery status per endpoint)",
    call: (fx, timeoutMs) =>
      fx.audit.getEvent({ tenantId: fx.tenantId, eventId: pick(fx.log.ids) }, { timeoutMs }),
  },
  {
    id: "list-events",
    title: "ListEvents, first page",
    call: (fx, timeoutMs) => fx.audit.listEvents({ tenantId: fx.tenantId }, { timeoutMs }),
  },
  {
    id: "list-events-deep",
    title: `ListEvents, page ${DEEP_PAGE}`,
    call: (fx, timeoutMs) =>
      fx.audit.listEvents({ tenantId: fx.tenantId, pageToken: fx.deepPageToken }, { timeoutMs }),
  },
  {
    id: "list-events-type",
    title: "ListEvents by event type (one of 8), first page",
    call: (fx, timeoutMs) =>
      fx.audit.listEvents({ tenantId: fx.tenantId, eventType: EVENT_TYPES[1] }, { timeoutMs }),
  },
  {
    id: "list-events-time",
    title: "ListEvents in a one-hour window 12 h ago, first page",
    call: (fx, timeoutMs) => {
      const now = Date.now();
      return fx.audit.listEvents(
        { tenantId: fx.tenantId, startTime: ts(now - 13 * HOUR), endTime: ts(now - 12 * HOUR) },
        { timeoutMs },
      );
    },
  },
  {
    id: "list-attempts-event",
    title: "ListAttempts by event (a random event)",
    call: (fx, timeoutMs) =>
      fx.audit.listAttempts({ tenantId: fx.tenantId, eventId: pick(fx.log.ids) }, { timeoutMs }),
  },
  {
    id: "list-attempts-endpoint",
    title: "ListAttempts by endpoint, first page",
    call: (fx, timeoutMs) =>
      fx.audit.listAttempts({ tenantId: fx.tenantId, endpointId: fx.endpointId }, { timeoutMs }),
  },
  {
    id: "list-attempts-tenant",
    title: "ListAttempts by tenant, first page",
    call: (fx, timeoutMs) => fx.audit.listAttempts({ tenantId: fx.tenantId }, { timeoutMs }),
  },
  {
    id: "recover",
    title: "Recover's selection (an endpoint's failed deliveries of the last day: none, so nothing is sent)",
    call: async (fx, timeoutMs) => {
      const res = await fx.audit.recover(
        { tenantId: fx.tenantId, endpointId: fx.endpointId, since: ts(Date.now() - 24 * HOUR) },
        { timeoutMs },
      );
      if (res.requeued > 0) throw new Error(`Recover requeued ${res.requeued} deliveries: the log changed`);
      return res;
    },
  },
  {
    id: "redrive",
    title: "Redrive's selection (the tenant's dead deliveries: none)",
    call: async (fx, timeoutMs) => {
      const res = await fx.audit.redrive({ tenantId: fx.tenantId }, { timeoutMs });
      if (res.requeued > 0) throw new Error(`Redrive requeued ${res.requeued} deliveries: the log changed`);
      return res;
    },
  },
  {
    id: "publish-dedupe",
    title: "PublishEvent with a known idempotency key (rate-limit claim and dedupe lookup)",
    call: async (fx, timeoutMs) => {
      const seq = dedupeTarget(fx.log);
      const input = eventInput(0, seq);
      const res = await fx.ingest.publishEvent({ tenantId: fx.tenantId, event: input }, { timeoutMs });
      if (!res.duplicate) throw new Error(`event ${seq} was published anew: its key was not found`);
      return res;
    },
  },
];

/**
 * A bulk-written event with an idempotency key, created within the last 22 hours: the key is still
 * within ingest's 24-hour window, so publishing it again is a duplicate and writes nothing.
 */
function dedupeTarget(log: EventLog): number {
  const since = Date.now() - 22 * HOUR;
  for (;;) {
    const i = Math.floor(Math.random() * log.length);
    const seq = log.seqs[i] as number;
    if (seq >= 0 && eventInput(0, seq).idempotencyKey && (log.times[i] as number) > since) return seq;
  }
}

/** Runs the reads scenario; it stops growing the log once `endBy` (ms since the epoch) has passed. */
export async function runReads(
  ctx: ScenarioContext,
  options: ReadsOptions,
  endBy: number,
): Promise<ReadsResult> {
  const started = nowMs();
  const notes: string[] = [];
  ctx.progress("[reads] starting stack");
  const stack = await startStack(
    { AUDIT_MONGO_DB: "bench_audit_reads" },
    { nodeArgs: serviceNodeArgs(process.env) },
  );
  trackStack(stack);
  const mongo = new MongoClient(ctx.mongoUrl, { serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 600_000 });
  let receiver: Receiver | undefined;
  try {
    receiver = await startReceiver();
    receiver.reply = () => {
      (receiver as Receiver).requests.length = 0;
      return RECEIVER_REPLY;
    };
    const tenants: Array<{ tenant: TestTenant; endpointId: string }> = [];
    for (let t = 0; t < 3; t++) {
      const tenant = await createTenant(stack, `bench-reads-${t}`, { rateLimitPerSecond: 1_000_000 });
      tenants.push({ tenant, endpointId: (await createEndpoint(tenant, receiver.url)).id });
    }
    const main = tenants[0] as { tenant: TestTenant; endpointId: string };
    const db = mongo.db(stack.env.MONGO_DB);
    const auditDb = mongo.db(stack.env.AUDIT_MONGO_DB);
    const filler = new LogFiller(
      db,
      auditDb,
      tenants.map(({ tenant, endpointId }) => ({ id: tenant.id, endpointId, url: receiver?.url ?? "" })),
    );
    const fx: Fixture = {
      audit: grpcClient(AuditService, stack.url("audit"), main.tenant.fullKey),
      ingest: grpcClient(IngestService, stack.url("ingest"), main.tenant.publishKey),
      tenantId: main.tenant.id,
      endpointId: main.endpointId,
      log: filler.log,
      deepPageToken: "",
    };
    ctx.progress("[reads] publishing events through the pipeline");
    const real = await publishReal(fx);
    const setupSeconds = round((nowMs() - started) / 1000);

    let shapeDifferences: string[] = [];
    const sizes: ReadsSizeResult[] = [];
    const overCapAt = new Map<string, number>();
    for (const size of options.sizes) {
      if (ctx.stop()) break;
      if (nowMs() > endBy) {
        notes.push(`stopped before ${size.toLocaleString("en-US")} events: over the scenario's time budget`);
        break;
      }
      const add = size - filler.log.length;
      const now = Date.now();
      const fill = await filler.fill(add, now - 23 * HOUR, now - 60_000, (written, total) =>
        ctx.progress(`[reads] filling to ${size.toLocaleString("en-US")}: ${written}/${total} events`),
      );
      const previous = sizes[sizes.length - 1];
      const allEvents = (previous?.allEvents ?? real.length) + fill.events;
      ctx.log(
        `[reads] ${size.toLocaleString("en-US")} events: wrote ${fill.events} events (${fill.documents} documents)` +
          ` in ${fill.seconds} s, ${fill.eventsPerSecond} events/s, ${fill.documentsPerSecond} documents/s`,
      );
      await waitIdle(ctx);
      if (sizes.length === 0) {
        shapeDifferences = await shapeCheck(fx, real, main.endpointId, db, auditDb);
        ctx.log(
          shapeDifferences.length === 0
            ? "[reads] bulk-written events read back as the pipeline's do"
            : `[reads] bulk-written events differ from the pipeline's:\n  ${shapeDifferences.join("\n  ")}`,
        );
      }
      const storage = await storageOf(
        mongo,
        [db.databaseName, auditDb.databaseName],
        allEvents,
        options.dataDir,
      );
      const loadAverage = os.loadavg()[0] ?? 0;
      const { reads, deepPageToken } = await timeReads(ctx, fx, options, size, overCapAt);
      sizes.push({ events: size, allEvents, fill, storage, loadAverage, deepPageToken, reads });
    }
    return {
      id: "reads",
      title: "Reads as the log grows: 1 tenant × 1 endpoint, each event delivered once",
      samples: options.samples,
      capSeconds: options.capMs / 1000,
      reads: READS.map(({ id, title }) => ({ id, title })),
      shapeDifferences,
      sizes,
      setupSeconds,
      totalSeconds: round((nowMs() - started) / 1000),
      notes,
    };
  } finally {
    ctx.progress("[reads] stopping stack");
    await mongo.close().catch(() => undefined);
    await Promise.race([
      stack.stop(),
      sleep(120_000).then(() => Promise.reject(new Error("timed out"))),
    ]).catch((err: Error) => ctx.log(`[reads] stopping the stack: ${err.message}`));
    trackStack(undefined);
    await receiver?.close();
  }
}

/**
 * Times every read at one size. `overCapAt` holds the reads already over the cap at a smaller size (with
 * that size): they are not tried again; those over it now are added.
 */
async function timeReads(
  ctx: ScenarioContext,
  fx: Fixture,
  options: ReadsOptions,
  size: number,
  overCapAt: Map<string, number>,
): Promise<Pick<ReadsSizeResult, "reads" | "deepPageToken">> {
  const deep = await deepPageToken(ctx, fx, options.capMs, overCapAt.has("list-events"));
  fx.deepPageToken = deep.token;
  const reads: Record<string, ReadMeasure> = {};
  for (const read of READS) {
    if (ctx.stop()) break;
    const skippedAfter = overCapAt.get(read.id);
    if (skippedAfter !== undefined) {
      reads[read.id] = { ...percentiles([]), overCap: true, skippedAfter };
      continue;
    }
    ctx.progress(`[reads] ${size.toLocaleString("en-US")} events: ${read.title}`);
    const measure = await timeRead(ctx, fx, read, options);
    reads[read.id] = measure;
    if (measure.overCap) overCapAt.set(read.id, size);
    ctx.log(`[reads]   ${read.id}: ${describe(measure, options.capMs / 1000)}`);
  }
  return { reads, deepPageToken: deep.how };
}

/** One read's timings in words, for the log. */
export function describe(m: ReadMeasure, capSeconds: number): string {
  if (m.skippedAfter !== undefined) return `not tried: over ${capSeconds} s at ${m.skippedAfter}`;
  if (m.error) return `failed: ${m.error}`;
  if (m.overCap || m.count === 0) return `no call finished within the ${capSeconds} s cap`;
  return `p50 ${m.p50} ms, p99 ${m.p99} ms over ${m.count} calls`;
}

/**
 * Times `read`: one call first, untimed unless it took over a second (then the read is slow enough that
 * a cold start is lost in it), then up to `samples` calls one after another, for `capMs` in all: the
 * call running when it ends is cut short. Over the cap means no call finished within it.
 */
export async function timeRead<F>(
  ctx: ScenarioContext,
  fx: F,
  read: { call(fx: F, timeoutMs: number): Promise<unknown> },
  options: Pick<ReadsOptions, "samples" | "capMs">,
): Promise<ReadMeasure> {
  const started = nowMs();
  const times: number[] = [];
  let cut = false;
  let error: string | undefined;
  let warm = false;
  while (times.length < options.samples && !ctx.stop()) {
    const left = options.capMs - (nowMs() - started);
    if (left <= 0) break;
    const t0 = nowMs();
    try {
      await read.call(fx, Math.max(1, Math.round(left)));
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.DeadlineExceeded) cut = true;
      else error = (err as Error).message;
      break;
    }
    const ms = nowMs() - t0;
    if (warm || ms > 1_000) times.push(ms);
    warm = true;
  }
  // The server goes on with a query cut short: the next read must not wait behind it.
  if (cut) await waitIdle(ctx);
  return { ...percentiles(times), overCap: cut && !warm, ...(error ? { error } : {}) };
}

/**
 * Waits until FerretDB is idle (under a fifth of a core for a second), `maxMs` at most: the fill's last
 * writes, or a query a cap cut short, must not be timed with the next read. With MONGO_URL, 2 s.
 */
export async function waitIdle(ctx: ScenarioContext, maxMs = 60_000): Promise<void> {
  const pid = ctx.extraPids().ferretdb?.[0];
  if (pid === undefined) return sleep(2_000);
  const deadline = nowMs() + maxMs;
  let before = readProcess(pid)?.cpuMs ?? 0;
  while (nowMs() < deadline) {
    await sleep(1_000);
    const after = readProcess(pid)?.cpuMs ?? 0;
    if (after - before < 200) return;
    before = after;
  }
}

/**
 * The token of ListEvents' deep page: by following the pages through the API while that fits in the
 * cap, and computed from the log as audit would encode it otherwise (the pages before it alone would
 * take longer than the cap). Where both are had, they must agree.
 */
async function deepPageToken(
  ctx: ScenarioContext,
  fx: Fixture,
  capMs: number,
  firstPageOverCap: boolean,
): Promise<{ token: string; how: "followed" | "computed" }> {
  const query = listEventsQuery(create(ListEventsRequestSchema, { tenantId: fx.tenantId }));
  const last = fx.log.newest((DEEP_PAGE - 1) * DEFAULT_PAGE_SIZE - 1);
  if (!last) throw new Error(`the log holds fewer than ${DEEP_PAGE} pages of events`);
  const computed = encodePageToken({ time: new Date(last.time), id: last.id }, query.fingerprint);
  if (firstPageOverCap) return { token: computed, how: "computed" };
  const started = nowMs();
  let token = "";
  try {
    for (let page = 1; page < DEEP_PAGE; page++) {
      const timeoutMs = Math.round(capMs - (nowMs() - started));
      if (timeoutMs <= 0) return { token: computed, how: "computed" };
      token = (await fx.audit.listEvents({ tenantId: fx.tenantId, pageToken: token }, { timeoutMs }))
        .nextPageToken;
    }
  } catch (err) {
    if (!(err instanceof ConnectError && err.code === Code.DeadlineExceeded)) throw err;
    await waitIdle(ctx);
    return { token: computed, how: "computed" };
  }
  if (token !== computed)
    throw new Error(`page ${DEEP_PAGE}'s token followed (${token}) is not the one computed (${computed})`);
  return { token, how: "followed" };
}

/** Events published through the real pipeline, one with an idempotency key and one without. */
interface RealEvents {
  keyed: string;
  plain: string;
  length: number;
}

/** Publishes two events through ingest and waits until each is delivered and its attempt logged. */
async function publishReal(fx: Fixture): Promise<RealEvents> {
  const ids: string[] = [];
  for (const [i, key] of ["reads-shape-check", ""].entries()) {
    const { eventId } = await fx.ingest.publishEvent({
      tenantId: fx.tenantId,
      event: { eventType: EVENT_TYPES[0], payload: eventPayload(0, -1 - i), idempotencyKey: key },
    });
    const event = await eventually(
      async () => {
        const res = await fx.audit.getEvent({ tenantId: fx.tenantId, eventId });
        const attempts = await fx.audit.listAttempts({ tenantId: fx.tenantId, eventId });
        return res.deliveries[0]?.state === DeliveryState.SUCCEEDED && attempts.attempts.length === 1
          ? res.event
          : undefined;
      },
      30_000,
      `event ${eventId} delivered and logged`,
    );
    fx.log.add(eventId, event?.createTime ? timestampDate(event.createTime).getTime() : Date.now(), -1);
    ids.push(eventId);
  }
  return { keyed: ids[0] as string, plain: ids[1] as string, length: ids.length };
}

/**
 * Compares a bulk-written event with a real one, with and without an idempotency key: the documents
 * stored for it (their fields) and what GetEvent, ListEvents and ListAttempts answer (the fields set,
 * and the values of states, enums and flags). Returns the differences.
 */
async function shapeCheck(
  fx: Fixture,
  real: RealEvents,
  endpointId: string,
  db: Db,
  auditDb: Db,
): Promise<string[]> {
  const differences: string[] = [];
  const bulkOf = (keyed: boolean) => {
    const i = fx.log.seqs.findIndex(
      (seq) => seq >= 0 && Boolean(eventInput(0, seq).idempotencyKey) === keyed,
    );
    return { id: fx.log.ids[i] as string, time: fx.log.times[i] as number };
  };
  for (const [realId, bulk] of [
    [real.keyed, bulkOf(true)],
    [real.plain, bulkOf(false)],
  ] as const) {
    const views = async (eventId: string) => {
      const got = await fx.audit.getEvent({ tenantId: fx.tenantId, eventId });
      const time = got.event?.createTime ? timestampDate(got.event.createTime).getTime() : 0;
      const listed = await fx.audit.listEvents({
        tenantId: fx.tenantId,
        startTime: ts(time),
        endTime: ts(time + 1),
      });
      const attempts = await fx.audit.listAttempts({ tenantId: fx.tenantId, eventId });
      const attemptId = attempts.attempts[0]?.id ?? "";
      return {
        GetEvent: fields(toJson(GetEventResponseSchema, got)),
        ListEvents: fields(
          toJson(ListEventsResponseSchema, {
            ...listed,
            events: listed.events.filter((e) => e.id === eventId),
          }),
        ),
        ListAttempts: fields(toJson(ListAttemptsResponseSchema, attempts)),
        "events document": Object.keys(
          (await db.collection("events").findOne({ _id: eventId as never })) ?? {},
        ),
        "event_routes document": Object.keys(
          (await auditDb.collection("event_routes").findOne({ _id: eventId as never })) ?? {},
        ),
        "deliveries document": Object.keys(
          (await auditDb.collection("deliveries").findOne({ _id: `${eventId}:${endpointId}` as never })) ??
            {},
        ),
        "attempts document": Object.keys(
          (await auditDb.collection("attempts").findOne({ _id: attemptId as never })) ?? {},
        ),
      };
    };
    const [a, b] = [await views(realId), await views(bulk.id)];
    for (const what of Object.keys(a) as Array<keyof typeof a>) {
      const [ra, rb] = [new Set(a[what]), new Set(b[what])];
      const onlyReal = [...ra].filter((f) => !rb.has(f));
      const onlyBulk = [...rb].filter((f) => !ra.has(f));
      if (onlyReal.length > 0 || onlyBulk.length > 0)
        differences.push(
          `${what} of ${realId} (real) and ${bulk.id} (bulk): only real ${JSON.stringify(onlyReal)}, only bulk ${JSON.stringify(onlyBulk)}`,
        );
    }
  }
  return differences;
}

/**
 * The fields a JSON answer sets, as paths (`deliveries[].state`), with the value of flags and enum
 * names (`deliveries[].state=DELIVERY_STATE_SUCCEEDED`): ids, times and bytes differ between any two events.
 */
function fields(json: unknown, path = ""): string[] {
  if (Array.isArray(json)) return json.flatMap((item) => fields(item, `${path}[]`));
  if (json !== null && typeof json === "object")
    return Object.entries(json).flatMap(([k, v]) => fields(v, path ? `${path}.${k}` : k));
  if (typeof json === "boolean" || (typeof json === "string" && /^[A-Z][A-Z_]+$/.test(json)))
    return [`${path}=${json}`];
  return [path];
}

/** Storage of the stack's databases: FerretDB's SQLite files when the run owns it, else dbStats. */
async function storageOf(
  mongo: MongoClient,
  databases: string[],
  events: number,
  dataDir: string | undefined,
): Promise<ReadsSizeResult["storage"]> {
  let bytes = 0;
  let how: string;
  if (dataDir) {
    for (const name of databases)
      for (const suffix of ["", "-wal"]) {
        try {
          bytes += statSync(`${dataDir}/${name}.sqlite${suffix}`).size;
        } catch {
          // no such file (no WAL yet)
        }
      }
    how = "SQLite files (with their WAL)";
  } else {
    for (const name of databases) {
      const stats = (await mongo.db(name).command({ dbStats: 1 })) as {
        totalSize?: number;
        storageSize?: number;
      };
      bytes += stats.totalSize ?? stats.storageSize ?? 0;
    }
    how = "dbStats totalSize";
  }
  return { bytes, bytesPerEvent: Math.round(bytes / Math.max(1, events)), how };
}
