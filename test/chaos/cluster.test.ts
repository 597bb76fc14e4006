import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { IngestService } from "@herald/contracts";
import { topologyNames } from "@herald/platform";
import { amqpConnectionOptions } from "@herald/platform/testing";
import { MongoClient } from "mongodb";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcClient } from "../e2e/support/clients.js";
import { createEndpoint, createTenant, eventually, type TestTenant } from "../e2e/support/fixtures.js";
import { SERVICES, type ServiceName, type Stack, startStack } from "../e2e/support/stack.js";
import { succeededDeliveries } from "./support/audit-log.js";
import { rabbitmqServerInstalled, startCluster, type TestCluster } from "./support/cluster.js";
import { sleep } from "./support/infra.js";
import { ChaosReceiver, LoadPublisher } from "./support/load.js";

// Herald as it runs beyond one machine: two copies of every service at once, sharing one namespace and
// database, on a 3-node RabbitMQ cluster (scripts/rabbitmq-cluster.sh, started and stopped by this file).
// Under a steady publisher that spreads its calls over both ingest copies: kill -9 of one copy of each
// service in turn, then one RabbitMQ node stopped, and another after the first is back. After each,
// every acknowledged event must reach its endpoint (same webhook-id on every copy), counted event by
// event, and be recorded by audit; the time until deliveries flow again is printed per fault.
// Tenant rate limits and idempotency are checked across the two ingest copies.
// Knobs: HERALD_CLUSTER_RATE (events/s), HERALD_CHAOS_VERBOSE=true (progress).

const RATE_PER_SECOND = Number(process.env.HERALD_CLUSTER_RATE ?? 15);
/** A fault is over when an event first published after it is delivered, at most this long after it. */
const MAX_RECOVERY_MS = 30_000;
/** Every event acknowledged so far must be delivered this long after the fault ended. */
const MAX_DRAIN_MS = 45_000;
const installed = rabbitmqServerInstalled();
if (!installed)
  console.warn("cluster chaos skipped: rabbitmq-server is not installed (apt-get install rabbitmq-server)");

let cluster: TestCluster | undefined;
/** The two copies: each a whole stack of four services, the second on the first's namespace and database. */
const copies: Stack[] = [];
let db: MongoClient;
let load: LoadPublisher;
const tenants: TestTenant[] = [];
const receivers = new Map<string, ChaosReceiver>();
const endpointIds = new Map<string, string>();
const stoppedNodes = new Set<number>();

interface FaultResult {
  fault: string;
  start: number;
  downMs: number;
  recoveryMs: number;
  drainMs: number;
}
const results: FaultResult[] = [];

const log = (line: string) => {
  if (process.env.HERALD_CHAOS_VERBOSE === "true")
    console.log(`cluster: ${new Date().toISOString()} ${line}`);
};
const first = () => copies[0] as Stack;

beforeAll(async () => {
  if (!installed) return;
  cluster = await startCluster();
  console.log(`cluster: 3-node RabbitMQ cluster started in ${cluster.startSeconds.toFixed(1)} s`);
  const overrides = {
    AMQP_URL: cluster.url,
    RETRY_TIERS: "1s,2s,5s",
    RETRY_SCHEDULE: "1s,2s,2s,5s,5s,5s,5s,5s",
    CIRCUIT_COOLDOWN: "2s",
    CIRCUIT_MAX_COOLDOWN: "4s",
  };
  const started = Date.now();
  // Both copies at once, on one namespace and database.
  const id = randomBytes(4).toString("hex");
  const shared = { ...overrides, AMQP_NAMESPACE: `test-${id}`, MONGO_DB: `test_${id}` };
  const starts = await Promise.allSettled([startStack(shared), startStack(shared)]);
  for (const start of starts) if (start.status === "fulfilled") copies.push(start.value);
  for (const start of starts) if (start.status === "rejected") throw start.reason;
  console.log(
    `cluster: two copies of each service started in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  db = new MongoClient(first().env.MONGO_URL as string);
  for (const id of ["cluster-a", "cluster-b"]) {
    const tenant = await createTenant(first(), id);
    tenants.push(tenant);
    const receiver = new ChaosReceiver(id);
    await receiver.up();
    receivers.set(id, receiver);
    endpointIds.set(id, (await createEndpoint(tenant, receiver.url)).id);
  }
  load = new LoadPublisher({
    tenants: tenants.map((t) => ({
      tenantId: t.id,
      ingest: copies.map((copy) => grpcClient(IngestService, copy.url("ingest"), t.publishKey)),
    })),
    ratePerSecond: RATE_PER_SECOND,
    maxInFlight: 100,
    callTimeoutMs: 15_000,
    retryPauseMs: 250,
    maxRetryPauseMs: 2_000,
    giveUpAfterMs: 90_000,
  });
  load.start();
  if (process.env.HERALD_CHAOS_VERBOSE === "true") {
    setInterval(() => {
      const delivered = [...receivers.values()].map((r) => r.firstSeen.size);
      log(`acked ${load.acked().length} in flight ${load.inFlight} delivered ${delivered}`);
    }, 2_000).unref();
  }
  await sleep(2_000);
}, 400_000);

afterAll(async () => {
  try {
    await load?.stop();
    if (results.length > 0) report();
    await Promise.all([...receivers.values()].map((r) => r.down()));
    await db?.close();
    // The second copy first: each stack's stop deletes the namespace, which the other shares.
    for (const copy of [...copies].reverse()) await copy.stop().catch(() => undefined);
  } finally {
    // Whatever failed, the cluster's three nodes are stopped and their data removed.
    await cluster?.stop();
  }
}, 240_000);

/** Acknowledged events of each tenant its endpoint has not received yet. */
function undelivered(ids?: Set<string>): string[] {
  const missing: string[] = [];
  for (const [tenantId, receiver] of receivers) {
    for (const event of load.acked(tenantId)) {
      const id = event.eventId as string;
      if ((!ids || ids.has(id)) && !receiver.firstSeen.has(id)) missing.push(`${tenantId}/${id}`);
    }
  }
  return missing;
}

async function waitDrained(timeoutMs: number): Promise<void> {
  const acked = new Set(load.acked().map((e) => e.eventId as string));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = undelivered(acked);
    if (missing.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `${missing.length} acknowledged events undelivered after ${timeoutMs} ms: ${missing.slice(0, 5)}`,
      );
    await sleep(250);
  }
}

/** First arrival of an event whose first publish attempt started at or after `since`. */
function firstDeliveryAfter(since: number): number | undefined {
  let found: number | undefined;
  for (const receiver of receivers.values()) {
    for (const arrival of receiver.arrivals) {
      if (arrival.at < since || (found !== undefined && arrival.at >= found)) continue;
      const event = load.byId(arrival.webhookId);
      if (event && event.firstAttemptAt >= since) found = arrival.at;
    }
  }
  return found;
}

async function allReady(): Promise<boolean | undefined> {
  const urls = copies.flatMap((copy) => SERVICES.map((s) => `${copy.url(s)}/readyz`));
  const answers = await Promise.all(
    urls.map((url) =>
      fetch(url).then(
        (r) => r.ok,
        () => false,
      ),
    ),
  );
  return answers.every(Boolean) ? true : undefined;
}

/** Injects a fault, keeps it `downMs`, restores, then measures recovery and waits for every delivery. */
async function underFault(
  fault: string,
  steps: { inject(): Promise<void>; restore(): Promise<void>; downMs: number },
): Promise<FaultResult> {
  const start = Date.now();
  try {
    await steps.inject();
    const faultAt = Date.now();
    log(`${fault}: injected`);
    await sleep(steps.downMs);
    const downMs = Date.now() - faultAt;
    await steps.restore();
    log(`${fault}: restored after ${Date.now() - faultAt} ms`);
    const recoveredAt = await eventually(
      async () => firstDeliveryAfter(faultAt),
      MAX_RECOVERY_MS + downMs,
      `first delivery after ${fault}`,
    );
    await eventually(allReady, 30_000, `both copies of all four services ready after ${fault}`);
    await waitDrained(MAX_DRAIN_MS);
    const result = { fault, start, downMs, recoveryMs: recoveredAt - faultAt, drainMs: Date.now() - faultAt };
    results.push(result);
    log(`${fault}: delivering again after ${result.recoveryMs} ms, all delivered after ${result.drainMs} ms`);
    await sleep(1_000);
    return result;
  } catch (err) {
    const tails = copies.flatMap((copy, i) =>
      SERVICES.map((s) => `--- ${s} copy ${i + 1}\n${copy.logs(s).split("\n").slice(-10).join("\n")}`),
    );
    console.log(`cluster: ${fault} failed; in flight ${load.inFlight}\n${tails.join("\n")}`);
    throw err;
  }
}

describe.skipIf(!installed)("two copies of every service on a 3-node RabbitMQ cluster", () => {
  it("replicates every quorum queue of Herald's on all three nodes", async () => {
    const queues = await (cluster as TestCluster).queues(`${first().env.AMQP_NAMESPACE}.`);
    const quorum = queues.filter((q) => q.type === "quorum");
    expect(quorum.length).toBeGreaterThanOrEqual(4);
    for (const queue of quorum)
      expect({ queue: queue.name, members: queue.members.length }).toEqual({ queue: queue.name, members: 3 });
  });

  it("holds a tenant's rate limit across both ingest copies", async () => {
    const limit = 10;
    const tenant = await createTenant(first(), "cluster-limited", { rateLimitPerSecond: limit });
    const clients = copies.map((copy) => grpcClient(IngestService, copy.url("ingest"), tenant.publishKey));
    // Start just after a clock second begins, so the calls likely fall within one or two seconds.
    await sleep(1_000 - (Date.now() % 1_000) + 20);
    const calls = Array.from({ length: 4 * limit }, async (_, i) => {
      const startedAt = Date.now();
      try {
        await (clients[i % 2] as (typeof clients)[number]).publishEvent({
          tenantId: tenant.id,
          event: { eventType: "limited.tick", payload: new TextEncoder().encode("{}") },
        });
        return { copy: i % 2, ok: true, startedAt, endedAt: Date.now() };
      } catch (err) {
        expect(ConnectError.from(err).code).toBe(Code.ResourceExhausted);
        return { copy: i % 2, ok: false, startedAt, endedAt: Date.now() };
      }
    });
    const outcomes = await Promise.all(calls);
    const admitted = outcomes.filter((o) => o.ok);
    const seconds =
      Math.floor(Math.max(...outcomes.map((o) => o.endedAt)) / 1000) -
      Math.floor(Math.min(...outcomes.map((o) => o.startedAt)) / 1000) +
      1;
    console.log(
      `cluster: ${admitted.length} of ${outcomes.length} calls admitted over ${seconds} clock second(s), limit ${limit}/s`,
    );
    // Together no more than the limit per clock second the calls spanned: two copies each granting the
    // full limit would admit 20 calls a second, all 40 within two seconds.
    expect(admitted.length).toBeGreaterThan(0);
    expect(admitted.length).toBeLessThanOrEqual(limit * seconds);
    expect(admitted.length).toBeLessThan(outcomes.length);
  });

  it("gives one event id for one idempotency key, whichever ingest copy is asked", async () => {
    // A tenant without endpoints: its events are not part of the load's count.
    const tenant = await createTenant(first(), "cluster-once");
    const clients = copies.map((copy) => grpcClient(IngestService, copy.url("ingest"), tenant.publishKey));
    const publish = (i: number, key: string) =>
      (clients[i] as (typeof clients)[number]).publishEvent({
        tenantId: tenant.id,
        event: { eventType: "cluster.once", payload: new TextEncoder().encode("{}"), idempotencyKey: key },
      });
    const one = await publish(0, "cluster-once-1");
    expect((await publish(1, "cluster-once-1")).eventId).toBe(one.eventId);
    // At once on both copies: still one event.
    const [a, b] = await Promise.all([publish(0, "cluster-once-2"), publish(1, "cluster-once-2")]);
    expect(a.eventId).toBe(b.eventId);
    const events = db.db(first().env.MONGO_DB).collection("events");
    expect(await events.countDocuments({ tenant_id: tenant.id, event_type: "cluster.once" })).toBe(2);
  });

  // One copy of each service in turn; the other copy keeps serving, the killed one comes back.
  it.each([
    ["ingest", 0],
    ["routing", 1],
    ["delivery", 0],
    ["audit", 1],
  ] as Array<[ServiceName, number]>)(
    "loses nothing when one copy of %s is killed with SIGKILL",
    async (service, copy) => {
      const stack = copies[copy] as Stack;
      await underFault(`kill -9 ${service} (copy ${copy + 1} of 2)`, {
        downMs: 2_000,
        inject: async () => void (await stack.kill(service, "SIGKILL")),
        restore: () => stack.restart(service),
      });
    },
    120_000,
  );

  // Node 1 first: every service connected to it (the first of AMQP_URL's list), so all move at once.
  it.each([1, 2])(
    "loses nothing when RabbitMQ node %i stops and comes back",
    async (node) => {
      await underFault(`RabbitMQ node ${node} stopped`, {
        downMs: 3_000,
        inject: async () => {
          stoppedNodes.add(node);
          await (cluster as TestCluster).stopNode(node);
        },
        restore: async () => {
          await (cluster as TestCluster).startNode(node);
          stoppedNodes.delete(node);
        },
      });
    },
    180_000,
  );

  it("has delivered and audited every acknowledged event, duplicates only with the same webhook-id", async () => {
    await load.stop();
    await waitDrained(MAX_DRAIN_MS);
    const acked = load.acked();
    expect(load.events.filter((e) => e.abandoned)).toEqual([]);
    expect(acked.length).toBe(load.events.length);
    expect(new Set(acked.map((e) => e.eventId)).size).toBe(acked.length);
    for (const [tenantId, receiver] of receivers) {
      // Event by event: the webhook-ids received are exactly the events acknowledged.
      expect(new Set(receiver.firstSeen.keys())).toEqual(new Set(load.acked(tenantId).map((e) => e.eventId)));
      expect(receiver.idMismatches).toEqual([]);
      expect(receiver.arrivals.every((a) => a.key === load.byId(a.webhookId)?.key)).toBe(true);
    }

    // Audit: a SUCCEEDED delivery per acknowledged event.
    const audited = db.db(first().env.AUDIT_MONGO_DB ?? first().env.MONGO_DB);
    const recorded = async () => {
      const pairs = await succeededDeliveries(audited);
      const missing = acked.filter((e) => !pairs.has(`${e.eventId}/${endpointIds.get(e.tenantId)}`));
      return missing.length === 0 ? missing : undefined;
    };
    expect(await eventually(recorded, MAX_DRAIN_MS, "a SUCCEEDED delivery recorded per event")).toEqual([]);

    const names = topologyNames(first().env.AMQP_NAMESPACE);
    const rabbit = new Connection(amqpConnectionOptions(first().env.AMQP_URL as string));
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

/** Recovery per fault, and duplicates by the fault window they arrived in. */
function report(): void {
  const windows = results.map((r, i) => ({ ...r, end: results[i + 1]?.start ?? Number.POSITIVE_INFINITY }));
  const seen = new Map<string, number>();
  const duplicates = new Map<string, number>();
  const arrivals = [...receivers.values()].flatMap((r) => r.arrivals).sort((a, b) => a.at - b.at);
  for (const a of arrivals) {
    const n = (seen.get(a.webhookId) ?? 0) + 1;
    seen.set(a.webhookId, n);
    if (n < 2) continue;
    const window = windows.find((w) => a.at >= w.start && a.at < w.end)?.fault ?? "before faults";
    duplicates.set(window, (duplicates.get(window) ?? 0) + 1);
  }
  console.log(
    `cluster: ${load.acked().length} events acknowledged at ~${RATE_PER_SECOND}/s over two ingest copies; ` +
      `failed publish calls retried: ${JSON.stringify(Object.fromEntries(load.errors))}`,
  );
  console.table(
    windows.map((w) => ({
      fault: w.fault,
      "down ms": w.downMs,
      "recovery ms": w.recoveryMs,
      "all delivered ms": w.drainMs,
      duplicates: duplicates.get(w.fault) ?? 0,
    })),
  );
}
