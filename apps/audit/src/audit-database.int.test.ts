import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AuditRecordSchema, DeliveryState } from "@herald/contracts";
import { eventsCollection } from "@herald/platform/model";
import { TEST_ADMIN_KEY, testEnv } from "@herald/platform/testing";
import { Binary, type Db } from "mongodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type AuditUnderTest, auditClient, startAudit } from "./audit.test-support.js";
import { attemptsCollection, deliveriesCollection } from "./documents.js";

// Audit's own collections in a database of their own (AUDIT_MONGO_DB), events in MONGO_DB.
const base = testEnv({ AUDIT_BATCH_DELAY_MS: "10" });
const auditDbName = `${base.MONGO_DB}_audit`;
const env: Record<string, string> = { ...base, AUDIT_MONGO_DB: auditDbName };
let auditDb: Db;

let audit: AuditUnderTest;

beforeAll(async () => {
  audit = await startAudit(env);
  auditDb = audit.mongo.db(auditDbName);
});

// Drops both databases.
afterAll(() => audit?.stop());

describe("AUDIT_MONGO_DB", () => {
  it("holds attempts and deliveries, with their indexes, while events are read from MONGO_DB", async () => {
    await eventsCollection(audit.db).insertOne({
      _id: "evt_own_db",
      tenant_id: "t1",
      event_type: "order.created",
      payload: new Binary(new TextEncoder().encode('{"n":1}')),
      channels: [],
      dedupe_key: "evt_own_db",
      create_time: new Date(),
      published: true,
    });
    // ep1's first attempt is accepted (its status is the attempt), ep2's fails (a delivery document).
    const attempt = (endpointId: string, success: boolean) =>
      create(AuditRecordSchema, {
        record: {
          case: "attempt",
          value: {
            id: `evt_own_db-${endpointId}-1`,
            tenantId: "t1",
            eventId: "evt_own_db",
            endpointId,
            attemptNumber: 1,
            attemptTime: timestampFromDate(new Date()),
            success,
            responseStatus: success ? 204 : 500,
            ...(success ? {} : { nextAttemptTime: timestampFromDate(new Date(Date.now() + 60_000)) }),
          },
        },
        state: success ? DeliveryState.SUCCEEDED : DeliveryState.FAILED,
      });
    await audit.auditRecords.publish(attempt("ep1", true));
    await audit.auditRecords.publish(attempt("ep2", false));
    await vi.waitFor(async () => {
      expect(await attemptsCollection(auditDb).countDocuments({})).toBe(2);
      expect(await deliveriesCollection(auditDb).countDocuments({})).toBe(1);
    });
    expect(await attemptsCollection(audit.db).countDocuments({})).toBe(0);
    expect(await deliveriesCollection(audit.db).countDocuments({})).toBe(0);
    expect((await auditDb.collection("attempts").indexes()).map((i) => i.key)).toContainEqual({
      tenant_id: 1,
      attempt_time: -1,
      _id: -1,
    });

    const answer = await auditClient(audit.service.port, TEST_ADMIN_KEY).getEvent({
      tenantId: "t1",
      eventId: "evt_own_db",
    });
    expect(answer.event?.id).toBe("evt_own_db");
    expect(answer.deliveries.map((d) => [d.endpointId, d.state])).toEqual([
      ["ep1", DeliveryState.SUCCEEDED],
      ["ep2", DeliveryState.FAILED],
    ]);
  });
});
