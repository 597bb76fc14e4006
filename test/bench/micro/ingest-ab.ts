// A/B of two ingest settings on one stack, at the same time: a second ingest process runs beside the
// stack's own with INGEST_INSERT_GATHER (or any variable in AB_ENV, e.g. '{"HERALD_RPC_STOCK_PATHS":"true"}'
// for connect-es's own RPC pipeline) changed, and a fixed rate of
// one-event Connect JSON calls goes to each in turn, round after round, so a machine whose load
// changes weighs on both alike. Per round: the CPU each process spent (/proc) per event published, and
// the calls' p50/p99. Not part of `npm run bench`; run it with RabbitMQ and MONGO_URL set (scripts/infra.sh):
//   npx nx run-many -t build && node test/bench/micro/ingest-ab.ts
// Results: docs/decisions/single-event-speed.md.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolveTsSiblings } from "../ts-siblings.mjs";

resolveTsSiblings();

const { Pool } = await import("undici");
const { REPO_ROOT, SERVICES, freePort, startStack } = await import("../../e2e/support/stack.js");
const { createEndpoint, createTenant } = await import("../../e2e/support/fixtures.js");
const { startReceiver } = await import("../../e2e/support/receiver.js");

const RATE = Number(process.env.AB_RATE ?? 800);
const ROUND_MS = Number(process.env.AB_ROUND_MS ?? 5_000);
const ROUNDS = Number(process.env.AB_ROUNDS ?? 4);
const B_ENV: Record<string, string> = JSON.parse(process.env.AB_ENV ?? '{"INGEST_INSERT_GATHER":"0ms"}');

function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

const stack = await startStack({ AUDIT_MONGO_DB: "ab_audit" });
const receiver = await startReceiver();
receiver.reply = () => {
  receiver.requests.length = 0;
  return { status: 204 };
};
const bPort = await freePort();
const b = spawn(process.execPath, [`${REPO_ROOT}apps/ingest/dist/main.js`], {
  env: { ...process.env, ...stack.env, ...B_ENV, PORT: String(bPort) },
  stdio: "ignore",
});
try {
  const tenant = await createTenant(stack, "ab", { rateLimitPerSecond: 1_000_000 });
  await createEndpoint(tenant, receiver.url);
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${bPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // FerretDB's pid, to count its CPU too: HERALD_FERRETDB_PID_FILE=<data dir>/ferretdb.pid.
  const pidFile = process.env.HERALD_FERRETDB_PID_FILE;
  const ferret = pidFile ? Number(readFileSync(pidFile, "utf8").trim()) : 0;
  const payload = Buffer.from(
    JSON.stringify({ order: "ord_1234567890", total: 24.1, note: "x".repeat(220) }),
  );
  const body = JSON.stringify({
    tenantId: tenant.id,
    event: { eventType: "ab.event", payload: payload.toString("base64") },
  });
  const arms = [
    { name: "A (as configured)", url: stack.url("ingest"), pid: () => stack.pids().ingest ?? 0 },
    { name: `B ${JSON.stringify(B_ENV)}`, url: `http://127.0.0.1:${bPort}`, pid: () => b.pid ?? 0 },
  ];
  const pools = arms.map((arm) => new Pool(arm.url, { connections: 64 }));
  const round = async (i: number) => {
    const pool = pools[i] as InstanceType<typeof Pool>;
    const latencies: number[] = [];
    const total = Math.round((RATE * ROUND_MS) / 1000);
    const started = performance.now();
    const calls: Promise<void>[] = [];
    for (let n = 0; n < total; n++) {
      const wait = started + (n * 1000) / RATE - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const t = performance.now();
      calls.push(
        pool
          .request({
            method: "POST",
            path: "/herald.v1.IngestService/PublishEvent",
            headers: { "content-type": "application/json", authorization: `Bearer ${tenant.publishKey}` },
            body,
          })
          .then(async (res) => {
            await res.body.text();
            if (res.statusCode === 200) latencies.push(performance.now() - t);
          }),
      );
    }
    await Promise.all(calls);
    // What the round set off downstream finishes too.
    await new Promise((r) => setTimeout(r, 1_500));
    latencies.sort((x, y) => x - y);
    return {
      events: latencies.length,
      p50: latencies[Math.floor(latencies.length / 2)] ?? 0,
      p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    };
  };
  // Warm both up (past V8's optimising), then measure.
  for (const i of [0, 1]) await round(i);
  const results = arms.map(() => ({ ingest: [] as number[], all: [] as number[], p99: [] as number[] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const pids = {
        ingest: arms[i]?.pid() ?? 0,
        ...Object.fromEntries(SERVICES.filter((s) => s !== "ingest").map((s) => [s, stack.pids()[s] ?? 0])),
        ferretdb: ferret,
      };
      const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
      const { events, p50, p99 } = await round(i);
      const spent = Object.fromEntries(
        Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid) - (before[k] ?? 0)]),
      );
      const perEvent = (ms: number) => Math.round((ms * 1000) / Math.max(1, events));
      const all = Object.values(spent).reduce((a, c) => a + c, 0);
      results[i]?.ingest.push(perEvent(spent.ingest ?? 0));
      results[i]?.all.push(perEvent(all));
      results[i]?.p99.push(Math.round(p99));
      console.log(
        `round ${r} ${arms[i]?.name}: ${events} events; µs/event ${Object.entries(spent)
          .map(([k, v]) => `${k} ${perEvent(v)}`)
          .join(", ")}, all ${perEvent(all)}; call p50 ${Math.round(p50)} ms p99 ${Math.round(p99)} ms`,
      );
    }
  }
  const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
  for (const [i, arm] of arms.entries()) {
    const r = results[i];
    if (r)
      console.log(
        `${arm.name}: median µs/event ingest ${median(r.ingest)}, all processes ${median(r.all)}; call p99 ${median(r.p99)} ms`,
      );
  }
  for (const pool of pools) await pool.close();
} finally {
  b.kill();
  await stack.stop();
  await receiver.close();
}
