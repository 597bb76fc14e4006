// The lean unary Connect path against connect-es's own, call by call, over real HTTP/1.1 on loopback:
// same status, headers and body for good calls, failing calls and malformed input, JSON and protobuf.
import http from "node:http";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { IngestService, PublishEventRequestSchema, PublishEventResponseSchema } from "@herald/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RpcServer, startRpcServer } from "../server.js";

const READ_MAX_BYTES = 1024;
const PUBLISH = "/herald.v1.IngestService/PublishEvent";

/** What the implementation saw of each call's abort signal once the client went away, by x-call. */
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
        case "big":
          return create(PublishEventResponseSchema, { eventId: "x".repeat(2_000) });
        default:
          ctx.responseHeader.set("x-authorization-seen", ctx.requestHeader.get("authorization") ?? "none");
          ctx.responseTrailer.set("x-trailer", "after");
          return create(PublishEventResponseSchema, {
            eventId: `${req.tenantId}/${req.event?.eventType}/${ctx.timeoutMs() === undefined ? "none" : "timed"}`,
            duplicate: true,
          });
      }
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
  connect = await startRpcServer({ ...options, unaryConnectFastPath: false });
});

afterAll(async () => {
  await lean?.close(1_000);
  await connect?.close(1_000);
});

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

/** One raw HTTP/1.1 call: what came back, with the headers that vary between calls left out. */
function call(
  port: number,
  body: Buffer | string,
  headers: http.OutgoingHttpHeaders = {},
  options: { path?: string; method?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: options.method ?? "POST",
        path: options.path ?? PUBLISH,
        agent: false,
        headers: { "content-type": "application/json", authorization: "Bearer k", ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const { date: _date, connection: _connection, "keep-alive": _keepAlive, ...rest } = res.headers;
          const bytes = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: rest,
            body: rest["content-encoding"] ? `${bytes.length} compressed bytes` : bytes.toString("utf8"),
          });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const port = (server: RpcServer) => server.port;
const json = (value: unknown) => JSON.stringify(value);
const proto = (tenantId: string) =>
  Buffer.from(
    toBinary(
      PublishEventRequestSchema,
      create(PublishEventRequestSchema, { tenantId, event: { eventType: "a.b" } }),
    ),
  );

/** Both servers' answers to the same call, which must be equal; the lean one is returned. */
async function same(
  body: Buffer | string,
  headers: http.OutgoingHttpHeaders = {},
  options: { path?: string; method?: string } = {},
): Promise<Answer> {
  const [fromLean, fromConnect] = await Promise.all([
    call(port(lean), body, headers, options),
    call(port(connect), body, headers, options),
  ]);
  expect(fromLean).toEqual(fromConnect);
  return fromLean;
}

describe("the lean unary Connect path answers as connect-es does", () => {
  it("a good JSON call: body, headers and trailers as trailer- headers", async () => {
    const answer = await same(json({ tenantId: "t1", event: { eventType: "a.b" } }));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ eventId: "t1/a.b/none", duplicate: true });
    expect(answer.headers["x-intercepted"]).toBe("herald.v1.IngestService/PublishEvent");
    expect(answer.headers["x-authorization-seen"]).toBe("Bearer k");
    expect(answer.headers["trailer-x-trailer"]).toBe("after");
    expect(answer.headers["content-type"]).toBe("application/json");
  });

  it("a good protobuf call, and JSON with a charset", async () => {
    const binary = await same(proto("t2"), { "content-type": "application/proto" });
    expect(binary.status).toBe(200);
    expect(binary.headers["content-type"]).toBe("application/proto");
    const charset = await same(json({ tenantId: "t3" }), {
      "content-type": "application/json; charset=utf-8",
    });
    expect(JSON.parse(charset.body).eventId).toBe("t3/undefined/none");
  });

  it("a timeout header reaches the implementation; a bad one is refused", async () => {
    const timed = await same(json({ tenantId: "t4" }), { "connect-timeout-ms": "5000" });
    expect(JSON.parse(timed.body).eventId).toBe("t4/undefined/timed");
    const bad = await same(json({ tenantId: "t4" }), { "connect-timeout-ms": "soon" });
    expect(bad.status).toBe(400);
  });

  it("an error of the implementation, with its metadata and details", async () => {
    const answer = await same(json({ tenantId: "not-found" }));
    expect(answer.status).toBe(404);
    expect(answer.headers["x-error-meta"]).toBe("m");
    expect(JSON.parse(answer.body)).toMatchObject({
      code: "not_found",
      message: "tenant: none called ü 100%/x",
    });
  });

  it("an unexpected error becomes internal without its message", async () => {
    const answer = await same(json({ tenantId: "crash" }));
    expect(answer.status).toBe(500);
    expect(answer.body).not.toContain("secret");
  });

  it("malformed JSON, a wrong field type and protobuf that does not parse are invalid_argument", async () => {
    for (const [body, type] of [
      ["{not json", "application/json"],
      [json({ tenantId: 5 }), "application/json"],
      [Buffer.from([0x0a, 0xff, 0xff]), "application/proto"],
    ] as const) {
      const answer = await same(body, { "content-type": type });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).code).toBe("invalid_argument");
    }
  });

  it("a body over readMaxBytes, announced or chunked, is resource_exhausted", async () => {
    const big = json({ tenantId: "x".repeat(READ_MAX_BYTES + 10) });
    const announced = await same(big);
    expect(announced.status).toBe(429);
    const chunked = await same(big, { "transfer-encoding": "chunked" });
    expect(chunked.status).toBe(429);
    expect(JSON.parse(chunked.body).code).toBe("resource_exhausted");
  });

  it("an empty protobuf body is an empty request; an empty JSON body is invalid", async () => {
    expect((await same("", { "content-type": "application/proto" })).status).toBe(200);
    expect((await same("")).status).toBe(400);
  });

  it("a large answer is compressed when the client accepts gzip, as connect-es does", async () => {
    const answer = await same(json({ tenantId: "big" }), { "accept-encoding": "gzip" });
    expect(answer.headers["content-encoding"]).toBe("gzip");
    const plain = await same(json({ tenantId: "big" }));
    expect(plain.headers["content-encoding"]).toBeUndefined();
  });

  it("what it does not serve goes to connect-es: unknown types, GET, unknown paths, compressed bodies", async () => {
    expect((await same("x", { "content-type": "text/plain" })).status).toBe(415);
    expect((await same("", {}, { method: "GET" })).status).toBe(405);
    expect((await same("{}", {}, { path: "/herald.v1.IngestService/Nope" })).status).toBe(404);
    expect((await same("{}", { "content-encoding": "snappy" })).status).not.toBe(200);
  });
});

describe("the lean unary Connect path and a client that leaves", () => {
  it("aborts the call's signal when the client closes before the answer", async () => {
    const req = http.request({
      host: "127.0.0.1",
      port: lean.port,
      method: "POST",
      path: PUBLISH,
      agent: false,
      headers: { "content-type": "application/json", "x-call": "left" },
    });
    req.on("error", () => undefined);
    req.end(json({ tenantId: "wait" }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    req.destroy();
    const deadline = Date.now() + 5_000;
    while (!aborted.has("left") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(aborted.get("left")).toBeInstanceOf(ConnectError);
    expect((aborted.get("left") as ConnectError).code).toBe(Code.Canceled);
  });
});
