import { fileURLToPath } from "node:url";
import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { IngestService, PublishEventResponseSchema, Scope } from "@herald/contracts";
import { MongoClient } from "mongodb";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ProtoPublisher } from "./amqp/messaging.js";
import { topologyNames } from "./amqp/topology.js";
import { serviceConfigSchema } from "./config.js";
import { apiKeysCollection } from "./model/api-keys.js";
import { generateApiKey, principalOf } from "./model/auth.js";
import { apiKeyAuthentication } from "./model/authentication.js";
import { publishControlChange } from "./model/control.js";
import { RPC_WARM_UP_CALLS, type RunningService, runService } from "./service.js";
import { cleanupTestEnv, TEST_ADMIN_KEY, testEnv } from "./testing/index.js";

const env = testEnv({ RETRY_TIERS: "1s" });
let service: RunningService;
let base: string;

beforeAll(async () => {
  service = await runService(
    {
      name: "platform-test",
      configSchema: serviceConfigSchema(0),
      authentication: apiKeyAuthentication,
      async start() {
        return {
          services: [IngestService],
          routes(router) {
            router.service(IngestService, {
              publishEvent(_req, ctx) {
                return create(PublishEventResponseSchema, { eventId: principalOf(ctx).keyId });
              },
              publishEvents() {
                throw new Error("boom: mongodb://user:secret@db");
              },
            });
          },
        };
      },
    },
    env,
  );
  base = `http://127.0.0.1:${service.port}`;
});

afterAll(async () => {
  await service?.stop();
  await cleanupTestEnv(env);
});

function grpcHealthClient() {
  const protoPath = fileURLToPath(new URL("../../../proto/grpc/health/v1/health.proto", import.meta.url));
  const definition = protoLoader.loadSync(protoPath, { keepCase: true, enums: String });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  return new loaded.grpc.health.v1.Health(
    `127.0.0.1:${service.port}`,
    grpc.credentials.createInsecure(),
  ) as unknown as HealthClient;
}

/** The methods a stock grpc-js client has for grpc.health.v1.Health, loaded from the .proto. */
interface HealthClient {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
  close(): void;
}

describe("a running service", () => {
  it("answers gRPC health Check to a stock @grpc/grpc-js client", async () => {
    const client = grpcHealthClient();
    try {
      const reply = await new Promise<{ status: string }>((resolve, reject) =>
        client.Check({ service: "" }, (err, res) => (err ? reject(err) : resolve(res))),
      );
      expect(reply.status).toBe("SERVING");
      const unknown = await new Promise<grpc.ServiceError>((resolve) =>
        client.Check({ service: "nope" }, (err) => resolve(err as grpc.ServiceError)),
      );
      expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  it("streams health Watch over gRPC, starting with the current status", async () => {
    const client = grpcHealthClient();
    try {
      const call = client.Watch({ service: IngestService.typeName });
      const ended = new Promise<grpc.ServiceError>((resolve) => call.on("error", resolve));
      const first = await new Promise<{ status: string }>((resolve) => call.once("data", resolve));
      expect(first.status).toBe("SERVING");
      call.cancel();
      expect((await ended).code).toBe(grpc.status.CANCELLED);
    } finally {
      client.close();
    }
  });

  it("answers health over Connect with plain fetch (HTTP/1.1 JSON)", async () => {
    const res = await fetch(`${base}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "SERVING" });
  });

  it("serves liveness and readiness over plain HTTP", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ service: "platform-test", ready: true, failing: [] });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it("refuses calls without a valid API key and accepts the admin key", async () => {
    const transport = createConnectTransport({ baseUrl: base, httpVersion: "1.1" });
    const client = createClient(IngestService, transport);
    const missing = await client.publishEvent({}).catch((e) => ConnectError.from(e));
    expect(missing).toBeInstanceOf(ConnectError);
    expect((missing as ConnectError).code).toBe(Code.Unauthenticated);
    const wrong = await client
      .publishEvent(
        {},
        {
          headers: {
            authorization: "Bearer hk_000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
          },
        },
      )
      .catch((e) => ConnectError.from(e));
    expect((wrong as ConnectError).code).toBe(Code.Unauthenticated);
    const ok = await client.publishEvent({}, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    expect(ok.eventId).toBe("bootstrap-admin");
  });

  it("maps an unexpected handler error to INTERNAL without leaking its message", async () => {
    const transport = createConnectTransport({ baseUrl: base, httpVersion: "2" });
    const client = createClient(IngestService, transport);
    const err = await client
      .publishEvents({}, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })
      .catch((e) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Internal);
    expect((err as ConnectError).rawMessage).toBe("internal error");
  });

  it("answers gRPC server reflection, so grpcurl can list and describe the services", async () => {
    const protoPath = fileURLToPath(
      new URL("../../../proto/grpc/reflection/v1/reflection.proto", import.meta.url),
    );
    const definition = protoLoader.loadSync(protoPath, { keepCase: true, oneofs: true });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const client = new loaded.grpc.reflection.v1.ServerReflection(
      `127.0.0.1:${service.port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, unknown>; close(): void };
    try {
      const call = client.ServerReflectionInfo();
      const replies: unknown[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on("data", (reply: unknown) => replies.push(reply));
        call.on("end", resolve);
        call.on("error", reject);
      });
      call.write({ list_services: "" });
      call.write({ file_containing_symbol: "herald.v1.IngestService.PublishEvent" });
      call.write({ file_containing_symbol: "no.such.Symbol" });
      call.end();
      await done;
      type Reply = {
        list_services_response: { service: Array<{ name: string }> };
        file_descriptor_response: { file_descriptor_proto: Buffer[] };
        error_response: { error_code: number };
      };
      const [list, file, missing] = replies as Reply[];
      if (!list || !file || !missing) throw new Error(`expected 3 replies, got ${replies.length}`);
      const listed = list.list_services_response.service;
      expect(listed.map((s) => s.name).sort()).toEqual(
        ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "herald.v1.IngestService"].sort(),
      );
      const files = file.file_descriptor_response.file_descriptor_proto;
      const names = files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
      expect(names[0]).toBe("herald/v1/ingest.proto");
      expect(missing.error_response.error_code).toBe(grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  it("refuses an admin key within 1 s of its revocation elsewhere (announced with no tenant)", async () => {
    const mongo = new MongoClient(env.MONGO_URL as string);
    const rabbit = new Connection(env.AMQP_URL);
    const publisher = new ProtoPublisher(rabbit);
    try {
      const keys = apiKeysCollection(mongo.db(env.MONGO_DB));
      const key = generateApiKey();
      await keys.insertOne({
        _id: key.id,
        name: "ops",
        scopes: [Scope.ADMIN],
        secret_hash: key.secretHash,
        revoked: false,
        create_time: new Date(),
      });
      const client = createClient(
        IngestService,
        createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
      );
      const call = () =>
        client.publishEvent({}, { headers: { authorization: `Bearer ${key.token}` } }).then(
          (res) => res.eventId,
          (err) => ConnectError.from(err).code,
        );
      expect(await call()).toBe(key.id);
      // Revoked as routing does it: stored, then announced on herald.control naming the key.
      await keys.updateOne({ _id: key.id }, { $set: { revoked: true } });
      await publishControlChange(publisher, topologyNames(env.AMQP_NAMESPACE), "", "", key.id);
      await vi.waitFor(async () => expect(await call()).toBe(Code.Unauthenticated), {
        timeout: 1_000,
        interval: 50,
      });
    } finally {
      await publisher.close();
      await rabbit.close();
      await mongo.close();
    }
  });
});

describe("a service starting", () => {
  it("says it is warming, not ready, until its warm-up is done, and warms its port on both protocols", async () => {
    const probe = await import("node:net").then(
      (net) =>
        new Promise<number>((resolve) => {
          const server = net.createServer().listen(0, "127.0.0.1", () => {
            const { port } = server.address() as import("node:net").AddressInfo;
            server.close(() => resolve(port));
          });
        }),
    );
    const warmEnv = testEnv({ PORT: String(probe) });
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const starting = runService(
      {
        name: "platform-warm-test",
        configSchema: serviceConfigSchema(0),
        authentication: apiKeyAuthentication,
        async start() {
          return { warmUp: () => gate };
        },
      },
      warmEnv,
    );
    const url = `http://127.0.0.1:${probe}`;
    let warming: { status: number; body: unknown } | undefined;
    const deadline = Date.now() + 30_000;
    while (!warming && Date.now() < deadline) {
      const res = await fetch(`${url}/readyz`).catch(() => undefined);
      if (res) warming = { status: res.status, body: await res.json() };
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(warming).toEqual({
      status: 503,
      body: { service: "platform-warm-test", ready: false, failing: [], warming: true },
    });
    release();
    const started = await starting;
    try {
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ service: "platform-warm-test", ready: true, failing: [] });
      // Its own health checks went through the RPC port, over Connect JSON and gRPC alike.
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const calls =
        /herald_rpc_server_duration_seconds_count\{[^}]*method="grpc\.health\.v1\.Health\/Check",code="OK"\} (\d+)/.exec(
          metrics,
        );
      expect(Number(calls?.[1])).toBeGreaterThanOrEqual(2 * RPC_WARM_UP_CALLS);
    } finally {
      await started.stop();
      await cleanupTestEnv(warmEnv);
    }
  }, 60_000);
});
