import { create, type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, ValueSchema } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import {
  AttemptTrigger,
  AuditRecordSchema,
  type AuditService,
  DeliveryState,
  type DeliveryTask,
  DeliveryTaskSchema,
  Scope,
} from "@herald/contracts";
import { consumeProto, createLogger, topologyNames } from "@herald/platform";
import {
  type EndpointDocument,
  type EventDocument,
  endpointsCollection,
  eventsCollection,
  tenantsCollection,
} from "@herald/platform/model";
import { TEST_ADMIN_KEY, testEndpoint, testEnv, testTenant } from "@herald/platform/testing";
import { Binary } from "mongodb";
import type { Consumer } from "rabbitmq-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { AttemptLogReader } from "./attempt-log-reader.js";
import { type AuditUnderTest, auditClient, startAudit, tenantAuditClient } from "./audit.test-support.js";
import { attemptsCollection, type DeliveryDocument, deliveriesCollection } from "./documents.js";

// A replay limit of 40 instead of 1000 keeps the truncation test quick: FerretDB takes ~8 ms a write.
const env = testEnv({ AUDIT_BATCH_DELAY_MS: "10", AUDIT_REPLAY_LIMIT: "40" });
const REPLAY_LIMIT = 40;
const names = topologyNames(env.AMQP_NAMESPACE);
const T0 = Date.parse("2025-01-01T00:00:00Z");
let audit: AuditUnderTest;
let taskConsumers: Consumer[] = [];
/** Delivery tasks published by the service, as they arrive. */
const tasks: DeliveryTask[] = [];
let admin: Client<typeof AuditService>;
/** A key of tenant t2 with audit:read. */
let t2Reader: Client<typeof AuditService>;
/** A key of tenant t2 without audit:read. */
let t2Publisher: Client<typeof AuditService>;

const payloadOf = (i: number) => new TextEncoder().encode(`{"n":  ${i}, "exact": "bytes"}`);
const eventId = (i: number) => `e${String(i).padStart(2, "0")}`;

function clientWith(key: string): Client<typeof AuditService> {
  return auditClient(audit.service.port, key);
}

function tenantClient(tenantId: string, scopes: Scope[]): Promise<Client<typeof AuditService>> {
  return tenantAuditClient(audit, tenantId, scopes);
}

function endpoint(tenantId: string, id: string): EndpointDocument {
  return testEndpoint({ _id: id, tenant_id: tenantId, create_time: new Date(T0) });
}

function event(tenantId: string, id: string, i: number, createTime: number): EventDocument {
  return {
    _id: id,
    tenant_id: tenantId,
    event_type: i % 2 === 0 ? "order.created" : "user.created",
    payload: new Binary(payloadOf(i)),
    channels: ["eu"],
    ...(i % 5 === 0 ? { idempotency_key: `idem-${i}` } : {}),
    dedupe_key: i % 5 === 0 ? `idem-${i}` : id,
    create_time: new Date(createTime),
    published: true,
  };
}

type RecordInit = MessageInitShape<typeof AuditRecordSchema>;

function attempt(
  tenantId: string,
  evt: string,
  endpointId: string,
  n: number,
  state: DeliveryState,
  at: number,
  trigger = AttemptTrigger.SCHEDULED,
): RecordInit {
  const success = state === DeliveryState.SUCCEEDED;
  return {
    state,
    record: {
      case: "attempt",
      value: {
        id: `${evt}-${endpointId}-${n}`,
        tenantId,
        eventId: evt,
        endpointId,
        attemptNumber: n,
        trigger,
        success,
        responseStatus: success ? 200 : 500,
        attemptTime: timestampFromDate(new Date(at)),
        nextAttemptTime:
          state === DeliveryState.FAILED ? timestampFromDate(new Date(at + 60_000)) : undefined,
      },
    },
  };
}

async function publishAll(records: RecordInit[]): Promise<void> {
  const auditRecords = audit.auditRecords;
  await Promise.all(records.map((record) => auditRecords.publish(create(AuditRecordSchema, record))));
}

/** Waits for exactly `count` delivery tasks, then a little longer to be sure no more come. */
async function receivedTasks(count: number): Promise<DeliveryTask[]> {
  await vi.waitFor(() => expect(tasks.length).toBeGreaterThanOrEqual(count), {
    timeout: 10_000,
    interval: 20,
  });
  await new Promise((r) => setTimeout(r, 150));
  expect(tasks).toHaveLength(count);
  return [...tasks];
}

/** A delivery's status as audit answers it: its document, or its accepted attempts when it has none. */
function delivery(tenantId: string, eventId: string, endpointId: string): Promise<DeliveryDocument | null> {
  return new AttemptLogReader(audit.db).findDelivery({ tenantId, eventId, endpointId });
}

/** The gRPC code `call` fails with, and its message. */
async function failure(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (err) {
    const error = ConnectError.from(err);
    return { code: error.code, message: error.rawMessage };
  }
  throw new Error("the call succeeded");
}

// Tenant t1: events e00..e29, created in threes at the same millisecond, with endpoints ep1 and ep2.
//   ep1: one attempt each, at T0 + 1 h + ⌊i/4⌋ s (ties again); e00, e03, … succeeded, the others failed.
//   ep2: three attempts each, the last one dead.
// Tenant t2: event x1 with endpoint ep9, dead.
beforeAll(async () => {
  audit = await startAudit(env);
  // Replays go to their tenant's shard of delivery.tasks.
  taskConsumers = [names.queues.deliveryTasks, ...names.shardQueues(names.queues.deliveryTasks)].map(
    (queue) =>
      consumeProto(audit.rabbit, {
        names,
        queue,
        schema: DeliveryTaskSchema,
        logger: createLogger({ service: "test", level: "silent" }),
        handler: async (task) => void tasks.push(task),
      }),
  );
  admin = clientWith(TEST_ADMIN_KEY);
  t2Reader = await tenantClient("t2", [Scope.AUDIT_READ]);
  t2Publisher = await tenantClient("t2", [Scope.EVENTS_PUBLISH]);

  await endpointsCollection(audit.db).insertMany([
    endpoint("t1", "ep1"),
    endpoint("t1", "ep2"),
    endpoint("t2", "ep9"),
  ]);
  const events = Array.from({ length: 30 }, (_, i) =>
    event("t1", eventId(i), i, T0 + Math.floor(i / 3) * 1_000),
  );
  await eventsCollection(audit.db).insertMany([...events, event("t2", "x1", 99, T0)]);

  const records: RecordInit[] = [];
  for (let i = 0; i < 30; i++) {
    const ep1State = i % 3 === 0 ? DeliveryState.SUCCEEDED : DeliveryState.FAILED;
    records.push(attempt("t1", eventId(i), "ep1", 1, ep1State, T0 + 3_600_000 + Math.floor(i / 4) * 1_000));
    for (let n = 1; n <= 3; n++) {
      const state = n < 3 ? DeliveryState.FAILED : DeliveryState.DEAD;
      records.push(attempt("t1", eventId(i), "ep2", n, state, T0 + 7_200_000 + i * 1_000 + n * 100));
    }
  }
  records.push(attempt("t2", "x1", "ep9", 1, DeliveryState.DEAD, T0));
  await publishAll(records);
  await vi.waitFor(
    async () => {
      expect(await attemptsCollection(audit.db).countDocuments({})).toBe(121);
      // 61 deliveries, of which ep1's 10 accepted first attempts have no document.
      expect(await deliveriesCollection(audit.db).countDocuments({ attempt_count: { $gte: 1 } })).toBe(51);
      expect(await deliveriesCollection(audit.db).countDocuments({ state: DeliveryState.DEAD })).toBe(31);
    },
    { timeout: 15_000, interval: 50 },
  );
});

afterAll(async () => {
  await Promise.all(taskConsumers.map((c) => c.close()));
  await audit?.stop();
});

beforeEach(() => {
  tasks.length = 0;
});

describe("ListAttempts", () => {
  it("pages through every attempt, newest first, without overlap or gap", async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let pageToken = "";
    do {
      const page = await admin.listAttempts({ tenantId: "t1", pageSize: 50, pageToken });
      sizes.push(page.attempts.length);
      seen.push(...page.attempts.map((a) => a.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(sizes).toEqual([50, 50, 20]);
    const expected = (
      await attemptsCollection(audit.db)
        .find({ tenant_id: "t1" })
        .sort({ attempt_time: -1, _id: -1 })
        .toArray()
    ).map((a) => a._id);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(120);
  });

  it("answers attempts with their fields, and pages over ties in attempt_time", async () => {
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await admin.listAttempts({ tenantId: "t1", endpointId: "ep1", pageSize: 3, pageToken });
      seen.push(...page.attempts.map((a) => a.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(new Set(seen).size).toBe(30);
    const { attempts } = await admin.listAttempts({ tenantId: "t1", eventId: "e05", endpointId: "ep1" });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      id: "e05-ep1-1",
      tenantId: "t1",
      eventId: "e05",
      endpointId: "ep1",
      attemptNumber: 1,
      success: false,
      responseStatus: 500,
    });
    expect(timestampDate(attempts[0]?.attemptTime ?? timestampFromDate(new Date(0))).getTime()).toBe(
      T0 + 3_600_000 + 1_000,
    );
  });

  it("filters by event, endpoint, outcome and time", async () => {
    expect((await admin.listAttempts({ tenantId: "t1", eventId: "e05" })).attempts).toHaveLength(4);
    expect(
      (await admin.listAttempts({ tenantId: "t1", endpointId: "ep1", success: true })).attempts,
    ).toHaveLength(10);
    expect(
      (await admin.listAttempts({ tenantId: "t1", success: false, pageSize: 200 })).attempts,
    ).toHaveLength(110);
    const window = await admin.listAttempts({
      tenantId: "t1",
      startTime: timestampFromDate(new Date(T0 + 3_600_000)),
      endTime: timestampFromDate(new Date(T0 + 3_602_000)),
    });
    expect(window.attempts.map((a) => a.id).sort()).toEqual(
      ["e00", "e01", "e02", "e03", "e04", "e05", "e06", "e07"].map((e) => `${e}-ep1-1`),
    );
    expect((await admin.listAttempts({ tenantId: "t2" })).attempts.map((a) => a.id)).toEqual(["x1-ep9-1"]);
  });

  it("refuses bad input, naming the field", async () => {
    expect(await failure(admin.listAttempts({ tenantId: "t1", pageToken: "garbage!" }))).toMatchObject({
      code: Code.InvalidArgument,
      message: expect.stringContaining("page_token"),
    });
    const first = await admin.listAttempts({ tenantId: "t1", pageSize: 5 });
    expect(
      await failure(admin.listAttempts({ tenantId: "t1", eventId: "e01", pageToken: first.nextPageToken })),
    ).toMatchObject({ code: Code.InvalidArgument, message: expect.stringContaining("page_token") });
    const backwards = admin.listAttempts({
      tenantId: "t1",
      startTime: timestampFromDate(new Date(T0 + 1)),
      endTime: timestampFromDate(new Date(T0)),
    });
    expect(await failure(backwards)).toMatchObject({
      code: Code.InvalidArgument,
      message: "end_time: must be after start_time",
    });
    expect(await failure(admin.listAttempts({}))).toMatchObject({
      code: Code.InvalidArgument,
      message: "tenant_id: required",
    });
  });
});

describe("tenant scoping", () => {
  it("lets a tenant key read its own tenant only", async () => {
    expect((await t2Reader.listAttempts({ tenantId: "t2" })).attempts).toHaveLength(1);
    expect((await t2Reader.getEvent({ tenantId: "t2", eventId: "x1" })).event?.id).toBe("x1");
    for (const call of [
      t2Reader.listAttempts({ tenantId: "t1" }),
      t2Reader.getEvent({ tenantId: "t1", eventId: "e01" }),
      t2Reader.listEvents({ tenantId: "t1" }),
      t2Reader.redeliver({ tenantId: "t1", eventId: "e01", endpointId: "ep1" }),
      t2Reader.recover({ tenantId: "t1", endpointId: "ep1", since: timestampFromDate(new Date(T0)) }),
      t2Reader.redrive({ tenantId: "t1" }),
      t2Publisher.listAttempts({ tenantId: "t2" }),
    ]) {
      expect((await failure(call)).code).toBe(Code.PermissionDenied);
    }
    expect(await tasksAfterAMoment()).toEqual([]);
  });

  it("answers NOT_FOUND for another tenant's event or endpoint", async () => {
    expect((await failure(t2Reader.getEvent({ tenantId: "t2", eventId: "e01" }))).code).toBe(Code.NotFound);
    expect((await failure(admin.getEvent({ tenantId: "t1", eventId: "x1" }))).code).toBe(Code.NotFound);
    expect(
      (await failure(t2Reader.redeliver({ tenantId: "t2", eventId: "e01", endpointId: "ep9" }))).code,
    ).toBe(Code.NotFound);
    expect(
      (await failure(t2Reader.redeliver({ tenantId: "t2", eventId: "x1", endpointId: "ep1" }))).code,
    ).toBe(Code.NotFound);
    const since = timestampFromDate(new Date(T0));
    expect((await failure(t2Reader.recover({ tenantId: "t2", endpointId: "ep1", since }))).code).toBe(
      Code.NotFound,
    );
    expect((await failure(t2Reader.redrive({ tenantId: "t2", endpointId: "ep1" }))).code).toBe(Code.NotFound);
    expect((await t2Reader.listAttempts({ tenantId: "t2", eventId: "e01" })).attempts).toEqual([]);
    expect(await tasksAfterAMoment()).toEqual([]);
  });
});

describe("a deleted tenant", () => {
  it("is NOT_FOUND to every call from the deletion on, admins too, and its late records are dropped", async () => {
    const tenants = tenantsCollection(audit.db);
    const base = { name: "gone", create_time: new Date(T0) };
    await tenants.insertMany([
      testTenant("t-deleting", { ...base, delete_time: new Date() }),
      testTenant("t-purged", { ...base, delete_time: new Date(T0), purge_time: new Date(T0) }),
      testTenant("t-live", base),
    ]);
    await eventsCollection(audit.db).insertMany([
      event("t-deleting", "del1", 1, T0),
      event("t-live", "live1", 1, T0),
    ]);
    for (const tenantId of ["t-deleting", "t-purged"]) {
      for (const call of [
        () => admin.listAttempts({ tenantId }),
        () => admin.getEvent({ tenantId, eventId: "del1" }),
        () => admin.listEvents({ tenantId }),
        () => admin.redeliver({ tenantId, eventId: "del1", endpointId: "ep1" }),
        () => admin.recover({ tenantId, endpointId: "ep1", since: timestampFromDate(new Date(T0)) }),
        () => admin.redrive({ tenantId }),
      ]) {
        const err = await failure(call());
        expect(err.code).toBe(Code.NotFound);
        expect(err.message).toBe(`tenant "${tenantId}" not found`);
      }
      expect((await failure(t2Reader.listEvents({ tenantId }))).code).toBe(Code.PermissionDenied);
    }
    expect((await admin.listEvents({ tenantId: "t-live" })).events.map((e) => e.id)).toEqual(["live1"]);
    expect(await tasksAfterAMoment()).toEqual([]);

    // A record of the deleted tenant still queued is not written: the purge may have passed already.
    const ulidAt = (time: number, tail: string) => {
      let out = "";
      for (let i = 0, t = time; i < 10; i++, t = Math.floor(t / 32))
        out = "0123456789abcdefghjkmnpqrstvwxyz"[t % 32] + out;
      return `evt_${out}${tail.padStart(16, "0")}`;
    };
    const publisher = audit.auditRecords;
    const late = ulidAt(T0, "1");
    const live = ulidAt(T0, "2");
    await publisher.publish(
      create(AuditRecordSchema, attempt("t-deleting", late, "ep1", 1, DeliveryState.SUCCEEDED, T0)),
    );
    await publisher.publish(
      create(AuditRecordSchema, attempt("t-live", live, "ep1", 1, DeliveryState.SUCCEEDED, T0)),
    );
    await vi.waitFor(async () => expect(await delivery("t-live", live, "ep1")).not.toBeNull(), {
      timeout: 10_000,
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(await delivery("t-deleting", late, "ep1")).toBeNull();
    expect(await attemptsCollection(audit.db).countDocuments({ tenant_id: "t-deleting" })).toBe(0);
  });
});

async function tasksAfterAMoment(): Promise<DeliveryTask[]> {
  await new Promise((r) => setTimeout(r, 150));
  return [...tasks];
}

describe("ListEvents and GetEvent", () => {
  it("pages through events newest first without overlap or gap, over ties in create_time", async () => {
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await admin.listEvents({ tenantId: "t1", pageSize: 7, pageToken });
      expect(page.events.length).toBeLessThanOrEqual(7);
      seen.push(...page.events.map((e) => e.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => eventId(29 - i)));
  });

  it("filters events by type and creation time", async () => {
    const orders = await admin.listEvents({ tenantId: "t1", eventType: "order.created", pageSize: 100 });
    expect(orders.events).toHaveLength(15);
    expect(orders.events.every((e) => e.eventType === "order.created")).toBe(true);
    const window = await admin.listEvents({
      tenantId: "t1",
      startTime: timestampFromDate(new Date(T0 + 1_000)),
      endTime: timestampFromDate(new Date(T0 + 3_000)),
    });
    expect(window.events.map((e) => e.id)).toEqual(["e08", "e07", "e06", "e05", "e04", "e03"]);
  });

  it("returns an event with its exact payload and one delivery per endpoint", async () => {
    const answer = await admin.getEvent({ tenantId: "t1", eventId: "e05" });
    expect(answer.event).toMatchObject({
      id: "e05",
      tenantId: "t1",
      eventType: "user.created",
      channels: ["eu"],
      idempotencyKey: "idem-5",
      routed: false,
      endpointIds: [],
    });
    expect(answer.payload).toEqual(payloadOf(5));
    expect(answer.payloadValue && toJson(ValueSchema, answer.payloadValue)).toEqual({ n: 5, exact: "bytes" });
    expect(
      answer.deliveries.map((d) => [d.endpointId, d.state, d.attemptCount, d.lastResponseStatus]),
    ).toEqual([
      ["ep1", DeliveryState.FAILED, 1, 500],
      ["ep2", DeliveryState.DEAD, 3, 500],
    ]);
    expect(answer.deliveries[0]?.nextAttemptTime).toBeDefined();
    expect(answer.deliveries[1]?.nextAttemptTime).toBeUndefined();
  });

  it("answers a Connect JSON caller the payload as JSON beside its base64 bytes", async () => {
    const res = await fetch(`http://127.0.0.1:${audit.service.port}/herald.v1.AuditService/GetEvent`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TEST_ADMIN_KEY}` },
      body: JSON.stringify({ tenantId: "t1", eventId: "e05" }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { payload: string; payloadValue: unknown };
    expect(body.payloadValue).toEqual({ n: 5, exact: "bytes" });
    expect(Buffer.from(body.payload, "base64")).toEqual(Buffer.from(payloadOf(5)));
  });

  it("tells routed-to-nothing from not routed yet", async () => {
    await publishAll([
      { record: { case: "routing", value: { tenantId: "t1", eventId: "e07", endpointIds: [] } } },
      { record: { case: "routing", value: { tenantId: "t1", eventId: "e08", endpointIds: ["ep1", "ep2"] } } },
    ]);
    await vi.waitFor(async () => {
      expect((await admin.getEvent({ tenantId: "t1", eventId: "e07" })).event?.routed).toBe(true);
      expect((await admin.getEvent({ tenantId: "t1", eventId: "e08" })).event?.routed).toBe(true);
    });
    expect((await admin.getEvent({ tenantId: "t1", eventId: "e07" })).event?.endpointIds).toEqual([]);
    expect((await admin.getEvent({ tenantId: "t1", eventId: "e08" })).event?.endpointIds).toEqual([
      "ep1",
      "ep2",
    ]);
    const listed = await admin.listEvents({
      tenantId: "t1",
      startTime: timestampFromDate(new Date(T0 + 2_000)),
      endTime: timestampFromDate(new Date(T0 + 3_000)),
    });
    expect(listed.events.map((e) => [e.id, e.routed, e.endpointIds])).toEqual([
      ["e08", true, ["ep1", "ep2"]],
      ["e07", true, []],
      ["e06", false, []],
    ]);
  });

  it("lists a routed delivery as PENDING until its first attempt, then with the attempt's state", async () => {
    await eventsCollection(audit.db).insertOne(event("t4", "p01", 1, T0));
    await publishAll([
      { record: { case: "routing", value: { tenantId: "t4", eventId: "p01", endpointIds: ["ep2", "ep1"] } } },
    ]);
    const states = async () =>
      (await admin.getEvent({ tenantId: "t4", eventId: "p01" })).deliveries.map((d) => [
        d.endpointId,
        d.state,
        d.attemptCount,
      ]);
    await vi.waitFor(async () =>
      expect(await states()).toEqual([
        ["ep1", DeliveryState.PENDING, 0],
        ["ep2", DeliveryState.PENDING, 0],
      ]),
    );
    await publishAll([attempt("t4", "p01", "ep2", 1, DeliveryState.SUCCEEDED, T0 + 1_000)]);
    await vi.waitFor(async () =>
      expect(await states()).toEqual([
        ["ep1", DeliveryState.PENDING, 0],
        ["ep2", DeliveryState.SUCCEEDED, 1],
      ]),
    );
  });

  it("refuses bad input, naming the field", async () => {
    expect(await failure(admin.getEvent({ tenantId: "t1" }))).toMatchObject({
      code: Code.InvalidArgument,
      message: "event_id: required",
    });
    expect(await failure(admin.listEvents({ tenantId: "t1", pageToken: "nope" }))).toMatchObject({
      code: Code.InvalidArgument,
      message: expect.stringContaining("page_token"),
    });
  });
});

describe("Redeliver", () => {
  it("publishes a manual task for the next attempt, marks the delivery PENDING, and follows the attempt", async () => {
    const before = Date.now();
    await admin.redeliver({ tenantId: "t1", eventId: "e03", endpointId: "ep1" });
    const [task] = await receivedTasks(1);
    expect(task).toMatchObject({
      eventId: "e03",
      tenantId: "t1",
      endpointId: "ep1",
      eventType: "user.created",
      attempt: 2,
      trigger: AttemptTrigger.MANUAL,
    });
    expect(new Uint8Array(task?.payload ?? [])).toEqual(payloadOf(3));
    expect(timestampDate(task?.eventTime ?? timestampFromDate(new Date(0))).getTime()).toBe(T0 + 1_000);
    expect(timestampDate(task?.dueTime ?? timestampFromDate(new Date(0))).getTime()).toBeGreaterThanOrEqual(
      before - 1,
    );
    expect(await delivery("t1", "e03", "ep1")).toMatchObject({
      state: DeliveryState.PENDING,
      attempt_count: 1,
    });

    // The manual attempt comes back: the delivery follows it; a late copy of the first attempt does not move it.
    await publishAll([
      attempt("t1", "e03", "ep1", 2, DeliveryState.SUCCEEDED, Date.now(), AttemptTrigger.MANUAL),
    ]);
    await vi.waitFor(async () =>
      expect(await delivery("t1", "e03", "ep1")).toMatchObject({
        state: DeliveryState.SUCCEEDED,
        attempt_count: 2,
      }),
    );
  });

  it("redelivers to an endpoint the event never went to, as attempt 1", async () => {
    await endpointsCollection(audit.db).insertOne(endpoint("t1", "ep3"));
    await admin.redeliver({ tenantId: "t1", eventId: "e10", endpointId: "ep3" });
    const [task] = await receivedTasks(1);
    expect(task).toMatchObject({ eventId: "e10", endpointId: "ep3", attempt: 1 });
    expect(await delivery("t1", "e10", "ep3")).toMatchObject({
      tenant_id: "t1",
      event_id: "e10",
      endpoint_id: "ep3",
      state: DeliveryState.PENDING,
      attempt_count: 0,
    });
  });

  it("refuses bad input, naming the field", async () => {
    expect(await failure(admin.redeliver({ tenantId: "t1", eventId: "e01" }))).toMatchObject({
      code: Code.InvalidArgument,
      message: "endpoint_id: required",
    });
    expect(
      (await failure(admin.redeliver({ tenantId: "t1", eventId: "nope", endpointId: "ep1" }))).code,
    ).toBe(Code.NotFound);
  });
});

describe("Recover", () => {
  it("republishes the FAILED and DEAD deliveries of an endpoint in the window, once", async () => {
    // Nothing failed on ep1 after this.
    const late = await admin.recover({
      tenantId: "t1",
      endpointId: "ep1",
      since: timestampFromDate(new Date(T0 + 3_600_000 + 60_000)),
    });
    expect(late).toMatchObject({ requeued: 0, truncated: false });

    const since = timestampFromDate(new Date(T0));
    const first = await admin.recover({ tenantId: "t1", endpointId: "ep1", since });
    // 20 failed on ep1, none dead; e03 succeeded on redelivery above.
    expect(first).toMatchObject({ requeued: 20, truncated: false });
    const received = await receivedTasks(20);
    expect(
      received.every((t) => t.endpointId === "ep1" && t.attempt === 2 && t.trigger === AttemptTrigger.MANUAL),
    ).toBe(true);
    expect(new Set(received.map((t) => t.eventId)).size).toBe(20);
    expect(received.some((t) => t.eventId === "e00" || t.eventId === "e03")).toBe(false);
    expect(
      await deliveriesCollection(audit.db).countDocuments({
        endpoint_id: "ep1",
        state: DeliveryState.PENDING,
      }),
    ).toBe(20);
    expect(await admin.recover({ tenantId: "t1", endpointId: "ep1", since })).toMatchObject({ requeued: 0 });
  });

  it("refuses bad input, naming the field", async () => {
    expect(await failure(admin.recover({ tenantId: "t1", endpointId: "ep1" }))).toMatchObject({
      code: Code.InvalidArgument,
      message: "since: required",
    });
    const since = timestampFromDate(new Date(T0 + 10_000));
    expect(
      await failure(
        admin.recover({ tenantId: "t1", endpointId: "ep1", since, until: timestampFromDate(new Date(T0)) }),
      ),
    ).toMatchObject({ code: Code.InvalidArgument, message: expect.stringMatching(/^until: /) });
    expect(await failure(admin.recover({ tenantId: "t1", since }))).toMatchObject({
      code: Code.InvalidArgument,
      message: "endpoint_id: required",
    });
  });
});

describe("Redrive", () => {
  it("republishes the DEAD deliveries of an endpoint, or of a whole tenant", async () => {
    expect(await admin.redrive({ tenantId: "t1", endpointId: "ep1" })).toMatchObject({ requeued: 0 });
    expect(await admin.redrive({ tenantId: "t1", endpointId: "ep2" })).toMatchObject({
      requeued: 30,
      truncated: false,
    });
    const received = await receivedTasks(30);
    expect(received.every((t) => t.endpointId === "ep2" && t.attempt === 4 && t.tenantId === "t1")).toBe(
      true,
    );
    expect(await admin.redrive({ tenantId: "t1" })).toMatchObject({ requeued: 0 });

    tasks.length = 0;
    expect(await t2Reader.redrive({ tenantId: "t2" })).toMatchObject({ requeued: 1, truncated: false });
    expect((await receivedTasks(1))[0]).toMatchObject({ eventId: "x1", endpointId: "ep9", tenantId: "t2" });
  });

  it("stops at the replay limit per call and says so", async () => {
    const count = REPLAY_LIMIT + 1;
    const ids = Array.from({ length: count }, (_, i) => `bulk-${String(i).padStart(4, "0")}`);
    await endpointsCollection(audit.db).insertOne(endpoint("t3", "ep-bulk"));
    await eventsCollection(audit.db).insertMany(ids.map((id, i) => event("t3", id, i, T0)));
    await deliveriesCollection(audit.db).insertMany(
      ids.map((id, i) => ({
        _id: `${id}:ep-bulk`,
        tenant_id: "t3",
        event_id: id,
        endpoint_id: "ep-bulk",
        state: DeliveryState.DEAD,
        attempt_count: 5,
        last_attempt_number: 5,
        last_attempt_time: new Date(T0 + i),
        last_response_status: 500,
        update_time: new Date(T0),
        version: 0,
      })),
    );
    expect(await admin.redrive({ tenantId: "t3" })).toMatchObject({
      requeued: REPLAY_LIMIT,
      truncated: true,
    });
    await receivedTasks(REPLAY_LIMIT);
    tasks.length = 0;
    expect(await admin.redrive({ tenantId: "t3" })).toMatchObject({ requeued: 1, truncated: false });
    // Oldest attempts go first, so the last call gets the newest.
    expect((await receivedTasks(1))[0]).toMatchObject({ eventId: ids[REPLAY_LIMIT], attempt: 6 });
  });
});
