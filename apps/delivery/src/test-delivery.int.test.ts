import http from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Attempt,
  AttemptTrigger,
  type AuditRecord,
  AuditRecordBatchSchema,
  DeliveryTaskSchema,
  ErrorClass,
  type TestDeliveryReply,
  TestDeliveryReplySchema,
} from "@herald/contracts";
import { createLogger, type RunningService, runService, topologyNames } from "@herald/platform";
import {
  type EndpointDocument,
  endpointsCollection,
  NoResponderError,
  ReplyTimeoutError,
  SecretBox,
  sealHeaders,
  serveTestDeliveries,
  tenantsCollection,
  testDeliveryClient,
} from "@herald/platform/model";
import {
  cleanupTestEnv,
  receiveMessages,
  TEST_SECRET_KEYS,
  testEndpoint,
  testEnv,
  testTenant,
} from "@herald/platform/testing";
import { MongoClient } from "mongodb";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveryService } from "./service.js";
import { TEST_HEADER } from "./test-delivery.js";

// Test deliveries over delivery.tests on real RabbitMQ and the MongoDB wire server: the delivery service
// answers the request routing sends (the same client) with the attempt, records it with trigger TEST,
// and the client fails fast when no delivery runs and in time when one does not answer.
const env = testEnv({ HERALD_URL_ALLOWLIST: "127.0.0.1/32", DELIVERY_TIMEOUT_MS: "1000" });
const names = topologyNames(env.AMQP_NAMESPACE);
const box = new SecretBox(TEST_SECRET_KEYS);
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TOKEN = "Bearer receiver-token-0123456789";
let delivery: RunningService | undefined;
let mongo: MongoClient;
let rabbit: Connection;
let receiver: http.Server;
let base: string;
const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];

function endpoint(id: string, url: string): EndpointDocument {
  const now = new Date(Date.now() - 60_000);
  return testEndpoint({
    _id: id,
    url,
    ...sealHeaders({ authorization: TOKEN }, box),
    // A disabled endpoint still takes tests: checking a receiver before enabling it is what they are for.
    disabled: id === "ep_disabled",
    secrets: [{ id: "s1", sealed: box.seal(SECRET), create_time: now }],
    create_time: now,
  });
}

function testTask(endpointId: string, deadlineMs = 10_000) {
  return create(DeliveryTaskSchema, {
    eventId: `evt_test_${endpointId}_${Date.now()}`,
    tenantId: "t1",
    endpointId,
    eventType: "order.created",
    payload: new TextEncoder().encode('{"id":1}'),
    attempt: 1,
    eventTime: timestampFromDate(new Date()),
    trigger: AttemptTrigger.TEST,
    replyDeadline: timestampFromDate(new Date(Date.now() + deadlineMs)),
  });
}

function attemptOf(reply: TestDeliveryReply): Attempt {
  if (reply.outcome.case !== "attempt") throw new Error(`no attempt: ${reply.outcome.value}`);
  return reply.outcome.value;
}

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url === "/hang") return; // answers never: the delivery times out
      res.writeHead(202, { "x-receiver": "yes", "x-echo": String(req.headers.authorization) }).end("queued");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  mongo = await new MongoClient(env.MONGO_URL as string).connect();
  const db = mongo.db(env.MONGO_DB);
  const now = new Date(Date.now() - 60_000);
  const tenant = testTenant("t1", { create_time: now });
  await tenantsCollection(db).insertOne(tenant);
  await endpointsCollection(db).insertMany([
    endpoint("ep_ok", `${base}/in`),
    endpoint("ep_disabled", `${base}/in`),
    endpoint("ep_hang", `${base}/hang`),
    // Nothing listens on port 9 of 127.0.0.1: the connection is refused.
    endpoint("ep_refused", "http://127.0.0.1:9/in"),
    // Not on the allowlist: the URL policy blocks it before any byte is sent.
    endpoint("ep_blocked", "http://127.0.0.2:8080/in"),
  ]);
  rabbit = new Connection(env.AMQP_URL);
  delivery = await runService(deliveryService, env);
  // The service is up before its consumers are: wait for the one of delivery.tests.
  for (let i = 0; i < 100; i++) {
    const { consumerCount } = await rabbit.queueDeclare({ queue: names.queues.deliveryTests, passive: true });
    if (consumerCount > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);

afterAll(async () => {
  await delivery?.stop();
  await rabbit?.close();
  await mongo?.close();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
  await cleanupTestEnv(env);
}, 60_000);

describe("test deliveries over delivery.tests", () => {
  it("sends a signed test marked as one, answers with the attempt and records it with trigger TEST", async () => {
    const records = receiveMessages(
      rabbit,
      {
        names,
        queue: names.queues.auditAttempts,
        schema: AuditRecordBatchSchema,
        count: (b) => b.records.length,
      },
      1,
    );
    const client = testDeliveryClient({ rabbit, names }, 10_000);
    const task = testTask("ep_ok");
    const attempt = attemptOf(await client.request(task));
    await client.close();

    expect(attempt).toMatchObject({
      eventId: task.eventId,
      endpointId: "ep_ok",
      trigger: AttemptTrigger.TEST,
      success: true,
      responseStatus: 202,
      responseBody: "queued",
      errorClass: ErrorClass.NONE,
    });
    const headers = Object.fromEntries(attempt.responseHeaders.map((h) => [h.name, h.value]));
    expect(headers["x-receiver"]).toBe("yes");
    // The receiver echoed the endpoint's credential: the answer does not carry it.
    expect(headers["x-echo"]).toBe("[redacted]");

    const got = received.find((r) => r.headers["webhook-id"] === task.eventId);
    expect(got?.headers[TEST_HEADER]).toBe("true");
    expect(got?.headers["webhook-signature"]).toMatch(/^v1,/);
    expect(got?.body).toBe('{"id":1}');

    const [batch] = await records;
    const record = batch?.records[0] as AuditRecord;
    expect(record.record.value).toMatchObject({
      id: attempt.id,
      trigger: AttemptTrigger.TEST,
      success: true,
    });
  });

  it("answers a refused connection, a timeout and a blocked address as the attempt's error", async () => {
    const client = testDeliveryClient({ rabbit, names }, 10_000);
    const refused = attemptOf(await client.request(testTask("ep_refused")));
    expect(refused).toMatchObject({ success: false, responseStatus: 0, errorClass: ErrorClass.CONNECTION });
    const late = attemptOf(await client.request(testTask("ep_hang")));
    expect(late).toMatchObject({ success: false, errorClass: ErrorClass.TIMEOUT });
    const blocked = attemptOf(await client.request(testTask("ep_blocked")));
    expect(blocked).toMatchObject({ success: false, errorClass: ErrorClass.BLOCKED });
    expect(blocked.errorMessage).toMatch(/127\.0\.0\.2 is not allowed/);
    const disabled = attemptOf(await client.request(testTask("ep_disabled")));
    expect(disabled.success).toBe(true);
    await client.close();
  });

  it("refuses a test of an endpoint that does not exist, or of another tenant's", async () => {
    const client = testDeliveryClient({ rabbit, names }, 10_000);
    const missing = await client.request(testTask("ep_missing"));
    expect(missing.outcome).toEqual({ case: "refused", value: expect.stringContaining("no longer exists") });
    const foreign = await client.request(
      create(DeliveryTaskSchema, { ...testTask("ep_ok"), tenantId: "t2" }),
    );
    expect(foreign.outcome.case).toBe("refused");
    await client.close();
  });

  it("times out when a consumer takes the request but never answers", async () => {
    // A stand-in that consumes delivery.tests but answers too late, as an overloaded instance would.
    const stuck = serveTestDeliveries(
      { rabbit, names, logger: createLogger({ service: "test", level: "silent" }) },
      {
        concurrency: 1,
        handle: () =>
          new Promise((resolve) => setTimeout(() => resolve(create(TestDeliveryReplySchema)), 2_000)),
      },
    );
    await new Promise((resolve) => stuck.once("ready", resolve));
    await delivery?.stop();
    delivery = undefined;
    const client = testDeliveryClient({ rabbit, names }, 1_000);
    await expect(client.request(testTask("ep_ok"))).rejects.toBeInstanceOf(ReplyTimeoutError);
    await client.close();
    await stuck.close();
  });

  it("fails at once when no delivery instance consumes the queue", async () => {
    const client = testDeliveryClient({ rabbit, names }, 10_000);
    await expect(client.request(testTask("ep_ok"))).rejects.toBeInstanceOf(NoResponderError);
    await client.close();
  });
});
