// The lean unary gRPC path against connect-es's own, call by call, over real HTTP/2 on loopback: same
// status, message, details, headers, trailers and body for good calls, failing calls and malformed input.
import http2 from "node:http2";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  Health,
  IngestService,
  PublishEventRequestSchema,
  PublishEventResponseSchema,
} from "@herald/contracts";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type RpcServer, startRpcServer } from "../server.js";
import { createUnaryGrpcHandler } from "./unary-grpc.js";

const READ_MAX_BYTES = 1024;
const PUBLISH = "/herald.v1.IngestService/PublishEvent";

/** Signals seen aborting by the implementation, per server, keyed by tenant id. */
const aborted = new Map<string, unknown>();

function routes(router: ConnectRouter): void {
  router.service(IngestService, {
    async publishEvent(req, ctx) {
      switch (req.tenantId) {
        case "not-found":
          throw new ConnectError("tenant: none called ü 100%/x", Code.NotFound, { "x-error-meta": "m" }, [
            { desc: PublishEventResponseSchema, value: { eventId: "detail" } },
          ]);
        case "crash":
          throw new Error("mongodb://user:secret@db is down");
        case "wait":
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          aborted.set(ctx.requestHeader.get("x-call") ?? "", ctx.signal.reason);
          throw ctx.signal.reason;
        default:
          ctx.responseHeader.set("x-authorization-seen", ctx.requestHeader.get("authorization") ?? "none");
          ctx.responseTrailer.set("x-trailer", "after");
          return create(PublishEventResponseSchema, {
            eventId: `${req.tenantId}/${req.event?.eventType}`,
            duplicate: true,
          });
      }
    },
  });
  router.service(Health, {
    check: () => ({ status: 1 }),
    async *watch() {
      yield { status: 1 };
    },
  });
}

/** Adds a header from outside the implementation, as Herald's interceptors do. */
const interceptor: Interceptor = (next) => async (req) => {
  const res = await next(req);
  res.header.set("x-intercepted", `${req.service.typeName}/${req.method.name}`);
  return res;
};

let lean: RpcServer;
let connect: RpcServer;

beforeAll(async () => {
  const options = {
    host: "127.0.0.1",
    port: 0,
    routes,
    interceptors: [interceptor],
    readMaxBytes: READ_MAX_BYTES,
  };
  lean = await startRpcServer(options);
  connect = await startRpcServer({ ...options, unaryGrpcFastPath: false });
});

afterAll(async () => {
  await lean?.close(1_000);
  await connect?.close(1_000);
});

interface Answer {
  headers: Record<string, unknown>;
  trailers: Record<string, unknown>;
  body: string;
  /** The stream's RST_STREAM code, 0 (NO_ERROR) when it ended normally. */
  rstCode: number;
}

/** One raw HTTP/2 call: what came back, with the headers that vary between calls (date) left out. */
function call(port: number, body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": PUBLISH,
      "content-type": "application/grpc",
      te: "trailers",
      authorization: "Bearer k",
      ...headers,
    });
    const answer: Answer = { headers: {}, trailers: {}, body: "", rstCode: 0 };
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      const { date: _date, ...rest } = h;
      answer.headers = { ...rest };
    });
    stream.on("trailers", (t) => {
      answer.trailers = { ...t };
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      answer.body = Buffer.concat(chunks).toString("hex");
      answer.rstCode = stream.rstCode ?? 0;
      session.close();
      resolve(answer);
    });
    stream.end(body);
  });
}

/** Both servers' answers to the same call. */
async function both(body: Buffer, headers?: http2.OutgoingHttpHeaders): Promise<[Answer, Answer]> {
  return [await call(lean.port, body, headers), await call(connect.port, body, headers)];
}

function frame(message: Uint8Array, length = message.byteLength, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(length, 1);
  return Buffer.concat([head, message]);
}

const request = (tenantId: string) =>
  toBinary(
    PublishEventRequestSchema,
    create(PublishEventRequestSchema, { tenantId, event: { eventType: "a.b" } }),
  );

describe("the lean unary gRPC path answers as connect-es does", () => {
  it.each<[string, Buffer, http2.OutgoingHttpHeaders?]>([
    ["a good call (content type application/grpc)", frame(request("acme"))],
    [
      "a good call (application/grpc+proto, identity encoding)",
      frame(request("acme")),
      {
        "content-type": "application/grpc+proto",
        "grpc-encoding": "identity",
      },
    ],
    ["a call within its deadline", frame(request("acme")), { "grpc-timeout": "10S" }],
    ["a ConnectError with metadata and details", frame(request("not-found"))],
    ["an unexpected error, whose message stays inside", frame(request("crash"))],
    ["a deadline that passes", frame(request("wait")), { "grpc-timeout": "50m", "x-call": "deadline" }],
    ["an invalid grpc-timeout", frame(request("acme")), { "grpc-timeout": "soon" }],
    ["garbage instead of a message", frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]))],
    ["invalid UTF-8 in a string field", frame(Buffer.from([0x0a, 0x03, 0xff, 0xfe, 0x41]))],
    ["a length prefix larger than the body", frame(request("acme"), 100)],
    ["a frame header cut short", Buffer.from([0x00, 0x00, 0x01])],
    ["a message cut short", frame(request("acme")).subarray(0, 8)],
    ["bytes after the message", Buffer.concat([frame(request("acme")), Buffer.from([0x00, 0x01])])],
    ["no message at all", Buffer.alloc(0)],
    ["two messages", Buffer.concat([frame(request("acme")), frame(request("acme"))])],
    [
      "a second message that does not parse",
      Buffer.concat([frame(request("acme")), frame(Buffer.from([0xff]))]),
    ],
    ["a compressed flag without an encoding", frame(request("acme"), undefined, 1)],
    ["a length prefix over readMaxBytes", frame(Buffer.alloc(64), READ_MAX_BYTES + 1)],
    ["a message over readMaxBytes, sent whole", frame(Buffer.alloc(8 * READ_MAX_BYTES, 0x0a))],
    [
      "a second message over readMaxBytes",
      Buffer.concat([frame(request("acme")), frame(Buffer.alloc(2 * READ_MAX_BYTES))]),
    ],
    [
      "a method with no implementation",
      frame(Buffer.alloc(0)),
      { ":path": "/herald.v1.IngestService/PublishEvents" },
    ],
  ])("%s", async (_name, body, headers) => {
    const [fast, reference] = await both(body, headers);
    expect(fast).toEqual(reference);
    expect(fast.headers[":status"]).toBe(200);
    expect(fast.trailers["grpc-status"] ?? fast.headers["grpc-status"]).toBeDefined();
  });

  it("gives what the implementation and interceptors set, and the message, on a good call", async () => {
    const [fast] = await both(frame(request("acme")));
    expect(fast.headers).toMatchObject({
      "content-type": "application/grpc+proto",
      "x-authorization-seen": "Bearer k",
      "x-intercepted": "herald.v1.IngestService/PublishEvent",
    });
    expect(fast.trailers).toMatchObject({ "grpc-status": "0", "x-trailer": "after" });
    expect(Buffer.from(fast.body, "hex").subarray(5).toString("latin1")).toContain("acme/a.b");
  });

  it("keeps an unexpected error's message to itself", async () => {
    const [fast] = await both(frame(request("crash")));
    expect(fast.trailers).toMatchObject({
      "grpc-status": String(Code.Internal),
      "grpc-message": "internal error",
    });
    expect(JSON.stringify(fast)).not.toContain("secret");
  });

  it("refuses a message over readMaxBytes without reading it, and closes the stream", async () => {
    const [fast] = await both(frame(Buffer.alloc(8 * READ_MAX_BYTES, 0x0a)));
    expect(fast.trailers["grpc-status"]).toBe(String(Code.ResourceExhausted));
    expect(fast.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
  });

  it("aborts the implementation's signal when the client cancels, as connect-es does", async () => {
    for (const [port, name] of [
      [lean.port, "lean"],
      [connect.port, "connect"],
    ] as const) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      const stream = session.request({
        ":method": "POST",
        ":path": PUBLISH,
        "content-type": "application/grpc",
        "x-call": name,
      });
      stream.on("error", () => undefined);
      stream.end(frame(request("wait")));
      await new Promise((resolve) => setTimeout(resolve, 100));
      stream.close(http2.constants.NGHTTP2_CANCEL);
      await vi.waitFor(() => expect(aborted.has(name)).toBe(true));
      session.close();
    }
    expect((aborted.get("lean") as ConnectError).code).toBe(Code.Canceled);
    expect((aborted.get("connect") as ConnectError).code).toBe(Code.Canceled);
  });
});

describe("which calls the lean path takes", () => {
  const unary = createUnaryGrpcHandler({ interceptors: [], readMaxBytes: READ_MAX_BYTES });
  const router = { handlers: [], service: () => router, rpc: () => router } as unknown as ConnectRouter;
  routes(unary.capture(router));
  let server: http2.Http2Server;
  let port: number;

  beforeAll(async () => {
    // A bare HTTP/2 server: whatever the lean path does not take is answered 404.
    server = http2.createServer();
    server.on("stream", (stream, headers) => {
      if (!unary.handle(stream, headers)) stream.respond({ ":status": 404 }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it.each<[string, http2.OutgoingHttpHeaders, number]>([
    ["a unary call", {}, 200],
    ["a unary call of a second service", { ":path": "/grpc.health.v1.Health/Check" }, 200],
    ["a server-streaming method", { ":path": "/grpc.health.v1.Health/Watch" }, 404],
    ["an unknown method", { ":path": "/herald.v1.IngestService/Nope" }, 404],
    ["a compressed call", { "grpc-encoding": "gzip" }, 404],
    ["gRPC with JSON", { "content-type": "application/grpc+json" }, 404],
    ["gRPC-Web", { "content-type": "application/grpc-web+proto" }, 404],
    ["a GET", { ":method": "GET" }, 404],
  ])("%s: %s", async (_name, headers, status) => {
    const answer = await call(port, frame(request("acme")), headers);
    expect(answer.headers[":status"]).toBe(status);
  });
});

describe("stock @grpc/grpc-js clients", () => {
  const definition = protoLoader.loadSync("herald/v1/ingest.proto", {
    includeDirs: [fileURLToPath(new URL("../../../../../proto/", import.meta.url))],
    keepCase: true,
  });
  const { IngestService: Client } = (
    grpc.loadPackageDefinition(definition) as unknown as {
      herald: { v1: { IngestService: grpc.ServiceClientConstructor } };
    }
  ).herald.v1;

  it.each([
    ["uncompressed (the lean path)", {}],
    ["gzip-compressed (connect-es's path)", { "grpc.default_compression_algorithm": 2 }],
  ])("%s calls get their answer", async (_name, channelOptions) => {
    const client = new Client(`127.0.0.1:${lean.port}`, grpc.credentials.createInsecure(), channelOptions);
    const publish = client.PublishEvent as (
      request: object,
      callback: (err: grpc.ServiceError | null, value: { event_id: string }) => void,
    ) => void;
    const res = await new Promise<{ event_id: string }>((resolve, reject) =>
      publish.call(client, { tenant_id: "acme", event: { event_type: "a.b" } }, (err, value) =>
        err ? reject(err) : resolve(value),
      ),
    );
    client.close();
    expect(res.event_id).toBe("acme/a.b");
  });
});
