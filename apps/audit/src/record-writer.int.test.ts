import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AttemptTrigger,
  AttemptWait,
  AuditRecordBatchSchema,
  AuditRecordSchema,
  DeliveryState,
  ErrorClass,
  RoutingRecordSchema,
  SkipReason,
} from "@herald/contracts";
import { topologyNames } from "@herald/platform";
import { testEnv } from "@herald/platform/testing";
import type { Db } from "mongodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AttemptLogReader } from "./attempt-log-reader.js";
import { AttemptLogWriter } from "./attempt-log-writer.js";
import { type AuditUnderTest, startAudit } from "./audit.test-support.js";
import {
  attemptsCollection,
  type DeliveryDocument,
  deliveriesCollection,
  deliveryFromDocument,
  eventRoutesCollection,
} from "./documents.js";
import { endpointHealthCollection } from "./endpoint-health-store.js";
import { writeAuditRecords } from "./record-writer.js";

const env = testEnv({ AUDIT_BATCH_SIZE: "100", AUDIT_BATCH_DELAY_MS: "20" });
const names = topologyNames(env.AMQP_NAMESPACE);
const T0 = Date.parse("2025-01-01T00:00:00Z");

let audit: AuditUnderTest;

beforeAll(async () => {
  audit = await startAudit(env);
});

afterAll(() => audit?.stop());

type RecordInit = MessageInitShape<typeof AuditRecordSchema>;

async function publishAll(records: RecordInit[]): Promise<void> {
  const auditRecords = audit.auditRecords;
  await Promise.all(records.map((record) => auditRecords.publish(create(AuditRecordSchema, record))));
}

function attemptRecord(
  tenantId: string,
  eventId: string,
  endpointId: string,
  n: number,
  state: DeliveryState,
  options: { id?: string; at?: number; trigger?: AttemptTrigger; waited?: [number, AttemptWait] } = {},
): RecordInit {
  const success = state === DeliveryState.SUCCEEDED;
  return {
    state,
    record: {
      case: "attempt",
      value: {
        id: options.id ?? `${eventId}-${endpointId}-${n}`,
        tenantId,
        eventId,
        endpointId,
        attemptNumber: n,
        trigger: options.trigger ?? AttemptTrigger.SCHEDULED,
        success,
        responseStatus: success ? 200 : 500 + n,
        responseBody: success ? "ok" : "oops",
        latencyMs: 12,
        errorClass: success ? ErrorClass.NONE : ErrorClass.HTTP_STATUS,
        errorMessage: success ? "" : "HTTP 50x",
        attemptTime: timestampFromDate(new Date(options.at ?? T0 + n * 1_000)),
        nextAttemptTime:
          state === DeliveryState.FAILED ? timestampFromDate(new Date(T0 + (n + 1) * 1_000)) : undefined,
        url: "https://example.com/hook",
        ...(options.waited ? { waitedMs: options.waited[0], waitedFor: options.waited[1] } : {}),
      },
    },
  };
}

function routingRecord(
  tenantId: string,
  eventId: string,
  endpointIds: string[],
  skipped: MessageInitShape<typeof RoutingRecordSchema>["skipped"] = [],
  skippedOmitted = 0,
): RecordInit {
  return {
    record: {
      case: "routing",
      value: create(RoutingRecordSchema, {
        tenantId,
        eventId,
        eventType: "order.created",
        endpointIds,
        routeTime: timestampFromDate(new Date(T0)),
        skipped,
        skippedOmitted,
      }),
    },
  };
}

/** A delivery's status as audit answers it: its document, or its accepted attempts when it has none. */
function statusOf(tenantId: string, eventId: string, endpointId: string): Promise<DeliveryDocument | null> {
  return new AttemptLogReader(audit.db).findDelivery({ tenantId, eventId, endpointId });
}

/**
 * `db` whose deliveries collection runs `before` ahead of each call of `method`, given the call's first
 * argument (the documents or operations): another writer getting in between a writer's steps.
 */
function beforeDeliveryWrites(
  db: Db,
  method: "insertMany" | "bulkWrite",
  before: (items: readonly object[]) => Promise<void>,
): Db {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== "collection") return Reflect.get(target, prop, receiver);
      return (name: string) => {
        const collection = target.collection(name);
        if (name !== "deliveries") return collection;
        return new Proxy(collection, {
          get(c, p, r) {
            const original = Reflect.get(c, p, r);
            if (p !== method) return original;
            return async (items: readonly object[], ...rest: unknown[]) => {
              await before(items);
              return original.call(c, items, ...rest);
            };
          },
        });
      };
    },
  });
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function queueDepth(queue: string): Promise<number> {
  const ch = await audit.rabbit.acquire();
  try {
    return (await ch.queueDeclare({ queue, passive: true })).messageCount;
  } finally {
    await ch.close();
  }
}

/** 100 deliveries (20 events × 5 endpoints) of 5 attempts each, 4 failures then dead, in random order, 100 twice. */
function fiveHundredAttempts(tenantId: string): RecordInit[] {
  const records: RecordInit[] = [];
  for (let e = 0; e < 20; e++) {
    for (let p = 0; p < 5; p++) {
      for (let n = 1; n <= 5; n++) {
        const state = n < 5 ? DeliveryState.FAILED : DeliveryState.DEAD;
        records.push(attemptRecord(tenantId, `bulk-e${e}`, `ep${p}`, n, state));
      }
    }
  }
  const duplicates = shuffle(records).slice(0, 100);
  return shuffle([...records, ...duplicates]);
}

describe("the audit record consumer", () => {
  it("writes 500 attempts out of order and with duplicates: none lost, none twice, final states right", async () => {
    await publishAll(fiveHundredAttempts("t1"));

    const attempts = attemptsCollection(audit.db);
    const deliveries = deliveriesCollection(audit.db);
    await vi
      .waitFor(
        async () => {
          expect(await attempts.countDocuments({ tenant_id: "t1", event_id: /^bulk-/ })).toBe(500);
          expect(
            await deliveries.countDocuments({
              event_id: /^bulk-/,
              state: DeliveryState.DEAD,
              attempt_count: 5,
            }),
          ).toBe(100);
        },
        { timeout: 20_000, interval: 100 },
      )
      .catch(async (err) => {
        console.log(
          "DEBUG",
          await deliveries
            .find({ event_id: /^bulk-/, $or: [{ state: { $ne: 4 } }, { attempt_count: { $ne: 5 } }] })
            .toArray(),
        );
        throw err;
      });
    expect(await deliveries.countDocuments({ event_id: /^bulk-/ })).toBe(100);
    await vi.waitFor(async () => expect(await queueDepth(names.queues.auditAttempts)).toBe(0));

    expect(await attempts.findOne({ _id: "bulk-e3-ep2-4" })).toEqual({
      _id: "bulk-e3-ep2-4",
      tenant_id: "t1",
      event_id: "bulk-e3",
      endpoint_id: "ep2",
      attempt_number: 4,
      trigger: AttemptTrigger.SCHEDULED,
      success: false,
      response_status: 504,
      response_body: "oops",
      latency_ms: 12,
      error_class: ErrorClass.HTTP_STATUS,
      error_message: "HTTP 50x",
      attempt_time: new Date(T0 + 4_000),
      next_attempt_time: new Date(T0 + 5_000),
      url: "https://example.com/hook",
      rollup_batch: expect.any(String),
    });
    const delivery = await deliveries.findOne({ _id: "bulk-e3:ep2" });
    expect(delivery).toMatchObject({
      tenant_id: "t1",
      event_id: "bulk-e3",
      endpoint_id: "ep2",
      state: DeliveryState.DEAD,
      attempt_count: 5,
      last_attempt_number: 5,
      last_attempt_time: new Date(T0 + 5_000),
      last_response_status: 505,
    });
    expect(delivery).not.toHaveProperty("next_attempt_time");
    expect(delivery?.update_time).toBeInstanceOf(Date);
  });

  it("records the route from a routing record, leaving deliveries to their first attempt and later states as they are", async () => {
    // The attempt overtakes the routing record.
    await publishAll([attemptRecord("t1", "routed-1", "epA", 1, DeliveryState.SUCCEEDED)]);
    await vi.waitFor(async () =>
      expect((await statusOf("t1", "routed-1", "epA"))?.state).toBe(DeliveryState.SUCCEEDED),
    );
    await publishAll([
      routingRecord("t1", "routed-1", ["epA", "epB"]),
      routingRecord("t1", "routed-1", ["epA", "epB"]),
      routingRecord("t1", "routed-none", []),
    ]);
    await vi.waitFor(async () =>
      expect(await eventRoutesCollection(audit.db).countDocuments({ tenant_id: "t1" })).toBe(2),
    );
    expect(await eventRoutesCollection(audit.db).findOne({ _id: "routed-1" })).toEqual({
      _id: "routed-1",
      tenant_id: "t1",
      endpoint_ids: ["epA", "epB"],
      route_time: new Date(T0),
    });
    expect(await eventRoutesCollection(audit.db).findOne({ _id: "routed-none" })).toMatchObject({
      endpoint_ids: [],
    });
    const deliveries = await deliveriesCollection(audit.db)
      .find({ event_id: "routed-1" })
      .sort({ endpoint_id: 1 })
      .toArray();
    // epB is PENDING by the route alone (GetEvent says so): its document would come with its first
    // attempt. epA's first attempt was accepted, so its attempt is its status and it has none either.
    expect(deliveries).toEqual([]);
    expect(await statusOf("t1", "routed-1", "epA")).toMatchObject({
      state: DeliveryState.SUCCEEDED,
      attempt_count: 1,
      last_response_status: 200,
    });
    expect(await deliveriesCollection(audit.db).countDocuments({ event_id: "routed-none" })).toBe(0);
  });

  it("keeps why endpoints skipped an event with its route", async () => {
    await publishAll([
      routingRecord(
        "t1",
        "skipped-1",
        [],
        [
          { endpointId: "epA", reason: SkipReason.EVENT_TYPE },
          { endpointId: "epB", reason: SkipReason.FILTER_FALSE, filter: "payload.amount > 100" },
          {
            endpointId: "epC",
            reason: SkipReason.FILTER_ERROR,
            filter: "payload.x == 1",
            detail: "no such key: x",
          },
        ],
        3,
      ),
    ]);
    await vi.waitFor(async () =>
      expect(await eventRoutesCollection(audit.db).findOne({ _id: "skipped-1" })).toEqual({
        _id: "skipped-1",
        tenant_id: "t1",
        endpoint_ids: [],
        route_time: new Date(T0),
        skipped: [
          { endpoint_id: "epA", reason: SkipReason.EVENT_TYPE },
          { endpoint_id: "epB", reason: SkipReason.FILTER_FALSE, filter: "payload.amount > 100" },
          {
            endpoint_id: "epC",
            reason: SkipReason.FILTER_ERROR,
            filter: "payload.x == 1",
            detail: "no such key: x",
          },
        ],
        skipped_omitted: 3,
      }),
    );
  });

  it("keeps SUCCEEDED against a late duplicate failure, and moves on for a newer manual attempt", async () => {
    await publishAll([attemptRecord("t1", "final-1", "epA", 1, DeliveryState.SUCCEEDED, { at: T0 })]);
    const state = async () => (await statusOf("t1", "final-1", "epA"))?.state;
    await vi.waitFor(async () => expect(await state()).toBe(DeliveryState.SUCCEEDED));
    await publishAll([
      attemptRecord("t1", "final-1", "epA", 1, DeliveryState.FAILED, { id: "final-dup", at: T0 + 5_000 }),
    ]);
    // The failure needs a document, which folds in the accepted attempt stored without one.
    await vi.waitFor(async () =>
      expect(await deliveriesCollection(audit.db).findOne({ _id: "final-1:epA" })).toMatchObject({
        state: DeliveryState.SUCCEEDED,
        attempt_count: 1,
        last_attempt_time: new Date(T0),
        last_response_status: 200,
      }),
    );
    expect(await state()).toBe(DeliveryState.SUCCEEDED);
    await publishAll([
      attemptRecord("t1", "final-1", "epA", 2, DeliveryState.DEAD, { trigger: AttemptTrigger.MANUAL }),
    ]);
    await vi.waitFor(async () => expect(await state()).toBe(DeliveryState.DEAD));
  });

  it("writes no document for a delivery whose first attempt was accepted, and one with it once a replay comes", async () => {
    const writer = new AttemptLogWriter(audit.db);
    const ref = { tenantId: "ten_first", eventId: "evt_first", endpointId: "ep_f" };
    const accepted = create(
      AuditRecordSchema,
      attemptRecord("ten_first", "evt_first", "ep_f", 1, DeliveryState.SUCCEEDED, {
        waited: [250, AttemptWait.ENDPOINT_LIMIT],
      }),
    );
    await writeAuditRecords(writer, [accepted], new Date(T0 + 60_000));
    // A redelivered batch changes nothing either.
    await writeAuditRecords(writer, [accepted], new Date(T0 + 60_000));
    expect(await deliveriesCollection(audit.db).countDocuments({ tenant_id: "ten_first" })).toBe(0);
    const implicit = await statusOf("ten_first", "evt_first", "ep_f");
    expect(implicit).toMatchObject({
      state: DeliveryState.SUCCEEDED,
      attempt_count: 1,
      last_attempt_number: 1,
      last_attempt_time: new Date(T0 + 1_000),
      last_response_status: 200,
      update_time: new Date(T0 + 1_000),
    });
    expect(deliveryFromDocument(implicit as DeliveryDocument)).toMatchObject({
      waitedMs: 250,
      waitedFor: AttemptWait.ENDPOINT_LIMIT,
    });

    // A replay as attempt 2: the document is written from the accepted attempt first, then marked.
    await writer.markPending(ref, 2, new Date(T0 + 120_000));
    expect(await deliveriesCollection(audit.db).findOne({ _id: "evt_first:ep_f" })).toMatchObject({
      state: DeliveryState.PENDING,
      attempt_count: 1,
      last_attempt_number: 1,
      waits: [{ attempt_number: 1, waited_ms: 250, waited_for: AttemptWait.ENDPOINT_LIMIT }],
    });
    await writeAuditRecords(
      writer,
      [
        create(
          AuditRecordSchema,
          attemptRecord("ten_first", "evt_first", "ep_f", 2, DeliveryState.FAILED, {
            trigger: AttemptTrigger.MANUAL,
            at: T0 + 130_000,
          }),
        ),
      ],
      new Date(T0 + 130_000),
    );
    expect(await statusOf("ten_first", "evt_first", "ep_f")).toMatchObject({
      state: DeliveryState.FAILED,
      attempt_count: 2,
      last_attempt_number: 2,
    });
  });

  it("folds an accepted first attempt into the document a later attempt of the delivery needs", async () => {
    const writer = new AttemptLogWriter(audit.db);
    // Attempt 2 (a retry after a failure whose record is still on its way) and the accepted first
    // attempt of another endpoint's delivery, in one batch; then a dead task's outcome for the latter.
    await writeAuditRecords(
      writer,
      [
        create(AuditRecordSchema, attemptRecord("ten_fold", "evt_fold", "ep_a", 1, DeliveryState.SUCCEEDED)),
        create(AuditRecordSchema, attemptRecord("ten_fold", "evt_fold", "ep_b", 2, DeliveryState.SUCCEEDED)),
      ],
      new Date(T0),
    );
    const docs = await deliveriesCollection(audit.db).find({ tenant_id: "ten_fold" }).toArray();
    expect(docs.map((d) => [d.endpoint_id, d.state, d.attempt_count])).toEqual([
      ["ep_b", DeliveryState.SUCCEEDED, 2],
    ]);
    await writer.applyDeliveryChanges(
      [
        {
          ref: { tenantId: "ten_fold", eventId: "evt_fold", endpointId: "ep_a" },
          outcomes: [
            {
              attemptNumber: 1,
              attemptTime: new Date(T0 + 9_000),
              trigger: AttemptTrigger.SCHEDULED,
              state: DeliveryState.DEAD,
              responseStatus: 0,
              nextAttemptTime: null,
            },
          ],
        },
      ],
      new Date(T0 + 10_000),
    );
    // SUCCEEDED is final against a later scheduled outcome: the stored accepted attempt was folded in.
    expect(await deliveriesCollection(audit.db).findOne({ _id: "evt_fold:ep_a" })).toMatchObject({
      state: DeliveryState.SUCCEEDED,
      attempt_count: 1,
      last_response_status: 200,
    });
  });

  it("folds an accepted first attempt stored by another writer while it wrote the delivery's document", async () => {
    // Writer B records a duplicate task's failure of a delivery with no document. Between B's read of
    // the accepted attempts and its insert of the document, writer A stores the accepted first attempt
    // and, finding no document, writes none. B must still end with SUCCEEDED.
    // The failure is the older of the two (a task that failed before its duplicate got through), so
    // either order of the two records ends in SUCCEEDED.
    const failed = create(
      AuditRecordSchema,
      attemptRecord("ten_late", "evt_late", "ep_l", 1, DeliveryState.FAILED, { id: "late-dup", at: T0 }),
    );
    const accepted = create(
      AuditRecordSchema,
      attemptRecord("ten_late", "evt_late", "ep_l", 1, DeliveryState.SUCCEEDED, { at: T0 + 5_000 }),
    );
    let interleaved = false;
    const interleavingDb = beforeDeliveryWrites(audit.db, "insertMany", async () => {
      if (interleaved) return;
      interleaved = true;
      await writeAuditRecords(new AttemptLogWriter(audit.db), [accepted], new Date(T0));
      expect(await deliveriesCollection(audit.db).countDocuments({ tenant_id: "ten_late" })).toBe(0);
    });
    await writeAuditRecords(new AttemptLogWriter(interleavingDb), [failed], new Date(T0 + 6_000));
    expect(interleaved).toBe(true);
    expect(await deliveriesCollection(audit.db).findOne({ _id: "evt_late:ep_l" })).toMatchObject({
      state: DeliveryState.SUCCEEDED,
      attempt_count: 1,
      last_attempt_time: new Date(T0 + 5_000),
      last_response_status: 200,
    });
  });

  it("updates a batch of 300 existing deliveries in one go", async () => {
    const tenant = "ten_bulk";
    const endpoints = Array.from({ length: 300 }, (_, i) => `ep_bulk${String(i).padStart(3, "0")}`);
    const writer = new AttemptLogWriter(audit.db);
    const attempts = (n: number, state: DeliveryState) =>
      endpoints.map((ep) => create(AuditRecordSchema, attemptRecord(tenant, "evt_bulk", ep, n, state)));
    await writeAuditRecords(writer, attempts(1, DeliveryState.FAILED), new Date(T0));
    await writeAuditRecords(writer, attempts(2, DeliveryState.SUCCEEDED), new Date(T0));
    const states = await deliveriesCollection(audit.db)
      .find({ tenant_id: tenant }, { projection: { state: 1, attempt_count: 1, version: 1 } })
      .toArray();
    expect(states).toHaveLength(300);
    expect(
      states.every((d) => d.state === DeliveryState.SUCCEEDED && d.attempt_count === 2 && d.version === 1),
    ).toBe(true);
  });

  it("redoes a batch's delivery updates one by one when another writer got in between", async () => {
    const tenant = "ten_race";
    const endpoints = ["ep_r1", "ep_r2", "ep_r3"];
    const records = (n: number, state: DeliveryState) =>
      endpoints.map((ep) => create(AuditRecordSchema, attemptRecord(tenant, "evt_race", ep, n, state)));
    await writeAuditRecords(new AttemptLogWriter(audit.db), records(1, DeliveryState.FAILED), new Date(T0));
    // A writer whose bulk write finds every delivery moved on since it was read, as when another audit
    // instance updated them meanwhile: no guarded update matches.
    const racedDb = beforeDeliveryWrites(audit.db, "bulkWrite", async (ops) => {
      // insertMany is a bulk write too: only the guarded updates race.
      if (ops.some((op) => "updateOne" in op)) {
        await deliveriesCollection(audit.db).updateMany({ tenant_id: tenant }, { $inc: { version: 1 } });
      }
    });
    await writeAuditRecords(new AttemptLogWriter(racedDb), records(2, DeliveryState.SUCCEEDED), new Date(T0));
    const stored = await deliveriesCollection(audit.db)
      .find({ tenant_id: tenant })
      .sort({ endpoint_id: 1 })
      .toArray();
    expect(stored.map((d) => [d.endpoint_id, d.state, d.attempt_count, d.version])).toEqual(
      endpoints.map((ep) => [ep, DeliveryState.SUCCEEDED, 2, 2]),
    );
  });

  it("sums a delivery's waits over its attempts, keeps the longest one's reason, and counts a redelivery once", async () => {
    const writer = new AttemptLogWriter(audit.db);
    const first = create(
      AuditRecordSchema,
      attemptRecord("ten_wait", "evt_wait", "ep_w", 1, DeliveryState.FAILED, {
        waited: [300, AttemptWait.TENANT_TURN],
      }),
    );
    const second = create(
      AuditRecordSchema,
      attemptRecord("ten_wait", "evt_wait", "ep_w", 2, DeliveryState.SUCCEEDED, {
        waited: [1_200, AttemptWait.ENDPOINT_LIMIT],
      }),
    );
    await writeAuditRecords(writer, [first], new Date(T0));
    await writeAuditRecords(writer, [second], new Date(T0));
    // A redelivered batch (a crash before its ack) must not add its waits again.
    await writeAuditRecords(writer, [first, second], new Date(T0));
    const stored = await deliveriesCollection(audit.db).findOne({ _id: "evt_wait:ep_w" });
    expect(stored?.waits).toEqual([
      { attempt_number: 1, waited_ms: 300, waited_for: AttemptWait.TENANT_TURN },
      { attempt_number: 2, waited_ms: 1_200, waited_for: AttemptWait.ENDPOINT_LIMIT },
    ]);
    expect(stored?.version).toBe(1);
    expect(deliveryFromDocument(stored as DeliveryDocument)).toMatchObject({
      waitedMs: 1_500,
      waitedFor: AttemptWait.ENDPOINT_LIMIT,
    });
  });

  it("drops a malformed record instead of retrying it, and writes the rest of its message", async () => {
    const records = [
      { record: { case: "attempt", value: { tenantId: "t-bad", eventId: "e", endpointId: "p" } } },
      attemptRecord("t-bad", "good", "p", 1, DeliveryState.SUCCEEDED),
    ] satisfies RecordInit[];
    await audit.publisher.publish(
      { exchange: names.exchanges.attempts },
      AuditRecordBatchSchema,
      create(AuditRecordBatchSchema, { records }),
    );
    await vi.waitFor(
      async () => expect(await attemptsCollection(audit.db).countDocuments({ tenant_id: "t-bad" })).toBe(1),
      { timeout: 5_000 },
    );
    await vi.waitFor(async () => expect(await queueDepth(names.queues.auditAttempts)).toBe(0));
  });

  it("creates its indexes", async () => {
    const keys = async (collection: string) =>
      (await audit.db.collection(collection).indexes()).map((i) => i.key);
    expect(await keys("attempts")).toEqual(
      expect.arrayContaining([
        { tenant_id: 1, attempt_time: -1, _id: -1 },
        { tenant_id: 1, event_id: 1, attempt_time: -1, _id: -1 },
        { tenant_id: 1, endpoint_id: 1, attempt_time: -1, _id: -1 },
      ]),
    );
    expect(await keys("deliveries")).toEqual(
      expect.arrayContaining([{ tenant_id: 1, endpoint_id: 1, state: 1, last_attempt_time: 1, _id: 1 }]),
    );
  });

  it("keeps a test delivery in the attempt log only: no delivery state, no health rollup", async () => {
    await publishAll([
      attemptRecord("t1", "evt_test_1", "ep-tested", 1, DeliveryState.UNSPECIFIED, {
        trigger: AttemptTrigger.TEST,
        at: Date.now(),
      }),
      // A real attempt in the same batch still counts, so the filter is per attempt.
      attemptRecord("t1", "evt-real", "ep-tested", 1, DeliveryState.SUCCEEDED, { at: Date.now() }),
    ]);
    await vi.waitFor(
      async () => {
        expect(await attemptsCollection(audit.db).countDocuments({ endpoint_id: "ep-tested" })).toBe(2);
        expect((await statusOf("t1", "evt-real", "ep-tested"))?.state).toBe(DeliveryState.SUCCEEDED);
      },
      { timeout: 10_000 },
    );
    const stored = await attemptsCollection(audit.db).findOne({ event_id: "evt_test_1" });
    expect(stored?.trigger).toBe(AttemptTrigger.TEST);
    expect(await deliveriesCollection(audit.db).countDocuments({ event_id: "evt_test_1" })).toBe(0);
    expect(await statusOf("t1", "evt_test_1", "ep-tested")).toBeNull();
    // Only the real attempt is in the rollups: one per bucket span, each counting one attempt. They are
    // written up to HEALTH_ROLLUP_INTERVAL after the attempts.
    const rollups = await vi.waitFor(
      async () => {
        const found = await endpointHealthCollection(audit.db)
          .find({ endpoint_id: "ep-tested", attempts: { $exists: true } })
          .toArray();
        expect(found).toHaveLength(2);
        return found;
      },
      { timeout: 10_000 },
    );
    for (const rollup of rollups) expect(rollup).toMatchObject({ attempts: 1, succeeded: 1 });
  });
});

describe("the audit record consumer, writing several batches at once as on MongoDB", () => {
  // MongoDB's setting on the embedded server: small batches, several written at once, so that batches
  // touching one delivery overlap; its updates must still land one after another.
  const concurrentEnv = testEnv({
    AUDIT_BATCH_SIZE: "10",
    AUDIT_BATCH_DELAY_MS: "5",
    MONGO_CONCURRENT_WRITES: "true",
  });
  let concurrent: AuditUnderTest;

  beforeAll(async () => {
    concurrent = await startAudit(concurrentEnv);
  });

  afterAll(() => concurrent?.stop());

  it("writes 500 attempts out of order and with duplicates: none lost, none twice, final states right", async () => {
    await Promise.all(
      fiveHundredAttempts("t2").map((record) =>
        concurrent.auditRecords.publish(create(AuditRecordSchema, record)),
      ),
    );
    const attempts = attemptsCollection(concurrent.db);
    const deliveries = deliveriesCollection(concurrent.db);
    await vi.waitFor(
      async () => {
        expect(await attempts.countDocuments({ tenant_id: "t2" })).toBe(500);
        expect(
          await deliveries.countDocuments({ tenant_id: "t2", state: DeliveryState.DEAD, attempt_count: 5 }),
        ).toBe(100);
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(await deliveries.countDocuments({ tenant_id: "t2" })).toBe(100);
    // Each attempt counted once in its endpoint's 5-minute health rollups, though batches overlapped.
    await vi.waitFor(async () => {
      const rollups = await endpointHealthCollection(concurrent.db)
        .find({ tenant_id: "t2", attempts: { $exists: true } })
        .toArray();
      const fiveMinutes = rollups.filter((rollup) => String(rollup._id).includes(":5m:"));
      expect(fiveMinutes.reduce((sum, rollup) => sum + (rollup.attempts ?? 0), 0)).toBe(500);
    });
  });
});

describe("the audit record consumer, with rollups written together", () => {
  // A prefetch of 4 messages and rollups written 10 s after their attempts: the consumer could hold 4
  // single-record messages at most, so the 12 below are all counted well inside the interval only if
  // messages waiting for their rollups make the rollups be written once they are half the prefetch.
  const pressureEnv = testEnv({
    AUDIT_BATCH_SIZE: "4",
    AUDIT_BATCH_DELAY_MS: "5",
    HEALTH_ROLLUP_INTERVAL: "10s",
  });
  let pressured: AuditUnderTest;

  beforeAll(async () => {
    pressured = await startAudit(pressureEnv);
  });

  afterAll(() => pressured?.stop());

  it("writes the rollups early when the messages waiting for them are half the prefetch", async () => {
    const records = Array.from({ length: 12 }, (_, i) =>
      attemptRecord("t3", `pressure-e${i}`, "ep-pressure", 1, DeliveryState.SUCCEEDED, { at: Date.now() }),
    );
    for (const record of records) await pressured.auditRecords.publish(create(AuditRecordSchema, record));
    await vi.waitFor(
      async () => {
        const rollups = await endpointHealthCollection(pressured.db)
          .find({ endpoint_id: "ep-pressure", attempts: { $exists: true } })
          .toArray();
        const fiveMinutes = rollups.filter((rollup) => String(rollup._id).includes(":5m:"));
        expect(fiveMinutes.reduce((sum, rollup) => sum + (rollup.attempts ?? 0), 0)).toBe(12);
      },
      { timeout: 5_000, interval: 100 },
    );
    expect(await attemptsCollection(pressured.db).countDocuments({ endpoint_id: "ep-pressure" })).toBe(12);
  });
});
