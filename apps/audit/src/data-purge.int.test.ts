import { createLogger } from "@herald/platform";
import type { TenantDocument } from "@herald/platform/model";
import { testEnv, testTenant } from "@herald/platform/testing";
import { type CommandStartedEvent, type Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DataPurge, type PurgeReason } from "./data-purge.js";

// Events and the delivery limits' state in MONGO_DB, audit's records in a database of their own, as
// `npm start` runs it: the purge must reach both.
const env = testEnv();
const auditDbName = `${env.MONGO_DB}_audit`;
let client: MongoClient;
let db: Db;
let auditDb: Db;
/** Ids named by each delete command, by collection. */
let deletes: Record<string, number[]>;

const DAY = 86_400_000;
const NOW = new Date("2026-06-01T00:00:00Z");
const ago = (ms: number) => new Date(NOW.getTime() - ms);

beforeAll(async () => {
  client = new MongoClient(env.MONGO_URL as string, { monitorCommands: true });
  await client.connect();
  db = client.db(env.MONGO_DB);
  auditDb = client.db(auditDbName);
  client.on("commandStarted", (event: CommandStartedEvent) => {
    if (event.commandName !== "delete") return;
    const ids = event.command.deletes?.[0]?.q?._id?.$in as unknown[] | undefined;
    const sizes = deletes[event.command.delete] ?? [];
    sizes.push(ids?.length ?? -1);
    deletes[event.command.delete] = sizes;
  });
});

beforeEach(async () => {
  for (const d of [db, auditDb]) {
    for (const c of await d.collections()) await c.deleteMany({});
  }
  deletes = {};
});

afterAll(async () => {
  await db?.dropDatabase();
  await auditDb?.dropDatabase();
  await client?.close();
});

function tenant(id: string, patch: Partial<TenantDocument> = {}): TenantDocument {
  return testTenant(id, { create_time: ago(400 * DAY), update_time: ago(400 * DAY), ...patch });
}

/** An event of `tenantId` created at `time`, with its route, delivery and attempt, all dated `time`. */
async function insertEventData(tenantId: string, id: string, time: Date): Promise<void> {
  await db.collection("events").insertOne({
    _id: id as never,
    tenant_id: tenantId,
    event_type: "a.b",
    payload: Buffer.from("{}"),
    channels: [],
    dedupe_key: id,
    create_time: time,
    published: true,
  });
  await auditDb.collection("event_routes").insertOne({
    _id: id as never,
    tenant_id: tenantId,
    endpoint_ids: ["ep"],
    route_time: time,
  });
  await auditDb
    .collection("deliveries")
    .insertOne({ _id: `${id}:ep` as never, tenant_id: tenantId, event_id: id, update_time: time });
  await auditDb
    .collection("attempts")
    .insertOne({ _id: `att_${id}` as never, tenant_id: tenantId, event_id: id, attempt_time: time });
}

async function idsIn(d: Db, name: string): Promise<string[]> {
  const docs = await d.collection<{ _id: string }>(name).find({}).sort({ _id: 1 }).toArray();
  return docs.map((doc) => doc._id);
}

function purge(batchSize: number, purged: Array<[string, PurgeReason, number]> = []): DataPurge {
  return new DataPurge({
    db,
    auditDb,
    batch: { batchSize, pauseMs: 1 },
    defaultRetentionDays: 30,
    tenantPurgeGraceMs: 60_000,
    logger: createLogger({ service: "test", level: "silent" }),
    onPurged: (collection, reason, count) => void purged.push([collection, reason, count]),
  });
}

describe("DataPurge.purgeDeletedTenants", () => {
  it("removes a deleted tenant's data from both databases in batches, and frees its id after the grace", async () => {
    const deleteTime = ago(DAY);
    await db
      .collection<TenantDocument>("tenants")
      .insertMany([
        tenant("gone", { delete_time: deleteTime, deleted_endpoint_ids: ["ep_gone"] }),
        tenant("kept"),
      ]);
    for (let i = 0; i < 7; i++) await insertEventData("gone", `evt_gone_${i}`, ago(i * 1000));
    await insertEventData("kept", "evt_kept", ago(1000));
    await db.collection("rate_limits").insertMany([
      { _id: "ep_gone:0" as never, endpoint_id: "ep_gone", seq: 0 },
      { _id: "ep_kept:0" as never, endpoint_id: "ep_kept", seq: 0 },
    ]);
    await db.collection("concurrency_slots").insertOne({ _id: "ep_gone:0" as never, endpoint_id: "ep_gone" });

    // Within the grace period: the data goes, the tenant document stays so the id is not free yet.
    const purged: Array<[string, PurgeReason, number]> = [];
    expect(await purge(3, purged).purgeDeletedTenants(new Date(deleteTime.getTime() + 1_000))).toEqual([]);
    for (const [d, name] of [
      [db, "events"],
      [auditDb, "event_routes"],
      [auditDb, "deliveries"],
      [auditDb, "attempts"],
    ] as const) {
      expect(
        (await idsIn(d, name)).every((id) => id.includes("kept")),
        name,
      ).toBe(true);
      expect(await idsIn(d, name), name).toHaveLength(1);
    }
    expect(await idsIn(db, "rate_limits")).toEqual(["ep_kept:0"]);
    expect(await idsIn(db, "concurrency_slots")).toEqual([]);
    expect(await idsIn(db, "tenants")).toEqual(["gone", "kept"]);
    // Counted batch by batch, so a long purge shows its progress.
    expect(purged.filter(([c, r]) => c === "events" && r === "tenant_deleted").map(([, , n]) => n)).toEqual([
      3, 3, 1,
    ]);
    // Seven events, three at a time: three deletes, none larger than a batch.
    expect(deletes.events).toEqual([3, 3, 1]);

    // An event stored by a publish that raced the deletion is caught by the pass after the grace,
    // which then frees the id.
    await insertEventData("gone", "evt_gone_late", new Date(deleteTime.getTime() + 2_000));
    const graceOver = new Date(deleteTime.getTime() + 60_000);
    expect(await purge(3).purgeDeletedTenants(graceOver)).toEqual(["gone"]);
    expect(await idsIn(db, "events")).toEqual(["evt_kept"]);
    expect(await idsIn(auditDb, "attempts")).toEqual(["att_evt_kept"]);
    // What is left is a tombstone, which CreateTenant replaces; it is not purged again.
    const tombstone = await db.collection<TenantDocument>("tenants").findOne({ _id: "gone" });
    expect(tombstone).toMatchObject({
      purge_time: graceOver,
      delete_time: deleteTime,
      name: "",
      metadata: {},
    });
    expect(tombstone?.deleted_endpoint_ids).toBeUndefined();
    expect(await purge(3).purgeDeletedTenants(new Date(graceOver.getTime() + 60_000))).toEqual([]);
  });
});

describe("DataPurge.purgeExpired", () => {
  it("removes data older than its tenant's retention (default 30 days) in batches and keeps the rest", async () => {
    await db
      .collection<TenantDocument>("tenants")
      .insertMany([
        tenant("plain"),
        tenant("short", { settings: { ...tenant("x").settings, retention_days: 1 } }),
        tenant("long", { settings: { ...tenant("x").settings, retention_days: 90 } }),
      ]);
    const expired = ["evt_plain_40d", "evt_plain_31d", "evt_short_2d", "evt_long_100d", "evt_orphan_40d"];
    const fresh = ["evt_plain_10d", "evt_short_1h", "evt_long_40d", "evt_orphan_1d"];
    await insertEventData("plain", "evt_plain_40d", ago(40 * DAY));
    await insertEventData("plain", "evt_plain_31d", ago(31 * DAY));
    await insertEventData("plain", "evt_plain_10d", ago(10 * DAY));
    await insertEventData("short", "evt_short_2d", ago(2 * DAY));
    await insertEventData("short", "evt_short_1h", ago(3_600_000));
    await insertEventData("long", "evt_long_100d", ago(100 * DAY));
    await insertEventData("long", "evt_long_40d", ago(40 * DAY));
    // A tenant that no longer exists: the platform default applies.
    await insertEventData("orphan", "evt_orphan_40d", ago(40 * DAY));
    await insertEventData("orphan", "evt_orphan_1d", ago(DAY));

    const removed = await purge(2).purgeExpired(NOW);
    expect(removed).toBe(expired.length * 4);
    expect(await idsIn(db, "events")).toEqual([...fresh].sort());
    expect(await idsIn(auditDb, "event_routes")).toEqual([...fresh].sort());
    expect(await idsIn(auditDb, "deliveries")).toEqual(fresh.map((id) => `${id}:ep`).sort());
    expect(await idsIn(auditDb, "attempts")).toEqual(fresh.map((id) => `att_${id}`).sort());
    // Bounded batches: no delete named more than two documents. The four events older than the
    // default cutoff (the long-retention tenant's 100-day one among them) took two, the short one's one.
    for (const [name, sizes] of Object.entries(deletes)) {
      expect(Math.max(...sizes), name).toBeLessThanOrEqual(2);
      expect(Math.min(...sizes), name).toBeGreaterThan(0);
    }
    expect(deletes.events).toEqual([2, 2, 1]);
    // A second run finds nothing.
    expect(await purge(2).purgeExpired(NOW)).toBe(0);
  });

  it("keeps a longer-retention tenant's data past the default cutoff, reading past it, until its own", async () => {
    await db
      .collection<TenantDocument>("tenants")
      .insertMany([tenant("long", { settings: { ...tenant("x").settings, retention_days: 60 } })]);
    // More kept documents than one read holds, some dated alike, interleaved with expired ones.
    const kept = [35, 35, 35, 35, 40, 45, 50, 55].map((days, i) => [`evt_long_${i}`, days] as const);
    for (const [id, days] of kept) await insertEventData("long", id, ago(days * DAY));
    for (const days of [36, 41, 46, 70])
      await insertEventData("plain", `evt_plain_${days}d`, ago(days * DAY));
    await insertEventData("long", "evt_long_70d", ago(70 * DAY));
    const purgeSmall = () =>
      new DataPurge({
        db,
        auditDb,
        batch: { batchSize: 2, idsPerRead: 3, pauseMs: 1 },
        defaultRetentionDays: 30,
        tenantPurgeGraceMs: 60_000,
        logger: createLogger({ service: "test", level: "silent" }),
      });

    expect(await purgeSmall().purgeExpired(NOW)).toBe(5 * 4);
    const keptIds = kept.map(([id]) => id).sort();
    expect(await idsIn(db, "events")).toEqual(keptIds);
    expect(await idsIn(auditDb, "event_routes")).toEqual(keptIds);
    expect(await idsIn(auditDb, "deliveries")).toEqual(keptIds.map((id) => `${id}:ep`));
    expect(await idsIn(auditDb, "attempts")).toEqual(keptIds.map((id) => `att_${id}`));

    // Twelve days on, what is now older than 60 days goes: the 50- and 55-day-old events.
    expect(await purgeSmall().purgeExpired(new Date(NOW.getTime() + 12 * DAY))).toBe(2 * 4);
    expect(await idsIn(db, "events")).toEqual(keptIds.slice(0, 6));
  });
});

describe("endpoint health rollups", () => {
  it("go with their tenant, and after 8 days whatever the tenant's retention", async () => {
    await db
      .collection<TenantDocument>("tenants")
      .insertMany([
        tenant("gone", { delete_time: ago(DAY) }),
        tenant("long", { settings: { ...tenant("x").settings, retention_days: 90 } }),
      ]);
    const rollup = (tenantId: string, days: number) => ({
      _id: `ep_${tenantId}:1h:${days}` as never,
      tenant_id: tenantId,
      bucket_start: ago(days * DAY),
      attempts: 1,
    });
    await auditDb
      .collection("endpoint_health")
      .insertMany([rollup("gone", 1), rollup("long", 1), rollup("long", 7.9), rollup("long", 8.1)]);
    await purge(10).purgeDeletedTenants(NOW);
    expect(await idsIn(auditDb, "endpoint_health")).toEqual([
      "ep_long:1h:1",
      "ep_long:1h:7.9",
      "ep_long:1h:8.1",
    ]);
    expect(await purge(10).purgeExpired(NOW)).toBe(1);
    expect(await idsIn(auditDb, "endpoint_health")).toEqual(["ep_long:1h:1", "ep_long:1h:7.9"]);
  });
});
