// Microbenchmark of ingest's event writer (EventStore) with and without gathering: one-event inserts
// arrive at a steady rate, each settled as ingest settles a published event, on two stores side by
// side (INGEST_INSERT_GATHER's default against 0 ms), alternating round by round. Per arm: commands sent
// to MongoDB per event (the driver's command monitoring), this process's CPU per event (the writer and
// the driver), FerretDB's (when HERALD_FERRETDB_PID_FILE names its pid file) and the insert's p50/p99.
// Not part of `npm run bench`; run it on its own with MONGO_URL set (scripts/infra.sh):
//   npx nx run @herald/ingest:build && node test/bench/micro/event-store-gather.ts
// Results: docs/decisions/single-event-speed.md.
import { readFileSync } from "node:fs";
import { MongoClient } from "mongodb";

const { DEFAULT_GATHER_MS, EventStore } = await import("../../../apps/ingest/dist/event-store.js");

const RATE = Number(process.env.GATHER_RATE ?? 1_000);
/** The gathering window compared with none; default INGEST_INSERT_GATHER's. */
const GATHER_MS = Number(process.env.GATHER_MS ?? DEFAULT_GATHER_MS);
const ROUND_MS = Number(process.env.GATHER_ROUND_MS ?? 4_000);
const ROUNDS = Number(process.env.GATHER_ROUNDS ?? 6);
const pidFile = process.env.HERALD_FERRETDB_PID_FILE;
const ferret = pidFile ? Number(readFileSync(pidFile, "utf8").trim()) : 0;

function cpuMs(pid: number): number {
  if (!pid) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const client = new MongoClient(process.env.MONGO_URL ?? "mongodb://127.0.0.1:27017/", {
  monitorCommands: true,
});
await client.connect();
const db = client.db(`gather_micro_${process.pid}`);
let commands = 0;
client.on("commandStarted", (event) => {
  if (event.commandName === "insert" || event.commandName === "delete") commands++;
});
const arms = [
  { name: `gather ${GATHER_MS} ms`, store: new EventStore(db, { gatherMs: GATHER_MS }) },
  { name: "gather 0 ms", store: new EventStore(db, { gatherMs: 0 }) },
];
const payload = Buffer.from(JSON.stringify({ order: "ord_1234567890", total: 24.1, note: "x".repeat(220) }));
let seq = 0;

async function round(store: InstanceType<typeof EventStore>) {
  const total = Math.round((RATE * ROUND_MS) / 1000);
  const latencies: number[] = [];
  const started = performance.now();
  const inserts: Promise<void>[] = [];
  const { Binary } = await import("mongodb");
  for (let n = 0; n < total; n++) {
    const wait = started + (n * 1000) / RATE - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const id = `evt_${process.pid}_${String(seq++).padStart(8, "0")}`;
    const doc = {
      _id: id,
      tenant_id: "t",
      event_type: "bench.event",
      payload: new Binary(payload),
      channels: [],
      dedupe_key: id,
      create_time: new Date(),
      published: false,
    };
    const t = performance.now();
    inserts.push(
      store.insertOrGet(doc).then(async () => {
        latencies.push(performance.now() - t);
        await store.markPublished(doc);
      }),
    );
  }
  await Promise.all(inserts);
  await store.flush();
  latencies.sort((a, b) => a - b);
  return {
    events: total,
    p50: latencies[Math.floor(latencies.length / 2)] ?? 0,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

try {
  for (const arm of arms) await round(arm.store);
  const results = arms.map(() => ({
    commands: [] as number[],
    self: [] as number[],
    ferret: [] as number[],
    p99: [] as number[],
  }));
  for (let r = 0; r < ROUNDS; r++) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const arm = arms[i] as (typeof arms)[number];
      const commandsBefore = commands;
      const selfBefore = process.cpuUsage();
      const ferretBefore = cpuMs(ferret);
      const { events, p50, p99 } = await round(arm.store);
      const self = process.cpuUsage(selfBefore);
      const perEvent = (ms: number) => Math.round((ms * 1000) / events);
      const res = results[i];
      res?.commands.push((commands - commandsBefore) / events);
      res?.self.push(perEvent((self.user + self.system) / 1000));
      res?.ferret.push(perEvent(cpuMs(ferret) - ferretBefore));
      res?.p99.push(p99);
      console.log(
        `round ${r} ${arm.name}: ${((commands - commandsBefore) / events).toFixed(2)} commands/event, writer+driver ${perEvent((self.user + self.system) / 1000)} µs/event, FerretDB ${perEvent(cpuMs(ferret) - ferretBefore)} µs/event, insert p50 ${p50.toFixed(1)} ms p99 ${p99.toFixed(1)} ms`,
      );
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
  for (const [i, arm] of arms.entries()) {
    const r = results[i];
    if (!r) continue;
    console.log(
      `${arm.name}: median ${median(r.commands).toFixed(2)} commands/event, writer+driver ${median(r.self)} µs/event, FerretDB ${median(r.ferret)} µs/event, insert p99 ${median(r.p99).toFixed(1)} ms`,
    );
  }
} finally {
  await db.dropDatabase().catch(() => undefined);
  await client.close();
}
