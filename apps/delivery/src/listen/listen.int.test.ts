import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  type Attempt,
  DeliveryState,
  DeliveryTaskSchema,
  ErrorClass,
  type ListenDelivery,
  ListenService,
  Scope,
} from "@herald/contracts";
import {
  createLogger,
  openQueue,
  ProtoPublisher,
  type RunningService,
  runService,
  topologyNames,
} from "@herald/platform";
import {
  apiKeysCollection,
  auditRecordQueue,
  endpointsCollection,
  generateApiKey,
  listenQueueArguments,
  listenUrl,
  publishControlChange,
  SecretBox,
  taskQueue,
  tenantsCollection,
} from "@herald/platform/model";
import {
  cleanupTestEnv,
  TEST_SECRET_KEYS,
  testEndpoint,
  testEnv,
  testTenant,
} from "@herald/platform/testing";
import { MongoClient } from "mongodb";
import type { Logger } from "pino";
import { Connection, type Consumer } from "rabbitmq-client";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { deliveryService } from "../service.js";
import { ListenQueues } from "./listen-queues.js";

// The Listen stream against real RabbitMQ and the MongoDB wire server, with two delivery instances:
// tasks of a listen endpoint reach the stream whichever instance consumed them, a report sent to the
// other instance settles the attempt, an unreported delivery fails and comes again, and deliveries
// wait in the endpoint's queue while no stream is open. The endpoint's queue goes with the endpoint (or
// its tenant), and one declared with other arguments is kept, tasks and all.

const env = testEnv({ RETRY_TIERS: "1s", LISTEN_REPORT_TIMEOUT: "2s" });
const names = topologyNames(env.AMQP_NAMESPACE);
const SECRET = `whsec_${Buffer.alloc(32, 3).toString("base64")}`;
const ENDPOINT = "ep_listen1";

let instances: RunningService[] = [];
let mongo: MongoClient;
let rabbit: Connection;
let publisher: ProtoPublisher;
let acmeToken = "";
let acmeKeyId = "";
let otherAcmeToken = "";
let globexToken = "";
const attempts: Array<{ attempt: Attempt; state: DeliveryState }> = [];
let eventCount = 0;
let auditConsumer: Consumer | undefined;

function client(instance: number, token: string) {
  return createClient(
    ListenService,
    createConnectTransport({
      baseUrl: `http://127.0.0.1:${instances[instance]?.port}`,
      httpVersion: "1.1",
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${token}`);
          return next(req);
        },
      ],
    }),
  );
}

/** An open stream: its deliveries as they come, and a way to hang up. */
interface OpenStream {
  deliveries: ListenDelivery[];
  next(timeoutMs?: number): Promise<ListenDelivery>;
  close(): void;
}

async function openStream(instance: number, token = acmeToken): Promise<OpenStream> {
  const abort = new AbortController();
  const deliveries: ListenDelivery[] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  let ready: () => void = () => undefined;
  let refused: (err: unknown) => void = () => undefined;
  const isReady = new Promise<void>((resolve, reject) => {
    ready = resolve;
    refused = reject;
  });
  void (async () => {
    try {
      for await (const m of client(instance, token).listen(
        { tenantId: "acme", endpointId: ENDPOINT },
        { signal: abort.signal },
      )) {
        if (m.message.case === "ready") ready();
        if (m.message.case === "delivery") {
          deliveries.push(m.message.value);
          wake?.();
        }
      }
    } catch (err) {
      // Refused before ready; after, the stream hung up.
      refused(err);
    }
  })();
  await isReady;
  return {
    deliveries,
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (deliveries.length <= taken) {
        if (Date.now() > deadline) throw new Error("no delivery in time");
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      const delivery = deliveries[taken++];
      if (!delivery) throw new Error("no delivery");
      return delivery;
    },
    close: () => abort.abort(),
  };
}

async function publishTask(endpointId = ENDPOINT, tenantId = "acme"): Promise<string> {
  const eventId = `evt_${++eventCount}`;
  const tasks = openQueue(taskQueue, {
    rabbit,
    publisher,
    names,
    logger: createLogger({ service: "test", level: "silent" }),
  });
  await tasks.publishAlone(
    create(DeliveryTaskSchema, {
      eventId,
      tenantId,
      endpointId,
      eventType: "order.created",
      payload: new TextEncoder().encode(`{"n":${eventCount}}`),
      attempt: 1,
      eventTime: timestampFromDate(new Date()),
    }),
  );
  return eventId;
}

async function attemptsOf(
  eventId: string,
  count: number,
): Promise<Array<{ attempt: Attempt; state: DeliveryState }>> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const found = attempts.filter((a) => a.attempt.eventId === eventId);
    if (found.length >= count) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fewer than ${count} attempts of ${eventId}`);
}

beforeAll(async () => {
  mongo = new MongoClient(env.MONGO_URL as string);
  const db = mongo.db(env.MONGO_DB);
  const now = new Date(Date.now() - 60_000);
  const tenant = (id: string) => testTenant(id, { create_time: now });
  await tenantsCollection(db).insertMany([tenant("acme"), tenant("globex")]);
  const key = (tenantId: string) => {
    const generated = generateApiKey();
    return {
      token: generated.token,
      doc: {
        _id: generated.id,
        name: tenantId,
        tenant_id: tenantId,
        scopes: [Scope.ENDPOINTS_MANAGE],
        secret_hash: generated.secretHash,
        revoked: false,
        create_time: now,
      },
    };
  };
  const [acme, otherAcme, globex] = [key("acme"), key("acme"), key("globex")];
  await apiKeysCollection(db).insertMany([acme.doc, otherAcme.doc, globex.doc]);
  [acmeToken, otherAcmeToken, globexToken] = [acme.token, otherAcme.token, globex.token];
  acmeKeyId = acme.doc._id;
  await endpointsCollection(db).insertOne(
    testEndpoint({
      _id: ENDPOINT,
      tenant_id: "acme",
      url: listenUrl(ENDPOINT),
      listen: { key_id: acme.doc._id },
      listen_seen_time: new Date(),
      retry_schedule_ms: [1_000, 1_000, 1_000],
      secrets: [{ id: "sec_1", sealed: new SecretBox(TEST_SECRET_KEYS).seal(SECRET), create_time: now }],
      create_time: now,
    }),
  );
  instances = [await runService(deliveryService, env), await runService(deliveryService, env)];
  rabbit = new Connection(env.AMQP_URL);
  publisher = new ProtoPublisher(rabbit);
  const logger = createLogger({ service: "test", level: "silent" });
  auditConsumer = openQueue(auditRecordQueue, { rabbit, publisher, names, logger }).consumeMessages({
    concurrency: 1,
    async handle(records) {
      for (const record of records) {
        if (record.record.case === "attempt")
          attempts.push({ attempt: record.record.value, state: record.state });
      }
    },
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.stop()));
  await auditConsumer?.close();
  // Each test deletes the queues it made; these are for a test that failed half way.
  for (const id of [ENDPOINT, "ep_listen2", "ep_listen3", "ep_old_args"])
    await rabbit?.queueDelete({ queue: names.listenQueue(id) }).catch(() => undefined);
  await publisher?.close();
  await rabbit?.close();
  await mongo?.close();
  await cleanupTestEnv(env);
}, 30_000);

describe("the Listen stream", () => {
  let stream: OpenStream;

  it("hands a listen endpoint's task to the stream, and a report sent to another instance is the attempt", async () => {
    stream = await openStream(0);
    const eventId = await publishTask();
    const delivery = await stream.next();
    expect(delivery).toMatchObject({ eventId, eventType: "order.created", attempt: 1 });
    expect(new Webhook(SECRET).verify(Buffer.from(delivery.body).toString(), delivery.headers)).toEqual({
      n: eventCount,
    });
    await client(1, acmeToken).reportDelivery({
      tenantId: "acme",
      endpointId: ENDPOINT,
      deliveryId: delivery.deliveryId,
      status: 202,
      body: "ok",
      latencyMs: 7,
    });
    const [recorded] = await attemptsOf(eventId, 1);
    expect(recorded?.state).toBe(DeliveryState.SUCCEEDED);
    expect(recorded?.attempt).toMatchObject({
      success: true,
      responseStatus: 202,
      responseBody: "ok",
      latencyMs: 7,
      url: `herald-listen://${ENDPOINT}`,
    });
    // Reported twice: nothing awaits it any more.
    const again = await client(0, acmeToken)
      .reportDelivery({
        tenantId: "acme",
        endpointId: ENDPOINT,
        deliveryId: delivery.deliveryId,
        status: 200,
      })
      .catch((err: unknown) => ConnectError.from(err).code);
    expect(again).toBe(Code.NotFound);
  });

  it("fails an unreported delivery as LISTEN_UNREPORTED and hands it again on the endpoint's schedule", async () => {
    const eventId = await publishTask();
    const first = await stream.next();
    expect(first.eventId).toBe(eventId);
    const [failed] = await attemptsOf(eventId, 1);
    expect(failed?.attempt).toMatchObject({ success: false, errorClass: ErrorClass.LISTEN_UNREPORTED });
    expect(failed?.state).toBe(DeliveryState.FAILED);
    const second = await stream.next();
    expect(second).toMatchObject({ eventId, attempt: 2 });
    await client(0, acmeToken).reportDelivery({
      tenantId: "acme",
      endpointId: ENDPOINT,
      deliveryId: second.deliveryId,
      status: 204,
    });
    const [, succeeded] = await attemptsOf(eventId, 2);
    expect(succeeded?.state).toBe(DeliveryState.SUCCEEDED);
  });

  it("loses nothing while no stream is open: a delivery in flight and those that came meanwhile arrive on the next stream", async () => {
    const inFlight = await publishTask();
    expect((await stream.next()).eventId).toBe(inFlight);
    stream.close();
    const meanwhile = [await publishTask(), await publishTask(), await publishTask()];
    // Time for the tasks to reach the endpoint's queue with no stream there.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const resumed = await openStream(1);
    const got = new Set<string>();
    while (got.size < 4) {
      const delivery = await resumed.next(15_000);
      got.add(delivery.eventId);
      await client(0, acmeToken).reportDelivery({
        tenantId: "acme",
        endpointId: ENDPOINT,
        deliveryId: delivery.deliveryId,
        status: 200,
      });
    }
    expect([...got].sort()).toEqual([inFlight, ...meanwhile].sort());
    // None of them failed: the one in flight went back to the queue, not into the attempt log.
    expect(attempts.filter((a) => a.attempt.eventId === inFlight && !a.attempt.success)).toEqual([]);
    resumed.close();
  }, 40_000);

  it("refuses another tenant's key, another key of the tenant, a wrong tenant and bad reports", async () => {
    const refusal = async (instance: number, token: string, tenantId: string, endpointId = ENDPOINT) => {
      try {
        for await (const _ of client(instance, token).listen(
          { tenantId, endpointId },
          { timeoutMs: 5_000 },
        )) {
          return "open";
        }
        return "ended";
      } catch (err) {
        return ConnectError.from(err);
      }
    };
    const crossTenant = await refusal(0, globexToken, "acme");
    expect(crossTenant).toMatchObject({ code: Code.PermissionDenied });
    expect((crossTenant as ConnectError).rawMessage).toBe('this API key may not access tenant "acme"');
    expect(await refusal(0, globexToken, "globex")).toMatchObject({ code: Code.NotFound });
    const otherKey = await refusal(1, otherAcmeToken, "acme");
    expect((otherKey as ConnectError).code).toBe(Code.PermissionDenied);
    expect((otherKey as ConnectError).rawMessage).toMatch(/belongs to another API key/);
    expect(await refusal(0, acmeToken, "acme", "")).toMatchObject({ code: Code.InvalidArgument });

    const report = (init: object) =>
      client(0, acmeToken)
        .reportDelivery({
          tenantId: "acme",
          endpointId: ENDPOINT,
          deliveryId: "ld_00_000000000000000000000000",
          ...init,
        })
        .then(() => "ok")
        .catch((err: unknown) => ConnectError.from(err).code);
    expect(await report({ status: 99 })).toBe(Code.InvalidArgument);
    expect(await report({ status: 200, deliveryId: "nonsense" })).toBe(Code.NotFound);
  });
});

describe("a stream Herald ends", () => {
  it("tells a revoked key's stream so, over Connect and over gRPC", async () => {
    for (const transport of ["connect", "grpc"] as const) {
      const abort = new AbortController();
      const base = `http://127.0.0.1:${instances[0]?.port}`;
      const auth = (next: Parameters<Interceptor>[0]) => (req: Parameters<ReturnType<Interceptor>>[0]) => {
        req.header.set("authorization", `Bearer ${acmeToken}`);
        return next(req);
      };
      const listen = createClient(
        ListenService,
        transport === "grpc"
          ? createGrpcTransport({ baseUrl: base, interceptors: [auth] })
          : createConnectTransport({ baseUrl: base, httpVersion: "1.1", interceptors: [auth] }),
      ).listen({ tenantId: "acme", endpointId: ENDPOINT }, { signal: abort.signal });
      const messages = listen[Symbol.asyncIterator]();
      expect((await messages.next()).value?.message.case).toBe("ready");
      await publishControlChange(publisher, names, "acme", "", acmeKeyId);
      const ended = await messages.next().then(
        () => "message",
        (err: unknown) => ConnectError.from(err),
      );
      expect([transport, (ended as ConnectError).code, (ended as ConnectError).rawMessage]).toEqual([
        transport,
        Code.Unauthenticated,
        "the API key of this Listen stream was revoked",
      ]);
    }
  });

  it("ends the stream of an endpoint disabled, and refuses to open one until it is enabled", async () => {
    const db = mongo.db(env.MONGO_DB);
    const abort = new AbortController();
    const messages = client(1, acmeToken)
      .listen({ tenantId: "acme", endpointId: ENDPOINT }, { signal: abort.signal })
      [Symbol.asyncIterator]();
    expect((await messages.next()).value?.message.case).toBe("ready");
    await endpointsCollection(db).updateOne(
      { _id: ENDPOINT },
      { $set: { disabled: true, disabled_reason: 2 } },
    );
    await publishControlChange(publisher, names, "acme", ENDPOINT);
    const ended = await messages.next().then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    expect(ended?.code).toBe(Code.FailedPrecondition);
    expect(ended?.rawMessage).toMatch(/is disabled \(the local receiver answered 410 Gone\); enable it/);
    const refused = await openStream(0).then(
      () => "open",
      (err: unknown) => ConnectError.from(err).code,
    );
    expect(refused).toBe(Code.FailedPrecondition);
    await endpointsCollection(db).updateOne(
      { _id: ENDPOINT },
      { $set: { disabled: false, disabled_reason: 0 } },
    );
    abort.abort();
  });
});

/** The number of messages in the queue, or "gone". */
async function queueState(queue: string): Promise<number | "gone"> {
  return rabbit.queueDeclare({ queue, passive: true }).then(
    (ok) => ok.messageCount,
    (err: { code?: string }) => {
      if (err.code === "NOT_FOUND") return "gone" as const;
      throw err;
    },
  );
}

async function eventuallyGone(queue: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await queueState(queue)) !== "gone") {
    if (Date.now() > deadline) throw new Error(`${queue} still there`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("a listen endpoint's queue", () => {
  async function listenEndpoint(id: string, tenantId: string): Promise<void> {
    await endpointsCollection(mongo.db(env.MONGO_DB)).insertOne(
      testEndpoint({ _id: id, tenant_id: tenantId, url: listenUrl(id), listen: { key_id: acmeKeyId } }),
    );
  }

  /** Publishes a task of the endpoint and waits until delivery relayed it to the endpoint's queue. */
  async function queued(endpointId: string, tenantId: string): Promise<string> {
    const queue = names.listenQueue(endpointId);
    await publishTask(endpointId, tenantId);
    const deadline = Date.now() + 10_000;
    while ((await queueState(queue)) !== 1) {
      if (Date.now() > deadline) throw new Error(`no task in ${queue}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return queue;
  }

  it("is deleted, with its waiting task, when its endpoint is deleted", async () => {
    await listenEndpoint("ep_listen2", "acme");
    const queue = await queued("ep_listen2", "acme");
    // Changed, not deleted: the queue stays.
    await publishControlChange(publisher, names, "acme", "ep_listen2");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await queueState(queue)).toBe(1);
    await endpointsCollection(mongo.db(env.MONGO_DB)).deleteOne({ _id: "ep_listen2" });
    await publishControlChange(publisher, names, "acme", "ep_listen2");
    await eventuallyGone(queue);
  });

  it("is deleted when its tenant is deleted", async () => {
    const db = mongo.db(env.MONGO_DB);
    await tenantsCollection(db).insertOne(testTenant("initech", { create_time: new Date() }));
    await listenEndpoint("ep_listen3", "initech");
    const queue = await queued("ep_listen3", "initech");
    // What DeleteTenant does: the tenant marked with its endpoints' ids, the endpoints deleted, announced.
    await tenantsCollection(db).updateOne(
      { _id: "initech" },
      { $set: { delete_time: new Date(), deleted_endpoint_ids: ["ep_other", "ep_listen3"], disabled: true } },
    );
    await endpointsCollection(db).deleteMany({ tenant_id: "initech" });
    await publishControlChange(publisher, names, "initech");
    await eventuallyGone(queue);
  });

  it("declared earlier with other arguments (no expiry) is used as it is, its tasks kept, logged once", async () => {
    const queue = names.listenQueue("ep_old_args");
    const { "x-expires": _, ...withoutExpiry } = listenQueueArguments(60_000);
    await rabbit.queueDeclare({ queue, durable: true, arguments: withoutExpiry });
    const task = create(DeliveryTaskSchema, {
      eventId: "evt_old",
      tenantId: "acme",
      endpointId: "ep_old_args",
    });
    await publisher.publish({ exchange: "", routingKey: queue }, DeliveryTaskSchema, task);
    const warn = vi.fn();
    const logger = { warn, info: vi.fn(), debug: vi.fn(), error: vi.fn() } as unknown as Logger;
    const queues = new ListenQueues({ rabbit, publisher, names, logger, expiryMs: 120_000 });
    await queues.relay(task);
    // A minute on, the queue is declared again.
    const later = Date.now() + 61_000;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => later);
    try {
      await queues.relay(task);
    } finally {
      clock.mockRestore();
    }
    expect(await queueState(queue)).toBe(3);
    expect(warn.mock.calls).toEqual([
      [
        { queue, expiryMs: 120_000 },
        "listen queue declared earlier with other arguments: it keeps its old expiry (or none) until its endpoint is deleted",
      ],
    ]);
    await queues.delete("ep_old_args");
    expect(await queueState(queue)).toBe("gone");
    // Deleting a queue that is not there is no error.
    await queues.delete("ep_old_args");
  });

  // Last: the other tests listen on ENDPOINT.
  it("leaves no queue behind: ENDPOINT's goes with it", async () => {
    const queue = names.listenQueue(ENDPOINT);
    expect(await queueState(queue)).not.toBe("gone");
    await endpointsCollection(mongo.db(env.MONGO_DB)).deleteOne({ _id: ENDPOINT });
    await publishControlChange(publisher, names, "acme", ENDPOINT);
    await eventuallyGone(queue);
  });
});
