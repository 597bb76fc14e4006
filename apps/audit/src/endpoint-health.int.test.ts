import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import {
  AuditRecordSchema,
  type AuditService,
  CircuitState,
  DeliveryState,
  ErrorClass,
  Scope,
} from "@herald/contracts";
import { endpointsCollection, tenantsCollection } from "@herald/platform/model";
import { TEST_ADMIN_KEY, testEndpoint, testEnv, testTenant } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type AuditUnderTest, auditClient, startAudit, tenantAuditClient } from "./audit.test-support.js";
import { attemptsCollection, deliveriesCollection } from "./documents.js";
import { LATENCY_RELATIVE_ERROR } from "./endpoint-health.js";
import { endpointHealthCollection } from "./endpoint-health-store.js";

// Rollups written 20 ms after their attempts, so that the duplicates' wait below sees them counted.
const env = testEnv({
  AUDIT_BATCH_DELAY_MS: "10",
  HEALTH_BACKLOG_INTERVAL: "200ms",
  HEALTH_ROLLUP_INTERVAL: "20ms",
});
let audit: AuditUnderTest;
let admin: Client<typeof AuditService>;
let t2Reader: Client<typeof AuditService>;
const START = Date.now();
const minutesAgo = (m: number) => START - m * 60_000;

type RecordInit = MessageInitShape<typeof AuditRecordSchema>;

function attempt(
  id: string,
  endpointId: string,
  at: number,
  outcome: { status: number; errorClass: ErrorClass; latencyMs: number },
): RecordInit {
  const success = outcome.errorClass === ErrorClass.NONE;
  return {
    state: success ? DeliveryState.SUCCEEDED : DeliveryState.FAILED,
    record: {
      case: "attempt",
      value: {
        id,
        tenantId: "t1",
        eventId: `ev-${id}`,
        endpointId,
        attemptNumber: 1,
        success,
        responseStatus: outcome.status,
        latencyMs: outcome.latencyMs,
        errorClass: outcome.errorClass,
        attemptTime: timestampFromDate(new Date(at)),
        nextAttemptTime: success ? undefined : timestampFromDate(new Date(at + 3_600_000)),
      },
    },
  };
}

// Endpoint ep1 of tenant t1, within the last hour: 20 successes (latencies 10, 20, … 200 ms), 3 answers
// 503 and 2 timeouts (latency 1000 ms); 3 to 20 hours ago: 4 answers 404; 2 to 6 days ago: 6
// successes; 9 days ago, outside every window: 5 successes. Every record is published twice, as a
// redelivered message would be.
const records: RecordInit[] = [];
const ok = (latencyMs: number) => ({ status: 200, errorClass: ErrorClass.NONE, latencyMs });
for (let i = 1; i <= 20; i++) records.push(attempt(`ok${i}`, "ep1", minutesAgo(1 + i), ok(i * 10)));
for (let i = 0; i < 3; i++)
  records.push(
    attempt(`s5${i}`, "ep1", minutesAgo(30 + i), {
      status: 503,
      errorClass: ErrorClass.HTTP_STATUS,
      latencyMs: 1000,
    }),
  );
for (let i = 0; i < 2; i++)
  records.push(
    attempt(`to${i}`, "ep1", minutesAgo(40 + i), {
      status: 0,
      errorClass: ErrorClass.TIMEOUT,
      latencyMs: 1000,
    }),
  );
for (let i = 0; i < 4; i++)
  records.push(
    attempt(`nf${i}`, "ep1", minutesAgo(180 + i * 300), {
      status: 404,
      errorClass: ErrorClass.HTTP_STATUS,
      latencyMs: 30,
    }),
  );
for (let i = 0; i < 6; i++) records.push(attempt(`old${i}`, "ep1", minutesAgo(2 * 1440 + i * 960), ok(40)));
for (let i = 0; i < 5; i++) records.push(attempt(`gone${i}`, "ep1", minutesAgo(9 * 1440 + i), ok(40)));

beforeAll(async () => {
  audit = await startAudit(env);
  admin = auditClient(audit.service.port, TEST_ADMIN_KEY);
  t2Reader = await tenantAuditClient(audit, "t2", [Scope.AUDIT_READ]);
  // The background backlog count walks the tenants collection, as it holds every live tenant.
  await tenantsCollection(audit.db).insertMany([
    testTenant("t1", { name: "health", create_time: new Date() }),
    testTenant("t2", { name: "health", create_time: new Date() }),
  ]);
  await endpointsCollection(audit.db).insertMany([
    testEndpoint({ _id: "ep1", tenant_id: "t1", create_time: new Date() }),
    testEndpoint({ _id: "ep-idle", tenant_id: "t1", create_time: new Date() }),
    testEndpoint({ _id: "ep9", tenant_id: "t2", create_time: new Date() }),
  ]);
  for (const copy of [1, 2]) {
    await Promise.all(records.map((r) => audit.auditRecords.publish(create(AuditRecordSchema, r))));
    await vi.waitFor(
      async () => expect(await attemptsCollection(audit.db).countDocuments({})).toBe(records.length),
      { timeout: 15_000, interval: 50 },
    );
    // The second copy is written as duplicates; give the writer time to (not) count them.
    if (copy === 2) await new Promise((r) => setTimeout(r, 300));
  }
});

afterAll(async () => {
  await audit?.stop();
});

async function failure(call: Promise<unknown>): Promise<Code> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err).code;
  }
  throw new Error("the call succeeded");
}

describe("GetEndpointHealth", () => {
  it("reports the exact counts of each window, and percentiles within the sketch's bound", async () => {
    const { health } = await admin.getEndpointHealth({ tenantId: "t1", endpointId: "ep1" });
    const [hour, day, week] = health?.windows ?? [];
    expect(hour).toMatchObject({ attempts: 25n, succeeded: 20n, failed: 5n, successRate: 20 / 25 });
    expect(hour?.statusClasses).toMatchObject({
      status2xx: 20n,
      status5xx: 3n,
      noResponse: 2n,
      status4xx: 0n,
    });
    expect(hour?.failures.map((f) => [f.errorClass, f.count])).toEqual([
      [ErrorClass.HTTP_STATUS, 3n],
      [ErrorClass.TIMEOUT, 2n],
    ]);
    expect(day).toMatchObject({ attempts: 29n, succeeded: 20n, failed: 9n });
    expect(day?.statusClasses?.status4xx).toBe(4n);
    expect(week).toMatchObject({ attempts: 35n, succeeded: 26n, failed: 9n });
    // Latencies of the last hour, sorted: 10 … 200 (20 of them), then 1000 × 5. Nearest rank of 25:
    // p50 is the 13th (130), p95 the 24th and p99 the 25th (1000).
    const within = (reported: number, exact: number) =>
      expect(Math.abs(reported - exact)).toBeLessThanOrEqual(exact * LATENCY_RELATIVE_ERROR + 1);
    within(hour?.latencyP50Ms ?? 0, 130);
    within(hour?.latencyP95Ms ?? 0, 1000);
    within(hour?.latencyP99Ms ?? 0, 1000);
    expect(health?.latencyRelativeError).toBeCloseTo(LATENCY_RELATIVE_ERROR, 6);
    expect(health?.circuitState).toBe(CircuitState.CLOSED);
    expect(Number(health?.lastSuccessTime?.seconds)).toBe(Math.floor(minutesAgo(2) / 1000));
    expect(Number(health?.lastFailureTime?.seconds)).toBe(Math.floor(minutesAgo(30) / 1000));
  });

  it("counts the backlog in the background, and an emptied one as 0", async () => {
    // Every failure was its delivery's last attempt, with a retry due.
    const backlog = async () => (await admin.getEndpointHealth({ tenantId: "t1", endpointId: "ep1" })).health;
    await vi.waitFor(async () => expect((await backlog())?.backlog).toBe(9n), {
      timeout: 5_000,
      interval: 100,
    });
    expect((await backlog())?.backlogTime).toBeDefined();
    await deliveriesCollection(audit.db).updateMany(
      { endpoint_id: "ep1" },
      { $set: { state: DeliveryState.SUCCEEDED } },
    );
    await vi.waitFor(async () => expect((await backlog())?.backlog).toBe(0n), {
      timeout: 5_000,
      interval: 100,
    });
  });

  it("keeps two rollups per endpoint and touched bucket, not one per attempt", async () => {
    const rollups = await endpointHealthCollection(audit.db).find({ endpoint_id: "ep1" }).toArray();
    expect(rollups.length).toBeLessThan(records.length * 2);
    expect(rollups.every((r) => r.tenant_id === "t1")).toBe(true);
  });

  it("answers an endpoint without attempts with zeros and an unknown circuit", async () => {
    const { health } = await admin.getEndpointHealth({ tenantId: "t1", endpointId: "ep-idle" });
    expect(health?.windows.map((w) => w.attempts)).toEqual([0n, 0n, 0n]);
    expect(health?.circuitState).toBe(CircuitState.UNKNOWN);
    expect(health?.lastSuccessTime).toBeUndefined();
  });

  it("refuses another tenant's endpoint and keys of another tenant", async () => {
    expect(await failure(admin.getEndpointHealth({ tenantId: "t2", endpointId: "ep1" }))).toBe(Code.NotFound);
    expect(await failure(t2Reader.getEndpointHealth({ tenantId: "t1", endpointId: "ep1" }))).toBe(
      Code.PermissionDenied,
    );
    const { health } = await t2Reader.getEndpointHealth({ tenantId: "t2", endpointId: "ep9" });
    expect(health?.windows[2]?.attempts).toBe(0n);
  });

  it("lists every endpoint's health of a tenant, a page at a time", async () => {
    const first = await admin.listEndpointHealth({ tenantId: "t1", pageSize: 1 });
    expect(first.endpoints.map((e) => e.endpointId)).toEqual(["ep-idle"]);
    expect(first.nextPageToken).not.toBe("");
    const second = await admin.listEndpointHealth({
      tenantId: "t1",
      pageSize: 1,
      pageToken: first.nextPageToken,
    });
    expect(second.endpoints.map((e) => e.endpointId)).toEqual(["ep1"]);
    expect(second.endpoints[0]?.windows[0]?.attempts).toBe(25n);
    expect(second.nextPageToken).toBe("");
    expect(await failure(admin.listEndpointHealth({ tenantId: "t1", pageToken: "nope" }))).toBe(
      Code.InvalidArgument,
    );
    expect(await failure(admin.listEndpointHealth({ tenantId: "t2", pageToken: first.nextPageToken }))).toBe(
      Code.InvalidArgument,
    );
    expect(await failure(t2Reader.listEndpointHealth({ tenantId: "t1" }))).toBe(Code.PermissionDenied);
    const own = await t2Reader.listEndpointHealth({ tenantId: "t2" });
    expect(own.endpoints.map((e) => e.endpointId)).toEqual(["ep9"]);
  });

  it("rejects missing ids and unknown endpoints", async () => {
    expect(await failure(admin.getEndpointHealth({ tenantId: "", endpointId: "ep1" }))).toBe(
      Code.InvalidArgument,
    );
    expect(await failure(admin.getEndpointHealth({ tenantId: "t1", endpointId: "" }))).toBe(
      Code.InvalidArgument,
    );
    expect(await failure(admin.getEndpointHealth({ tenantId: "t1", endpointId: "nope" }))).toBe(
      Code.NotFound,
    );
  });
});
