// Microbenchmark of the retention purge's read: one read of up to 10,000 expired event ids, as the
// purge sent it before (`tenant_id: {$nin: [...]}` beside the time range: FerretDB cannot push the
// limit down, as `$nin` is not translated to SQL) and as it sends it now (the time range alone, ordered
// by time, the limit pushed down; tenants with their own retention are dropped in the app). The two
// alternate, read by read, on one collection of PURGE_EXPIRED expired and PURGE_FRESH fresh events.
// Per read: its time (median and max of PURGE_READS) and the explained plan (filterPushdown,
// limitPushdown, queryPlanner.Plan on FerretDB). Then a whole pass each way, reads and deletes (see
// below). Not part of `npm run bench`; run it with MONGO_URL set
// (scripts/infra.sh) after `npx nx run @herald/audit:build`:
//   npx node test/bench/micro/purge-read.ts
// Results: docs/decisions/tenant-purge-and-retention.md.
import { type Document, MongoClient } from "mongodb";

const { ensureIndexes } = await import("../../../libs/platform/dist/index.js");
const { eventIndexes } = await import("../../../libs/platform/dist/model/index.js");

const EXPIRED = Number(process.env.PURGE_EXPIRED ?? 80_000);
const FRESH = Number(process.env.PURGE_FRESH ?? 20_000);
const READS = Number(process.env.PURGE_READS ?? 5);
/** Tenants t0, t1, … (of ten, each a tenth of the events) keeping their data longer in the passes. */
const KEEPING = Number(process.env.PURGE_KEEPING ?? 1);
const keepers = Array.from({ length: KEEPING }, (_, i) => `t${i}`);
const LIMIT = 10_000;
const DAY = 86_400_000;

const client = new MongoClient(process.env.MONGO_URL ?? "mongodb://127.0.0.1:27017/", {
  socketTimeoutMS: 600_000,
  monitorCommands: true,
});
await client.connect();
const db = client.db(`purge_micro_${process.pid}`);
const events = db.collection<{ _id: string } & Record<string, unknown>>("events");
await ensureIndexes(db, eventIndexes);
const now = Date.now();
const cutoff = new Date(now - 30 * DAY);

async function insert(count: number, prefix: string, time: (i: number) => Date): Promise<void> {
  for (let start = 0; start < count; start += 1_000) {
    const docs = Array.from({ length: Math.min(1_000, count - start) }, (_, j) => {
      const i = start + j;
      const id = `evt_${prefix}_${String(i).padStart(7, "0")}`;
      return {
        _id: id,
        tenant_id: `t${i % 10}`,
        event_type: "bench.expired",
        payload: Buffer.alloc(256, 120),
        channels: [],
        dedupe_key: id,
        create_time: time(i),
        published: true,
      };
    });
    await events.insertMany(docs, { ordered: false });
  }
}
process.stderr.write(`inserting ${EXPIRED} expired and ${FRESH} fresh events\n`);
await insert(EXPIRED, "old", (i) => new Date(now - 40 * DAY + i));
await insert(FRESH, "new", (i) => new Date(now - DAY + i));

const reads = {
  "before: time range and tenant_id $nin []": {
    filter: { create_time: { $lt: cutoff }, tenant_id: { $nin: [] } },
    projection: { _id: 1 },
  },
  "time range alone, unordered": {
    filter: { create_time: { $lt: cutoff } },
    projection: { _id: 1, tenant_id: 1, create_time: 1 },
  },
  "after: time range, ordered by time": {
    filter: { create_time: { $lt: cutoff } },
    projection: { _id: 1, tenant_id: 1, create_time: 1 },
    sort: { create_time: 1 },
  },
} as const;

type Read = { filter: Document; projection: Document; sort?: Document };
const times: Record<string, number[]> = {};
for (let round = 0; round < READS; round++) {
  for (const [name, read] of Object.entries(reads) as [string, Read][]) {
    const started = performance.now();
    const cursor = events.find(read.filter, { projection: read.projection });
    if (read.sort) cursor.sort(read.sort);
    const docs = await cursor.limit(LIMIT).toArray();
    const ms = performance.now() - started;
    if (docs.length !== Math.min(LIMIT, EXPIRED)) throw new Error(`${name}: read ${docs.length} ids`);
    times[name] = [...(times[name] ?? []), ms];
  }
}
for (const [name, read] of Object.entries(reads) as [string, Read][]) {
  const explained = await db.command({
    explain: { find: "events", filter: read.filter, ...(read.sort ? { sort: read.sort } : {}), limit: LIMIT },
    verbosity: "queryPlanner",
  });
  const sorted = (times[name] ?? []).sort((a, b) => a - b);
  const plan = explained.queryPlanner?.Plan ?? explained.queryPlanner?.winningPlan;
  console.log(
    JSON.stringify({
      read: name,
      medianMs: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
      maxMs: Math.round(sorted.at(-1) ?? 0),
      filterPushdown: explained.filterPushdown,
      sortPushdown: explained.sortPushdown,
      limitPushdown: explained.limitPushdown,
      plan,
    }),
  );
}

// A whole pass over the same data, with PURGE_KEEPING tenants (a tenth of the documents each) keeping
// theirs longer: the
// `$nin` reads the purge sent before against purgeOlderThan, each on a fresh copy of the data. The
// time of reads (find and getMore) and deletes is the sum of the commands' durations the driver saw.
const { purgeOlderThan } = await import("../../../apps/audit/dist/purge-batches.js");
const commandMs = { read: 0, delete: 0 };
client.on("commandSucceeded", (event) => {
  if (event.commandName === "find" || event.commandName === "getMore") commandMs.read += event.duration;
  if (event.commandName === "delete") commandMs.delete += event.duration;
});
const passes = {
  "before: $nin reads": async () => {
    let deleted = 0;
    for (;;) {
      const ids = (
        await events
          .find({ create_time: { $lt: cutoff }, tenant_id: { $nin: keepers } }, { projection: { _id: 1 } })
          .limit(LIMIT)
          .toArray()
      ).map((doc) => doc._id);
      for (let start = 0; start < ids.length; start += 500) {
        deleted += (await events.deleteMany({ _id: { $in: ids.slice(start, start + 500) } })).deletedCount;
      }
      if (ids.length < LIMIT) return deleted;
    }
  },
  "after: purgeOlderThan": () =>
    purgeOlderThan(
      events,
      {
        timeField: "create_time",
        cutoff,
        keptFrom: new Map(keepers.map((t) => [t, new Date(now - 90 * DAY)])),
      },
      { batchSize: 500, pauseMs: 0 },
    ),
};
if (process.env.PURGE_PASSES !== "0") {
  for (const [name, pass] of Object.entries(passes)) {
    await events.drop();
    await ensureIndexes(db, eventIndexes);
    await insert(EXPIRED, "old", (i) => new Date(now - 40 * DAY + i));
    await insert(FRESH, "new", (i) => new Date(now - DAY + i));
    commandMs.read = 0;
    commandMs.delete = 0;
    const started = performance.now();
    const deleted = await pass();
    console.log(
      JSON.stringify({
        pass: name,
        keeping: KEEPING,
        deleted,
        passMs: Math.round(performance.now() - started),
        readMs: Math.round(commandMs.read),
        deleteMs: Math.round(commandMs.delete),
      }),
    );
  }
}
await db.dropDatabase();
await client.close();
