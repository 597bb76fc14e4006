// Microbenchmark of what a document costs the embedded MongoDB wire server to insert, by the number of
// secondary indexes on its collection (docs/decisions/single-event-speed.md, "The full run of session
// 27"): `insertMany` of 50 attempt-shaped documents at a time, 10,000 per collection, rounds alternating
// 0-4 of the attempts' indexes; the server's CPU from /proc per document. Not part of `npm run bench`:
//   eval "$(HERALD_MONGO_PORT=27217 HERALD_DATA_DIR=/tmp/index-cost bash scripts/infra.sh)"
//   FERRETDB_PID=$(pgrep -f "herald-ferretdb.*27217") MONGO_URL=mongodb://127.0.0.1:27217/ \
//     npx node test/bench/micro/store-index-cost.ts
import { readFileSync } from "node:fs";
import { type IndexDescription, MongoClient } from "mongodb";

const url = process.env.MONGO_URL ?? "mongodb://127.0.0.1:27217/";
const pid = Number(process.env.FERRETDB_PID);
if (!pid) throw new Error("FERRETDB_PID names the server's process");
/** The server's user and system CPU so far, in µs (/proc counts ticks of 10 ms). */
const cpu = () => {
  const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};
const client = await MongoClient.connect(url);
const db = client.db("idxcost");
/** The attempts collection's secondary indexes (apps/audit/src/service.ts), in that order. */
const indexes: IndexDescription[] = [
  { key: { tenant_id: 1, attempt_time: -1, _id: -1 } },
  { key: { tenant_id: 1, event_id: 1, attempt_time: -1, _id: -1 } },
  { key: { tenant_id: 1, endpoint_id: 1, attempt_time: -1, _id: -1 } },
  { key: { attempt_time: 1 } },
];
let seq = 0;
const doc = () => ({
  _id: `att_${(seq++).toString().padStart(12, "0")}xxxxxxxxxxxxxx`,
  tenant_id: "tenant-0001",
  event_id: `evt_01k${seq.toString().padStart(23, "0")}`,
  endpoint_id: "ep_0123456789abcdef0123",
  attempt_number: 1,
  trigger: 1,
  success: true,
  response_status: 204,
  response_body: "",
  latency_ms: 3,
  error_class: 0,
  error_message: "",
  attempt_time: new Date(),
  url: "http://127.0.0.1:40000/hook",
  rollup_batch: "0b6c2f9e-3f1a-4a6e-9d7e-0e6c1c9b7a11",
});
const N = 10_000;
/** Server µs per document, by the number of indexes, one figure per round. */
const results = new Map<number, number[]>([0, 1, 2, 3, 4].map((n) => [n, []]));
for (let round = 0; round < 3; round++) {
  for (const n of [0, 2, 4, 1, 3]) {
    const name = `c${n}_${round}`;
    const c = db.collection<{ _id: string }>(name);
    await c.insertOne({ ...doc(), _id: "seed" });
    if (n > 0) await c.createIndexes(indexes.slice(0, n));
    const before = cpu();
    for (let i = 0; i < N; i += 50) await c.insertMany(Array.from({ length: 50 }, doc));
    const per = (cpu() - before) / N;
    results.get(n)?.push(Math.round(per * 10) / 10);
    await c.drop();
  }
}
for (const [n, figures] of results)
  console.log(`${n} secondary indexes: ${figures.join(", ")} µs a document`);
await client.close();
