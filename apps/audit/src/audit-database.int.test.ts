import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AuditRecordSchema, DeliveryState } from "@herald/contracts";
import {
  AuditRecordPublisher,
  eventsCollection,
  ProtoPublisher,
  type RunningService,
  runService,
  topologyNames,
} from "@herald/platform";
import { cleanupTestEnv, TEST_ADMIN_KEY, testEnv } from "@herald/platform/testing";
import { Binary, type Db, MongoClient } from "mongodb";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { auditClient } from "./audit-client.test-support.js";
import { attemptsCollection, deliveriesCollection } from "./documents.js";
import { auditService } from "./service.js";

// Audit's own collections in a database of their own (AUDIT_MONGO_DB), events in MONGO_DB.
const base = testEnv({ AUDIT_BATCH_DELAY_MS: "10" });
const auditDbName = `${base.MONGO_DB}_audit`;
const env: Record<string, string> = { ...base, AUDIT_MONGO_DB: auditDbName };
const names = topologyNames(env.AMQP_NAMESPACE);
let service: RunningService;
let mongo: MongoClient;
let db: Db;
let auditDb: Db;
let rabbit: Connection;
let publisher: ProtoPublisher;

beforeAll(async () => {
  service = await runService(auditService, env);
  mongo = new MongoClient(env.MONGO_URL as string);
  db = mongo.db(env.MONGO_DB);
  auditDb = mongo.db(auditDbName);
  rabbit = new Connection(env.AMQP_URL);
  publisher = new ProtoPublisher(rabbit);
});

afterAll(async () => {
  await service?.stop();
  await publisher?.close();
  await rabbit?.close();
  await mongo?.close();
  // Drops both databases.
  await cleanupTestEnv(env);
});

describe("AUDIT_MONGO_DB", () => {
  it("holds attempts and deliveries, with their indexes, while events are read from MONGO_DB", async () => {
    await eventsCollection(db).insertOne({
      _id: "evt_own_db",
      tenant_id: "t1",
      event_type: "order.created",
      payload: new Binary(new TextEncoder().encode('{"n":1}')),
      channels: [],
      dedupe_key: "evt_own_db",
      create_time: new Date(),
      published: true,
    });
    await new AuditRecordPublisher(publisher, names).publish(
      create(AuditRecordSchema, {
        record: {
          case: "attempt",
          value: {
            id: "evt_own_db-ep1-1",
            tenantId: "t1",
            eventId: "evt_own_db",
            endpointId: "ep1",
            attemptNumber: 1,
            attemptTime: timestampFromDate(new Date()),
            success: true,
            responseStatus: 204,
          },
        },
        state: DeliveryState.SUCCEEDED,
      }),
    );
    await vi.waitFor(async () => expect(await attemptsCollection(auditDb).countDocuments({})).toBe(1));
    expect(await deliveriesCollection(auditDb).countDocuments({})).toBe(1);
    expect(await attemptsCollection(db).countDocuments({})).toBe(0);
    expect(await deliveriesCollection(db).countDocuments({})).toBe(0);
    expect((await auditDb.collection("attempts").indexes()).map((i) => i.key)).toContainEqual({
      tenant_id: 1,
      attempt_time: -1,
      _id: -1,
    });

    const answer = await auditClient(service.port, TEST_ADMIN_KEY).getEvent({
      tenantId: "t1",
      eventId: "evt_own_db",
    });
    expect(answer.event?.id).toBe("evt_own_db");
    expect(answer.deliveries.map((d) => [d.endpointId, d.state])).toEqual([["ep1", DeliveryState.SUCCEEDED]]);
  });
});
