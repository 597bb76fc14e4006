import { writeFileSync } from "node:fs";
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { DeliveryState, IngestService } from "@herald/contracts";
import { topologyNames } from "@herald/platform";
import { amqpConnectionOptions } from "@herald/platform/testing";
import { MongoClient } from "mongodb";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcClient } from "../e2e/support/clients.js";
import { createEndpoint, createTenant, eventually, type TestTenant } from "../e2e/support/fixtures.js";
import { SERVICES, type ServiceName, type Stack, startStack } from "../e2e/support/stack.js";
import { succeededDeliveries } from "./support/audit-log.js";
import {
  canRestartRabbitMq,
  type PrivateMongo,
  sleep,
  startPrivateMongo,
  startRabbitMq,
  stopRabbitMq,
} from "./support/infra.js";
import { ChaosReceiver, LoadPublisher } from "./support/load.js";

// Under a steady publisher, each fault in turn: kill -9 of every service, a RabbitMQ restart, a MongoDB
// restart and a receiver that goes away for a while. Herald promises that every acknowledged event
// reaches every matching endpoint at least once (same webhook-id on every copy) and is recorded in
// audit; this checks it after every fault and measures how fast deliveries resume (printed as a table).
//
// MongoDB is a FerretDB of this file only (own port and data), killed and restarted at will. RabbitMQ is
// the machine's, shared: it is restarted with rabbitmqctl stop_app/start_app (the node and its data
// stay), always started again in afterAll, and skipped without a local rabbitmqctl.
// Knobs: HERALD_CHAOS_RATE (events/s), HERALD_CHAOS_RABBITMQ=false (skip the broker restart),
// HERALD_CHAOS_VERBOSE=true (progress), HERALD_CHAOS_LOGS=<dir> (service logs on failure),
// HERALD_CHAOS_KEEP=true (keep FerretDB's data and log).

// Events per second over both tenants (each event is delivered to two endpoints). Kept modest: on
// FerretDB 1.24 (SQLite) every query by _id scans the whole collection (the _id index is never used,
// and filters on more than _id are evaluated row by row), so each write gets slower as the run stores
// more. Much faster, and audit (several such writes per delivery) cannot catch up after a fault within
// the suite's time. With MongoDB, HERALD_CHAOS_RATE can go much higher.
const RATE_PER_SECOND = Number(process.env.HERALD_CHAOS_RATE ?? 6);
/** A fault is over when an event first published after it is delivered, at most this long after it. */
const MAX_RECOVERY_MS = 30_000;
/** Every event acknowledged so far must be delivered this long after the fault ended. */
const MAX_DRAIN_MS = 45_000;

let stack: Stack;
let mongo: PrivateMongo;
let db: MongoClient;
let load: LoadPublisher;
let rabbitMqRestartable = false;
let rabbitMqStopped = false;
const tenants: TestTenant[] = [];
/** Receivers by tenant id: two endpoints each, both taking every event type. */
const receivers = new Map<string, ChaosReceiver[]>();
const endpointIds = new Map<string, string[]>();

interface FaultResult {
  fault: string;
  start: number;
  downMs: number;
  recoveryMs: number;
  drainMs: number;
  auditRecoveryMs?: number;
}
const results: FaultResult[] = [];

const allReceivers = () => [...receivers.values()].flat();

beforeAll(async () => {
  mongo = await startPrivateMongo();
  stack = await startStack({
    MONGO_URL: mongo.url,
    // Seconds-scale retries, so a receiver that was down for a while is retried soon after it is back.
    RETRY_TIERS: "1s,2s,5s",
    RETRY_SCHEDULE: "1s,2s,2s,5s,5s,5s,5s,5s",
    // A receiver down for seconds opens its circuit; probe again after 2 s rather than 30 s, and
    // after 4 s at most rather than 10 min however many probes failed.
    CIRCUIT_COOLDOWN: "2s",
    CIRCUIT_MAX_COOLDOWN: "4s",
  });
  db = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 20_000 });
  rabbitMqRestartable = await canRestartRabbitMq(stack.env.AMQP_URL as string);
  for (const id of ["chaos-a", "chaos-b"]) {
    const tenant = await createTenant(stack, id);
    tenants.push(tenant);
    const pair = [new ChaosReceiver(`${id}/1`), new ChaosReceiver(`${id}/2`)];
    const ids: string[] = [];
    for (const receiver of pair) {
      await receiver.up();
      ids.push((await createEndpoint(tenant, receiver.url)).id);
    }
    receivers.set(id, pair);
    endpointIds.set(id, ids);
  }
  load = new LoadPublisher({
    tenants: tenants.map((t) => ({
      tenantId: t.id,
      ingest: grpcClient(IngestService, stack.url("ingest"), t.publishKey),
    })),
    ratePerSecond: RATE_PER_SECOND,
    maxInFlight: 100,
    // Longer than FerretDB's 10 s wait for its SQLite write lock, so a slow call is not retried while
    // it is still being served.
    callTimeoutMs: 15_000,
    retryPauseMs: 250,
    maxRetryPauseMs: 4_000,
    giveUpAfterMs: 90_000,
  });
  load.start();
  if (process.env.HERALD_CHAOS_VERBOSE === "true") {
    const timer = setInterval(() => {
      const delivered = allReceivers().map((r) => r.firstSeen.size);
      console.log(
        `chaos: ${new Date().toISOString()} acked ${load.acked().length} in flight ${load.inFlight} delivered ${delivered} errors ${JSON.stringify(Object.fromEntries(load.errors))}`,
      );
    }, 2_000);
    timer.unref();
  }
  // Steady state before the first fault.
  await sleep(3_000);
}, 120_000);

afterAll(async () => {
  await load?.stop();
  // Printed whatever failed: the numbers tell where things went wrong.
  if (results.length > 0) report(load.acked().length);
  // Never leave the shared broker stopped, whatever failed.
  if (rabbitMqStopped) await startRabbitMq();
  await Promise.all(allReceivers().map((r) => r.down()));
  await db?.close();
  await stack?.stop();
  await mongo?.dispose();
}, 120_000);

/** Which receivers are missing which acknowledged events. */
function undelivered(): Array<{ receiver: string; eventId: string }> {
  const missing: Array<{ receiver: string; eventId: string }> = [];
  for (const [tenantId, pair] of receivers) {
    for (const event of load.acked(tenantId)) {
      for (const receiver of pair) {
        if (!receiver.firstSeen.has(event.eventId as string))
          missing.push({ receiver: receiver.name, eventId: event.eventId as string });
      }
    }
  }
  return missing;
}

/** Waits until every event acknowledged by now reached every endpoint of its tenant. */
async function waitDrained(timeoutMs: number): Promise<void> {
  const acked = new Set(load.acked().map((e) => e.eventId));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = undelivered().filter((m) => acked.has(m.eventId));
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${missing.length} deliveries of acknowledged events missing after ${timeoutMs} ms:\n` +
          (await diagnose(missing.slice(0, 5))),
      );
    }
    await sleep(250);
  }
}

/** What Herald knows about missing deliveries, to tell where they were lost. */
async function diagnose(missing: Array<{ receiver: string; eventId: string }>): Promise<string> {
  const database = db.db(stack.env.MONGO_DB);
  const lines = [];
  for (const m of missing) {
    const [event, deliveries] = await Promise.all([
      database.collection("events").findOne({ _id: m.eventId as never }, { projection: { payload: 0 } }),
      database.collection("deliveries").find({ event_id: m.eventId }).toArray(),
    ]);
    lines.push(`${m.receiver} ${m.eventId}: event ${JSON.stringify(event)}; ${JSON.stringify(deliveries)}`);
  }
  return lines.join("\n");
}

/**
 * First arrival, at `where` (default: any receiver), of an event whose first publish attempt started at
 * or after `since`: the pipeline works end to end again.
 */
function firstDeliveryAfter(since: number, where: ChaosReceiver[] = allReceivers()): number | undefined {
  let first: number | undefined;
  for (const receiver of where) {
    for (const arrival of receiver.arrivals) {
      if (arrival.at < since) continue;
      const event = load.byId(arrival.webhookId);
      if (!event || event.firstAttemptAt < since) continue;
      if (first === undefined || arrival.at < first) first = arrival.at;
    }
  }
  return first;
}

/**
 * When audit recorded both deliveries of the first event published at or after `since` as SUCCEEDED
 * (undefined until it did). Asked through AuditService.GetEvent: an indexed lookup, cheap enough to poll
 * while the MongoDB server is busy.
 */
async function auditedAfter(since: number): Promise<number | undefined> {
  const event = load.events.find((e) => e.firstAttemptAt >= since && e.eventId);
  const tenant = tenants.find((t) => t.id === event?.tenantId);
  if (!event || !tenant) return undefined;
  const res = await tenant.clients.audit.getEvent({ tenantId: tenant.id, eventId: event.eventId });
  const done = res.deliveries.filter((d) => d.state === DeliveryState.SUCCEEDED && d.updateTime);
  if (done.length < 2) return undefined;
  return Math.max(...done.map((d) => timestampMs(d.updateTime as Timestamp)));
}

/** Like `eventually`, but every 500 ms: GetEvent is not free on FerretDB, which is busy enough. */
async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(500);
  }
  throw new Error(`${what} not reached in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ""}`);
}

async function allReady(): Promise<boolean | undefined> {
  const answers = await Promise.all(SERVICES.map((s) => fetch(`${stack.url(s)}/readyz`).then((r) => r.ok)));
  return answers.every(Boolean) ? true : undefined;
}

/**
 * Runs one fault under load: inject, stay down `downMs`, restore, then measure recovery and wait until
 * every acknowledged event has been delivered.
 */
async function underFault(
  fault: string,
  steps: { inject(): Promise<void>; restore(): Promise<void>; downMs: number },
  options: { recoveredAt?: ChaosReceiver[]; audit?: boolean } = {},
): Promise<FaultResult> {
  const start = Date.now();
  try {
    return await measureFault(fault, steps, options, start);
  } catch (err) {
    // The services' own account of what went wrong, for the failure message.
    const tails = SERVICES.map((s) => `--- ${s}\n${stack.logs(s).split("\n").slice(-15).join("\n")}`);
    console.log(`chaos: ${fault} failed; load in flight ${load.inFlight}\n${tails.join("\n")}`);
    if (process.env.HERALD_CHAOS_LOGS) {
      for (const s of SERVICES) writeFileSync(`${process.env.HERALD_CHAOS_LOGS}/${s}.log`, stack.logs(s));
    }
    throw err;
  }
}

async function measureFault(
  fault: string,
  steps: { inject(): Promise<void>; restore(): Promise<void>; downMs: number },
  options: { recoveredAt?: ChaosReceiver[]; audit?: boolean },
  start: number,
): Promise<FaultResult> {
  const phase = (what: string) => {
    if (process.env.HERALD_CHAOS_VERBOSE === "true")
      console.log(`chaos: ${fault} +${Date.now() - start} ms ${what}`);
  };
  await steps.inject();
  // Measured from here: the fault is in effect (process gone, broker stopped, server closed).
  const faultAt = Date.now();
  phase("injected");
  await sleep(steps.downMs);
  const downMs = Date.now() - faultAt;
  await steps.restore();
  phase("restored");
  const recoveredAt = await eventually(
    async () => firstDeliveryAfter(faultAt, options.recoveredAt),
    MAX_RECOVERY_MS,
    `first delivery after ${fault}`,
  );
  const auditAt = options.audit
    ? await poll(() => auditedAfter(faultAt), MAX_RECOVERY_MS, `audit record after ${fault}`)
    : undefined;
  phase("delivering again");
  await eventually(allReady, 30_000, `all four services ready after ${fault}`);
  phase("all ready");
  await waitDrained(MAX_DRAIN_MS);
  phase("all delivered");
  const result = {
    fault,
    start,
    downMs,
    recoveryMs: recoveredAt - faultAt,
    drainMs: Date.now() - faultAt,
    ...(auditAt ? { auditRecoveryMs: auditAt - faultAt } : {}),
  };
  results.push(result);
  expect(result.recoveryMs).toBeLessThan(MAX_RECOVERY_MS);
  // Let the load run undisturbed a moment before the next fault.
  await sleep(1_000);
  return result;
}

function killAndRestart(service: ServiceName) {
  return {
    downMs: 2_000,
    inject: async () => {
      await stack.kill(service, "SIGKILL");
    },
    restore: () => stack.restart(service),
  };
}

// The MongoDB and RabbitMQ restarts come first, while the database is small: FerretDB slows down as it
// fills (see RATE_PER_SECOND), and a restart makes every service catch up at once.
describe("chaos under steady load", () => {
  it("loses nothing when MongoDB is killed with SIGKILL and restarted", async () => {
    const result = await underFault(
      "MongoDB restart",
      { downMs: 3_000, inject: () => mongo.kill(), restore: () => mongo.start() },
      { audit: true },
    );
    expect(result.auditRecoveryMs).toBeLessThan(MAX_RECOVERY_MS);
  }, 120_000);

  it("loses nothing when RabbitMQ restarts (stop_app / start_app)", async (ctx) => {
    if (!rabbitMqRestartable) ctx.skip();
    await underFault("RabbitMQ restart", {
      downMs: 3_000,
      inject: async () => {
        rabbitMqStopped = true;
        await stopRabbitMq();
      },
      restore: async () => {
        await startRabbitMq();
        rabbitMqStopped = false;
      },
    });
  }, 120_000);

  it.each(["ingest", "routing", "delivery"] as const)(
    "loses nothing when %s is killed with SIGKILL and restarted",
    async (service) => {
      await underFault(`kill -9 ${service}`, killAndRestart(service));
    },
    90_000,
  );

  it("loses nothing when audit is killed with SIGKILL and restarted, and catches up", async () => {
    const result = await underFault("kill -9 audit", killAndRestart("audit"), { audit: true });
    expect(result.auditRecoveryMs).toBeLessThan(MAX_RECOVERY_MS);
  }, 90_000);

  it("delivers what a receiver missed while it was down, once it is back", async () => {
    const receiver = receivers.get("chaos-a")?.[0] as ChaosReceiver;
    await underFault(
      "receiver down",
      { downMs: 6_000, inject: () => receiver.down(), restore: () => receiver.up() },
      { recoveredAt: [receiver] },
    );
  }, 90_000);

  it("has delivered and audited every acknowledged event, duplicates only with the same webhook-id", async () => {
    await load.stop();
    await waitDrained(MAX_DRAIN_MS);

    const events = load.events;
    const acked = load.acked();
    expect(events.filter((e) => e.abandoned)).toEqual([]);
    expect(acked.length).toBe(events.length);
    expect(new Set(acked.map((e) => e.eventId)).size).toBe(acked.length);
    for (const [tenantId, pair] of receivers) {
      const ids = new Set(load.acked(tenantId).map((e) => e.eventId as string));
      for (const receiver of pair) {
        // Distinct webhook-ids received == events acknowledged: none lost, none invented.
        expect(new Set(receiver.firstSeen.keys())).toEqual(ids);
        expect(receiver.idMismatches).toEqual([]);
        expect(receiver.arrivals.every((a) => a.key === load.byId(a.webhookId)?.key)).toBe(true);
      }
    }

    // Audit: one SUCCEEDED delivery per event and endpoint.
    const audited = db.db(stack.env.AUDIT_MONGO_DB ?? stack.env.MONGO_DB);
    const expected = acked.length * 2;
    const deadline = Date.now() + MAX_DRAIN_MS;
    let recorded = await succeededDeliveries(audited);
    while (recorded.size < expected && Date.now() < deadline) {
      await sleep(1_000);
      recorded = await succeededDeliveries(audited);
    }
    expect(recorded.size).toBeGreaterThanOrEqual(expected);
    const unaudited = acked.flatMap((e) =>
      (endpointIds.get(e.tenantId) ?? [])
        .map((endpointId) => `${e.eventId}/${endpointId}`)
        .filter((pair) => !recorded.has(pair)),
    );
    expect(unaudited).toEqual([]);
    // And through the API, for a sample.
    for (const event of acked.filter((_, i) => i % Math.ceil(acked.length / 5) === 0)) {
      const tenant = tenants.find((t) => t.id === event.tenantId) as TestTenant;
      const res = await tenant.clients.audit.getEvent({ tenantId: tenant.id, eventId: event.eventId });
      expect(res.deliveries.map((d) => d.state)).toEqual([DeliveryState.SUCCEEDED, DeliveryState.SUCCEEDED]);
    }

    // Nothing given up on: no task dead-lettered, no message parked after too many failed deliveries.
    const names = topologyNames(stack.env.AMQP_NAMESPACE);
    const rabbit = new Connection(amqpConnectionOptions(stack.env.AMQP_URL as string));
    try {
      for (const queue of [names.queues.parked, names.queues.deliveryDead]) {
        const { messageCount } = await rabbit.queueDeclare({ queue, passive: true });
        expect({ queue, messageCount }).toEqual({ queue, messageCount: 0 });
      }
    } finally {
      await rabbit.close();
    }
  }, 120_000);
});

/** Prints recovery times and duplicates per fault. A duplicate counts in the window it arrived in. */
function report(ackedCount: number): void {
  const windows = results.map((r, i) => ({ ...r, end: results[i + 1]?.start ?? Number.POSITIVE_INFINITY }));
  const duplicates = new Map<string, number>();
  const copiesSeen = new Map<string, number>();
  const arrivals = allReceivers()
    .flatMap((r) => r.arrivals.map((a) => ({ ...a, receiver: r.name })))
    .sort((a, b) => a.at - b.at);
  for (const a of arrivals) {
    const key = `${a.receiver}/${a.webhookId}`;
    const n = (copiesSeen.get(key) ?? 0) + 1;
    copiesSeen.set(key, n);
    if (n < 2) continue;
    const window = windows.find((w) => a.at >= w.start && a.at < w.end)?.fault ?? "before faults";
    duplicates.set(window, (duplicates.get(window) ?? 0) + 1);
  }
  console.log(
    `chaos: ${ackedCount} events acknowledged at ~${RATE_PER_SECOND}/s, ${load.skippedTicks} ticks skipped, ` +
      `failed publish calls retried: ${JSON.stringify(Object.fromEntries(load.errors))}`,
  );
  console.table(
    windows.map((w) => ({
      fault: w.fault,
      "down ms": w.downMs,
      "recovery ms": w.recoveryMs,
      "audit recovery ms": w.auditRecoveryMs ?? "",
      "all delivered ms": w.drainMs,
      duplicates: duplicates.get(w.fault) ?? 0,
    })),
  );
  const total = [...duplicates.values()].reduce((a, b) => a + b, 0);
  console.log(`chaos: ${total} duplicate deliveries in all (same webhook-id each)`);
}
