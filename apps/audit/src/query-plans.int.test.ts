import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AttemptTrigger,
  DeliveryState,
  ListAttemptsRequestSchema,
  ListEventsRequestSchema,
  RecoverRequestSchema,
  RedriveRequestSchema,
} from "@herald/contracts";
import { createLogger, ensureIndexes } from "@herald/platform";
import { Collections, eventIndexes } from "@herald/platform/model";
import { explainRead, type RecordedRead, recordReads, testEnv } from "@herald/platform/testing";
import { type Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptLogReader } from "./attempt-log-reader.js";
import { AttemptLogWriter } from "./attempt-log-writer.js";
import { DataPurge } from "./data-purge.js";
import { EndpointHealthStore } from "./endpoint-health-store.js";
import { encodePageToken } from "./page-token.js";
import { listAttemptsQuery, listEventsQuery, recoverQuery, redriveQuery, toPage } from "./queries.js";
import { auditIndexes } from "./service.js";

// Every read audit's API and purges send, explained: an index (or an _id key range) serves each, on
// MongoDB and on the embedded server, so none reads a whole collection (issue 23).
const env = testEnv();
let client: MongoClient;
let db: Db;
let auditDb: Db;
const T0 = new Date("2026-06-01T00:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000);

beforeAll(async () => {
  client = new MongoClient(env.MONGO_URL as string, { monitorCommands: true });
  await client.connect();
  db = client.db(env.MONGO_DB);
  auditDb = client.db(`${env.MONGO_DB}_audit`);
  await ensureIndexes(db, eventIndexes);
  await ensureIndexes(auditDb, auditIndexes);
  // A few documents of the shapes services write, so each field holds values of its kind.
  await db.collection(Collections.events).insertMany(
    [1, 2, 3].map((i) => ({
      _id: `e${i}`,
      tenant_id: "t1",
      event_type: "order.created",
      dedupe_key: `k${i}`,
      create_time: at(i),
    })) as never[],
  );
  await db.collection(Collections.tenants).insertOne({ _id: "t1", name: "t1" } as never);
  await auditDb.collection(Collections.attempts).insertMany(
    [1, 2, 3].map((i) => ({
      _id: `a${i}`,
      tenant_id: "t1",
      event_id: `e${i}`,
      endpoint_id: "ep1",
      success: i !== 2,
      attempt_time: at(i),
    })) as never[],
  );
  await auditDb.collection(Collections.deliveries).insertMany(
    [1, 2, 3].map((i) => ({
      _id: `e${i}:ep1`,
      tenant_id: "t1",
      event_id: `e${i}`,
      endpoint_id: "ep1",
      state: DeliveryState.DEAD,
      last_attempt_time: at(i),
      update_time: at(i),
    })) as never[],
  );
  await auditDb.collection(Collections.eventRoutes).insertMany(
    [1, 2, 3].map((i) => ({
      _id: `e${i}`,
      tenant_id: "t1",
      endpoint_ids: ["ep1"],
      route_time: at(i),
    })) as never[],
  );
});

afterAll(async () => {
  await db?.dropDatabase();
  await auditDb?.dropDatabase();
  await client?.close();
});

async function expectIndexed(reads: RecordedRead[]): Promise<void> {
  expect(reads.length).toBeGreaterThan(0);
  const plans = await Promise.all(reads.map((read) => explainRead(client, read)));
  const unindexed = plans.filter((p) => !p.usesIndex).map((p) => ({ read: p.read, plan: p.plan }));
  expect(unindexed).toEqual([]);
}

describe("audit's reads use an index", () => {
  const reader = () => new AttemptLogReader(db, auditDb);
  const token = (fingerprint: string) => encodePageToken({ time: at(2), id: "x" }, fingerprint);

  it("GetEvent: the event, its route, its deliveries and one delivery", async () => {
    await expectIndexed(
      await recordReads(client, async () => {
        await reader().findEvent("t1", "e1");
        await reader().findRoute("t1", "e1");
        await reader().deliveriesOfEvent("t1", "e1");
        await reader().succeededAttemptsOfEvent("t1", "e1");
        await reader().findDelivery({ tenantId: "t1", eventId: "e1", endpointId: "ep1" });
      }),
    );
  });

  it("a delivery without a document is read from its event's attempts, by the event's index", async () => {
    const writer = new AttemptLogWriter(auditDb);
    const failed = {
      attemptNumber: 1,
      attemptTime: at(5),
      trigger: AttemptTrigger.SCHEDULED,
      state: DeliveryState.FAILED,
      responseStatus: 500,
      nextAttemptTime: at(60),
      success: false,
    };
    const reads = await recordReads(client, async () => {
      // ep2 has no delivery document: the reader and the writer look for its accepted attempts.
      expect(await reader().findDelivery({ tenantId: "t1", eventId: "e1", endpointId: "ep2" })).toBeNull();
      await writer.applyDeliveryChanges(
        [{ ref: { tenantId: "t1", eventId: "e3", endpointId: "ep2" }, outcomes: [failed] }],
        at(6),
      );
    });
    // The reader's, and the writer's before and after it writes the document.
    const attemptReads = reads.filter((r) => r.collection === Collections.attempts);
    expect(attemptReads).toHaveLength(3);
    await expectIndexed(attemptReads);
    for (const read of attemptReads) {
      const plan = JSON.stringify((await explainRead(client, read)).plan);
      expect(plan).toMatch(/tenant_id_1_event_id_1|"event_id":1/);
    }
    await auditDb.collection(Collections.deliveries).deleteOne({ _id: "e3:ep2" } as never);
  });

  it("ListEvents: by tenant, by type, in a time range, and a deep page", async () => {
    const range = { startTime: timestampFromDate(at(0)), endTime: timestampFromDate(at(10)) };
    const requests = [
      { tenantId: "t1" },
      { tenantId: "t1", eventType: "order.created" },
      { tenantId: "t1", ...range },
      { tenantId: "t1", eventType: "order.created", ...range },
    ];
    await expectIndexed(
      await recordReads(client, async () => {
        for (const req of requests) {
          const first = listEventsQuery(create(ListEventsRequestSchema, req));
          await reader().listEvents(first);
          const next = create(ListEventsRequestSchema, { ...req, pageToken: token(first.fingerprint) });
          const page = toPage(await reader().listEvents(listEventsQuery(next)), first, (e) => ({
            time: e.create_time,
            id: e._id,
          }));
          await reader().findRoutes(
            "t1",
            page.items.map((e) => e._id),
          );
        }
      }),
    );
  });

  it("reads by event ids go by the _id index, not the tenant's, whose walk grows with the log", async () => {
    // A page's worth of ids: with a couple the embedded server takes the _id index anyway.
    const ids = ["e1", "e2", ...Array.from({ length: 28 }, (_, i) => `gone${i}`)];
    const reads = await recordReads(client, async () => {
      expect([...(await reader().findRoutes("t1", ids)).keys()].sort()).toEqual(["e1", "e2"]);
      expect((await reader().findEvents("t1", ids)).map((e) => e._id).sort()).toEqual(["e1", "e2"]);
      // Another tenant's ids find nothing.
      expect((await reader().findRoutes("t2", ["e1"])).size).toBe(0);
      expect(await reader().findEvents("t2", ["e1"])).toEqual([]);
    });
    const plans = await Promise.all(reads.map((read) => explainRead(client, read)));
    for (const plan of plans) expect(JSON.stringify(plan.plan)).toMatch(/__id_ |"_id_"|PRIMARY KEY/);
  });

  it("ListAttempts: by tenant, event and endpoint, with success and a time range, and a deep page", async () => {
    const range = { startTime: timestampFromDate(at(0)), endTime: timestampFromDate(at(10)) };
    const requests = [
      { tenantId: "t1" },
      { tenantId: "t1", success: false },
      { tenantId: "t1", ...range },
      { tenantId: "t1", eventId: "e1" },
      { tenantId: "t1", endpointId: "ep1" },
      { tenantId: "t1", endpointId: "ep1", success: true, ...range },
    ];
    await expectIndexed(
      await recordReads(client, async () => {
        for (const req of requests) {
          const first = listAttemptsQuery(create(ListAttemptsRequestSchema, req));
          await reader().listAttempts(first);
          const next = create(ListAttemptsRequestSchema, { ...req, pageToken: token(first.fingerprint) });
          await reader().listAttempts(listAttemptsQuery(next));
        }
      }),
    );
  });

  it("Recover and Redrive select by an index", async () => {
    await expectIndexed(
      await recordReads(client, async () => {
        const since = timestampFromDate(at(0));
        await reader().findReplayable(
          recoverQuery(create(RecoverRequestSchema, { tenantId: "t1", endpointId: "ep1", since }), at(10)),
        );
        await reader().findReplayable(redriveQuery(create(RedriveRequestSchema, { tenantId: "t1" })));
        await reader().findReplayable(
          redriveQuery(create(RedriveRequestSchema, { tenantId: "t1", endpointId: "ep1" })),
        );
      }),
    );
  });

  it("the endpoints' backlog count reads the unfinished deliveries by an index", async () => {
    const store = new EndpointHealthStore(auditDb);
    const reads = await recordReads(client, () => store.countBacklogs(["t1", "t2"], at(100)));
    expect(reads.some((r) => r.collection === Collections.deliveries)).toBe(true);
    await expectIndexed(reads);
  });

  /** The purge as audit runs it, over both test databases, deleting 100 ids at a time. */
  const newPurge = () =>
    new DataPurge({
      db,
      auditDb,
      batch: { batchSize: 100, pauseMs: 1 },
      defaultRetentionDays: 30,
      tenantPurgeGraceMs: 60_000,
      logger: createLogger({ service: "test", level: "silent" }),
    });

  it("the purges read their batches by an index", async () => {
    const purge = newPurge();
    await db.collection(Collections.tenants).insertOne({
      _id: "t2",
      name: "t2",
      delete_time: at(0),
      deleted_endpoint_ids: ["ep9"],
      settings: { retention_days: 7 },
    } as never);
    await db
      .collection(Collections.tenants)
      .insertOne({ _id: "t3", name: "t3", settings: { retention_days: 7 } } as never);
    const reads = await recordReads(client, async () => {
      await purge.purgeDeletedTenants(at(100));
      await purge.purgeExpired(new Date(T0.getTime() + 400 * 86_400_000));
    });
    // The tenants collection holds one document per tenant; the purges read it whole on purpose. The
    // delivery limits' state is read by `endpoint_id`, the field delivery's indexes lead with (its
    // query-plans test, where those indexes are declared).
    const own = [Collections.tenants, Collections.rateLimits, Collections.concurrencySlots] as string[];
    await expectIndexed(reads.filter((r) => !own.includes(r.collection)));
  });

  it("the retention purge reads a time range the embedded server serves by its index, limit included", async () => {
    // A tenant keeping its data longer than the default: its documents are dropped from the reads in
    // audit, so the reads stay an index range that the embedded server translates whole.
    await db
      .collection(Collections.tenants)
      .insertOne({ _id: "t4", name: "t4", settings: { retention_days: 90 } } as never);
    const purge = newPurge();
    const timeFields: Record<string, string> = {
      [Collections.events]: "create_time",
      [Collections.eventRoutes]: "route_time",
      [Collections.deliveries]: "update_time",
      [Collections.attempts]: "attempt_time",
      [Collections.endpointHealth]: "bucket_start",
    };
    const reads = await recordReads(client, () =>
      purge.purgeExpired(new Date(T0.getTime() + 400 * 86_400_000)),
    );
    const ranges = reads.filter((r) => {
      const field = timeFields[r.collection];
      return field !== undefined && r.limit !== undefined && Object.keys(r.filter).join() === field;
    });
    expect(new Set(ranges.map((r) => r.collection))).toEqual(new Set(Object.keys(timeFields)));
    for (const read of ranges) {
      const explained = await client.db(read.db).command({
        explain: { find: read.collection, filter: read.filter, sort: read.sort, limit: read.limit },
        verbosity: "queryPlanner",
      });
      const plan = explained.queryPlanner?.Plan as string[] | undefined;
      if (Array.isArray(plan)) {
        expect(plan.join("\n"), read.collection).toMatch(/SEARCH .* USING INDEX/);
        expect(plan.join("\n"), read.collection).not.toMatch(/SCAN |TEMP B-TREE/);
        expect(explained.limitPushdown, read.collection).toBe(true);
      } else {
        const winning = JSON.stringify(explained.queryPlanner?.winningPlan);
        expect(winning, read.collection).toContain("IXSCAN");
        expect(winning, read.collection).not.toMatch(/COLLSCAN|"SORT"/);
        expect(winning, read.collection).toContain(`"${timeFields[read.collection]}":1`);
      }
    }
  });
});
