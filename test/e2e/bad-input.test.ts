import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { DeliveryState, ErrorClass, PublishEventRequestSchema, Scope } from "@herald/contracts";
import { TEST_ADMIN_KEY } from "@herald/platform/testing";
import { MongoClient } from "mongodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./support/clients.js";
import {
  adminClients,
  createEndpoint,
  createTenant,
  eventually,
  type TestTenant,
} from "./support/fixtures.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { firstCallsAfterRevocation, revokeAndCount } from "./support/revocation.js";
import { SERVICES, type Stack, startStack } from "./support/stack.js";

// Hostile and broken input at every door: raw gRPC frames, Connect JSON, oversize messages, invalid
// UTF-8, header injection, SSRF-style endpoint URLs and receivers that never stop talking. Each must get
// a clear error (never INTERNAL), and afterwards every service is still ready and still delivers.

const DELIVERY_TIMEOUT_MS = 2_000;
let stack: Stack;
let ingest: GrpcIngestClient;
let acme: TestTenant;
let normal: Receiver;
const servers: Array<http.Server | net.Server> = [];
let checks = 0;

beforeAll(async () => {
  stack = await startStack({
    DELIVERY_TIMEOUT_MS: String(DELIVERY_TIMEOUT_MS),
    RETRY_TIERS: "1s,2s",
    RETRY_SCHEDULE: "1s",
    CIRCUIT_MIN_ATTEMPTS: "1000",
    // Short, so the slow-loris case below is quick; real clients send whole requests well within it.
    RPC_HEADERS_TIMEOUT: "1s",
    // Deleted tenants are purged, and their ids freed, within seconds rather than a minute.
    TENANT_PURGE_INTERVAL: "300ms",
    TENANT_PURGE_GRACE: "2s",
  });
  ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
  acme = await createTenant(stack, "acme");
  normal = await startReceiver();
  await createEndpoint(acme, normal.url, { eventTypes: ["normal.*"] });
});

afterAll(async () => {
  ingest?.close();
  await normal?.close();
  for (const server of servers) {
    if (server instanceof http.Server) server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await stack?.stop();
});

// After every test: nothing crashed (all four ready, no unexpected error logged) and nothing is lost
// (an event published now is delivered).
afterEach(async () => {
  for (const service of SERVICES) {
    const res = await fetch(`${stack.url(service)}/readyz`);
    expect({ service, status: res.status }).toEqual({ service, status: 200 });
    expect(stack.logs(service)).not.toMatch(/rpc failed|unhandled|uncaught/i);
  }
  checks += 1;
  const before = normal.requests.length;
  const { event_id } = await ingest.publishEvent(
    { tenant_id: "acme", event: { event_type: "normal.check", payload: json({ check: checks }) } },
    acme.publishKey,
  );
  const [request] = (await normal.waitFor(before + 1, 10_000)).slice(before);
  expect(request?.headers["webhook-id"]).toBe(event_id);
});

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** A gRPC length-prefixed message: flags byte, 4-byte big-endian length (default: the true one). */
function frame(message: Buffer, length = message.length, flags = 0): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(flags, 0);
  header.writeUInt32BE(length, 1);
  return Buffer.concat([header, message]);
}

interface RawGrpcAnswer {
  httpStatus?: number;
  grpcStatus?: number;
  grpcMessage?: string;
}

/**
 * Sends `body` as the whole request stream of a gRPC call over a plain node:http2 session, exactly as
 * given, and resolves with the status once the stream closed (rejects if it is still open after 10 s).
 */
function rawGrpc(
  port: number,
  path: string,
  body: Buffer,
  token: string,
  headers: Record<string, string> = {},
): Promise<RawGrpcAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const answer: RawGrpcAnswer = {};
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`${path}: stream still open after 10 s (${JSON.stringify(answer)})`));
    }, 10_000);
    session.on("error", () => undefined);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      authorization: `Bearer ${token}`,
      ...headers,
    });
    const status = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) answer.grpcStatus = Number(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) answer.grpcMessage = decodeURIComponent(String(h["grpc-message"]));
    };
    stream.on("response", (h) => {
      answer.httpStatus = Number(h[":status"]);
      status(h);
    });
    stream.on("trailers", status);
    stream.on("data", () => undefined);
    stream.on("error", () => undefined);
    stream.on("close", () => {
      clearTimeout(timer);
      session.close();
      resolve(answer);
    });
    stream.end(body);
  });
}

/** POSTs a Connect unary request with a body as given; resolves with the HTTP status and error JSON. */
async function rawConnect(
  url: string,
  body: string | Buffer,
  token: string,
  contentType = "application/json",
): Promise<{ status: number; code?: string; message?: string }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": contentType, authorization: `Bearer ${token}` },
    body,
  });
  const text = await res.text();
  const error = res.ok ? {} : (JSON.parse(text) as { code?: string; message?: string });
  return { status: res.status, ...error };
}

const PUBLISH = "/herald.v1.IngestService/PublishEvent";
const CREATE_ENDPOINT = "/herald.v1.EndpointService/CreateEndpoint";
const validPublish = () =>
  Buffer.from(
    toBinary(
      PublishEventRequestSchema,
      create(PublishEventRequestSchema, {
        tenantId: "acme",
        event: { eventType: "normal.raw", payload: json({ raw: true }) },
      }),
    ),
  );
// PublishEventRequest{tenant_id: <3 bytes that are not UTF-8>}: field 1, wire type 2, length 3.
const invalidUtf8TenantId = Buffer.from([0x0a, 0x03, 0xff, 0xfe, 0x41]);

describe("raw gRPC frames", () => {
  it.each([
    ["garbage instead of a protobuf message", 3, frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]))],
    ["a length prefix larger than the body", 3, frame(validPublish().subarray(0, 6), 1_000)],
    ["a frame header cut short", 3, Buffer.from([0x00, 0x00, 0x01])],
    ["a message cut short", 3, frame(validPublish()).subarray(0, 12)],
    ["bytes after the message", 3, Buffer.concat([frame(validPublish()), Buffer.from([0x00, 0x01])])],
    ["invalid UTF-8 in a string field", 3, frame(invalidUtf8TenantId)],
    // gRPC's status for a wrong number of messages on a unary method is UNIMPLEMENTED.
    ["no message at all", 12, Buffer.alloc(0)],
    ["two messages for a unary method", 12, Buffer.concat([frame(validPublish()), frame(validPublish())])],
  ])("IngestService: %s gets status %i, never INTERNAL", async (_name, expected, body) => {
    const answer = await rawGrpc(stack.ports.ingest, PUBLISH, body, acme.publishKey);
    expect(answer.httpStatus).toBe(200);
    expect(answer.grpcStatus).toBe(expected);
    expect(answer.grpcMessage).toBeTruthy();
  });

  it("EndpointService: garbage and truncated frames get INVALID_ARGUMENT", async () => {
    const garbage = await rawGrpc(
      stack.ports.routing,
      CREATE_ENDPOINT,
      frame(Buffer.from([0x12, 0x7f, 0x01])),
      acme.fullKey,
    );
    expect(garbage).toMatchObject({ grpcStatus: 3, grpcMessage: expect.stringMatching(/premature|parse/) });
    const truncated = await rawGrpc(
      stack.ports.routing,
      CREATE_ENDPOINT,
      frame(Buffer.from([0x0a]), 64),
      acme.fullKey,
    );
    expect(truncated.grpcStatus).toBe(3);
  });

  it("an unknown message encoding gets UNIMPLEMENTED", async () => {
    const answer = await rawGrpc(
      stack.ports.ingest,
      PUBLISH,
      frame(validPublish(), undefined, 1),
      acme.publishKey,
      {
        "grpc-encoding": "zstd",
      },
    );
    expect(answer.grpcStatus).toBe(12);
  });
});

describe("messages over the 4 MiB limit", () => {
  it("a stock gRPC client's 5 MiB message gets RESOURCE_EXHAUSTED", async () => {
    const err = (await ingest
      .publishEvent(
        {
          tenant_id: "acme",
          event: { event_type: "normal.big", payload: Buffer.alloc(5 * 1024 * 1024, 0x61) },
        },
        acme.publishKey,
      )
      .catch((e) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/larger than/);
  });

  it("a raw 5 MiB frame is refused and its stream closed, not left waiting on flow control", async () => {
    const big = frame(Buffer.alloc(5 * 1024 * 1024, 0x61));
    const answer = await rawGrpc(stack.ports.ingest, PUBLISH, big, acme.publishKey);
    expect(answer.grpcStatus).toBe(8);
  });

  it("a length prefix of 4 GiB is refused before anything is read", async () => {
    const answer = await rawGrpc(
      stack.ports.ingest,
      PUBLISH,
      frame(Buffer.from("abc"), 0xffffffff),
      acme.publishKey,
    );
    expect(answer).toMatchObject({ grpcStatus: 8, grpcMessage: expect.stringMatching(/4294967295/) });
  });

  it("a 6 MiB Connect JSON body gets resource_exhausted", async () => {
    const body = JSON.stringify({
      tenantId: "acme",
      event: { eventType: "normal.big", payload: Buffer.alloc(4_500_000, 0x61).toString("base64") },
    });
    const answer = await rawConnect(`${stack.url("ingest")}${PUBLISH}`, body, acme.publishKey);
    expect(answer).toMatchObject({ status: 429, code: "resource_exhausted" });
  });
});

describe("Connect JSON bodies", () => {
  const payload = Buffer.from("{}").toString("base64");
  it.each([
    ["invalid JSON", '{"tenantId":', /JSON/],
    ["a number for a string", '{"tenantId":5}', /tenant_id.*expected string/],
    ["an array for a message", '{"tenantId":"acme","event":[]}', /EventInput/],
    [
      "a payload that is not base64",
      '{"tenantId":"acme","event":{"eventType":"a.b","payload":"%%%"}}',
      /payload.*base64/,
    ],
    [
      "a misspelt field (unknown fields are ignored)",
      `{"tenant":"acme","event":{"eventType":"a.b","payload":"${payload}"}}`,
      /^tenant_id: required/,
    ],
    [
      "a payload that is base64 of invalid UTF-8",
      `{"tenantId":"acme","event":{"eventType":"a.b","payload":"${Buffer.from([0x7b, 0xff, 0x7d]).toString("base64")}"}}`,
      /event\.payload: is not valid UTF-8/,
    ],
  ])("IngestService: %s gets invalid_argument", async (_name, body, message) => {
    const answer = await rawConnect(`${stack.url("ingest")}${PUBLISH}`, body, acme.publishKey);
    expect(answer).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(answer.message).toMatch(message);
  });

  it("IngestService: invalid UTF-8 inside JSON strings gets invalid_argument naming the field", async () => {
    const raw = (fields: string) =>
      Buffer.concat([
        Buffer.from(`{"tenantId":"acme","event":{"payload":"${payload}",`),
        Buffer.from(fields, "latin1"),
        Buffer.from("}}"),
      ]);
    const type = await rawConnect(
      `${stack.url("ingest")}${PUBLISH}`,
      raw('"eventType":"a.\xff"'),
      acme.publishKey,
    );
    expect(type).toMatchObject({
      status: 400,
      code: "invalid_argument",
      message: expect.stringMatching(/^event\.event_type/),
    });
    const key = await rawConnect(
      `${stack.url("ingest")}${PUBLISH}`,
      raw('"eventType":"a.b","idempotencyKey":"k\xfe\xff"'),
      acme.publishKey,
    );
    expect(key).toMatchObject({
      status: 400,
      code: "invalid_argument",
      message: expect.stringMatching(/^event\.idempotency_key/),
    });
  });

  it("unknown fields are ignored, as the protobuf JSON mapping allows for newer clients", async () => {
    const body = JSON.stringify({
      tenantId: "acme",
      fromTheFuture: 1,
      event: { eventType: "normal.unknown", payload },
    });
    const before = normal.requests.length;
    const answer = await rawConnect(`${stack.url("ingest")}${PUBLISH}`, body, acme.publishKey);
    expect(answer.status).toBe(200);
    await normal.waitFor(before + 1);
  });

  it("protobuf bytes that do not parse, sent with the Connect protocol, get invalid_argument", async () => {
    const answer = await rawConnect(
      `${stack.url("ingest")}${PUBLISH}`,
      Buffer.from([0xff, 0xff, 0xff]),
      acme.publishKey,
      "application/proto",
    );
    expect(answer).toMatchObject({ status: 400, code: "invalid_argument" });
  });

  it.each([
    ["invalid JSON", "{", /JSON/],
    ["a string for a map", '{"tenantId":"acme","url":"http://127.0.0.1:1/","headers":"x"}', /headers/],
    [
      "a negative rate limit",
      '{"tenantId":"acme","url":"http://127.0.0.1:1/","rateLimitPerSecond":-1}',
      /rate_limit_per_second/,
    ],
    [
      "a string for a duration",
      '{"tenantId":"acme","url":"http://127.0.0.1:1/","retrySchedule":{"delays":["soon"]}}',
      /Duration|delays/,
    ],
  ])("EndpointService: %s gets invalid_argument", async (_name, body, message) => {
    const answer = await rawConnect(`${stack.url("routing")}${CREATE_ENDPOINT}`, body, acme.fullKey);
    expect(answer).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(answer.message).toMatch(message);
  });
});

/** The ConnectError a call failed with (fails the test if it succeeded). */
async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const outcome = await call.then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
  if (!outcome) throw new Error("the call succeeded");
  return outcome;
}

describe("tenant settings", () => {
  it("a delivery weight over 100 gets INVALID_ARGUMENT on create and update, naming the field", async () => {
    const admin = adminClients(stack);
    const created = await refusal(
      admin.tenants.createTenant({ tenantId: "heavyweight", name: "x", settings: { deliveryWeight: 101 } }),
    );
    expect(created.code).toBe(Code.InvalidArgument);
    expect(created.rawMessage).toBe(
      "settings.delivery_weight: must be from 1 to 100, got 101; 0 uses the default weight of 1",
    );
    const updated = await refusal(
      admin.tenants.updateTenant({ tenantId: "acme", settings: { deliveryWeight: 1_000_000 } }),
    );
    expect(updated.code).toBe(Code.InvalidArgument);
    expect(updated.rawMessage).toMatch(/^settings\.delivery_weight: must be from 1 to 100, got 1000000/);
    // Nothing was changed or created.
    expect((await admin.tenants.getTenant({ tenantId: "acme" })).tenant?.settings?.deliveryWeight).toBe(1);
    expect((await refusal(admin.tenants.getTenant({ tenantId: "heavyweight" }))).code).toBe(Code.NotFound);
  });

  it("a negative delivery weight in Connect JSON gets invalid_argument", async () => {
    const answer = await rawConnect(
      `${stack.url("routing")}/herald.v1.TenantService/CreateTenant`,
      '{"tenantId":"negative","name":"x","settings":{"deliveryWeight":-1}}',
      TEST_ADMIN_KEY,
    );
    expect(answer).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(answer.message).toMatch(/delivery_weight|deliveryWeight/);
  });
});

describe("endpoint headers", () => {
  it.each([
    ["X-Evil", "a\r\nX-Injected: 1", /value must not contain CR, LF/],
    ["X-Evil", "a\nb", /value must not contain CR, LF/],
    ["X-Evil", "nul\u0000byte", /value must not contain CR, LF, NUL/],
    ["X Evil", "v", /is not a valid header name/],
    ["X-Evil:", "v", /is not a valid header name/],
    ["X-Evil\r\nX-Injected", "v", /is not a valid header name/],
    ["", "v", /is not a valid header name/],
    ["Connection", "close", /hop-by-hop/],
    ["Transfer-Encoding", "chunked", /hop-by-hop/],
    ["Keep-Alive", "timeout=5", /hop-by-hop/],
    ["Upgrade", "websocket", /hop-by-hop/],
    ["TE", "trailers", /hop-by-hop/],
    ["Host", "internal.example", /hop-by-hop/],
    ["Content-Length", "0", /hop-by-hop/],
    ["Proxy-Authorization", "Basic eA==", /proxies/],
    ["Webhook-Signature", "v1,forged", /signature/],
  ])("refuses header %j: %j with INVALID_ARGUMENT naming it", async (name, value, problem) => {
    const err = await refusal(
      acme.clients.endpoints.createEndpoint({
        tenantId: "acme",
        url: normal.url,
        headers: { [name]: value },
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage.startsWith(`headers[${JSON.stringify(name)}]`)).toBe(true);
    expect(err.rawMessage).toMatch(problem);
  });

  it("refuses the same on update, naming headers.entries", async () => {
    const ep = await createEndpoint(acme, normal.url, { eventTypes: ["never.*"] });
    const err = await refusal(
      acme.clients.endpoints.updateEndpoint({
        tenantId: "acme",
        endpointId: ep.id,
        headers: { entries: { "X-Ok": "fine", "X-Evil": "a\r\nb" } },
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^headers\.entries\["X-Evil"\]/);
  });
});

describe("hostile endpoint URLs", () => {
  it.each(
    (
      [
        ["file:///etc/passwd", /scheme "file"/],
        ["javascript:alert(1)", /scheme "javascript"/],
        ["gopher://127.0.0.1:70/", /scheme "gopher"/],
        ["http://user:secret@127.0.0.1:1/hook", /credentials/],
        ["http://169.254.169.254/latest/meta-data/", /cloud metadata/],
        ["http://0xa9.0xfe.0xa9.0xfe/", /cloud metadata/],
        ["http://2852039166/", /cloud metadata/],
        ["http://169.254.1.1/", /link-local/],
        ["http://10.0.0.1/hook", /private/],
        ["http://[fd00::1]/hook", /unique-local/],
        ["http://[::ffff:10.0.0.1]/hook", /private address \(it carries the IPv4 address 10\.0\.0\.1\)/],
        ["http://[::ffff:169.254.169.254]/", /cloud metadata/],
        ["http://[::ffff:127.0.0.2]/", /loopback.*127\.0\.0\.2/],
        ["http://127.0.0.1:1/hook#frag", /fragment/],
        [" http://127.0.0.1:1/hook", /spaces/],
        [`http://127.0.0.1:1/${"a".repeat(2_100)}`, /at most 2048/],
      ] as const
    ).map(
      ([url, problem]) =>
        [url.length > 60 ? `${url.slice(0, 30)}… (${url.length} characters)` : url, url, problem] as const,
    ),
  )("refuses %s with INVALID_ARGUMENT naming url", async (_title, url, problem) => {
    const err = await refusal(acme.clients.endpoints.createEndpoint({ tenantId: "acme", url }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^url: /);
    expect(err.rawMessage).toMatch(problem);
  });

  it("treats [::ffff:127.0.0.1] as the 127.0.0.1 it carries: allowed (127.0.0.1/32 is), and delivered to", async () => {
    const port = new URL(normal.url).port;
    const { endpoint } = await acme.clients.endpoints.createEndpoint({
      tenantId: "acme",
      url: `http://[::ffff:127.0.0.1]:${port}/webhook`,
      eventTypes: ["mapped.*"],
    });
    expect(endpoint?.url).toBe(`http://[::ffff:127.0.0.1]:${port}/webhook`);
    // The connect-time guard agrees with the check on save.
    const before = normal.requests.length;
    const { event_id } = await ingest.publishEvent(
      { tenant_id: "acme", event: { event_type: "mapped.one", payload: json({}) } },
      acme.publishKey,
    );
    const [request] = (await normal.waitFor(before + 1)).slice(before);
    expect(request?.headers["webhook-id"]).toBe(event_id);
  });

  it("refuses a hostile URL on update too", async () => {
    const ep = await createEndpoint(acme, normal.url, { eventTypes: ["never.*"] });
    const err = await refusal(
      acme.clients.endpoints.updateEndpoint({
        tenantId: "acme",
        endpointId: ep.id,
        url: "http://169.254.169.254/",
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^url: .*cloud metadata/);
  });
});

/** An HTTP server on 127.0.0.1 answering every request with `respond`; closed after the file. */
async function hostileServer(respond: (socket: net.Socket) => void): Promise<string> {
  const server = net.createServer((socket) => {
    socket.on("error", () => undefined);
    socket.once("data", () => respond(socket));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/hook`;
}

/** Writes `text` one byte every `everyMs` until it is written or the socket closes. */
function dribble(socket: net.Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i] ?? "");
    i += 1;
  }, everyMs);
}

async function attemptsOf(eventId: string, endpointId: string) {
  const { attempts } = await acme.clients.audit.listAttempts({ tenantId: "acme", eventId, endpointId });
  return attempts;
}

describe("receivers that never stop talking", () => {
  it("caps an endless response body at 4 KiB: recorded as delivered, connection dropped", async () => {
    let closed = 0;
    const url = await hostileServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n");
      const chunk = `400\r\n${"x".repeat(1024)}\r\n`;
      const timer = setInterval(() => {
        if (socket.destroyed) return clearInterval(timer);
        socket.write(chunk);
      }, 5);
      socket.on("close", () => {
        closed += 1;
        clearInterval(timer);
      });
    });
    const ep = await createEndpoint(acme, url, { eventTypes: ["endless.*"] });
    const { event_id } = await ingest.publishEvent(
      { tenant_id: "acme", event: { event_type: "endless.body", payload: json({ n: 1 }) } },
      acme.publishKey,
    );
    const [attempt] = await eventually(
      async () => {
        const attempts = await attemptsOf(event_id, ep.id);
        return attempts.length > 0 ? attempts : undefined;
      },
      15_000,
      "attempt of the endless receiver",
    );
    expect(attempt).toMatchObject({ success: true, responseStatus: 200 });
    expect(attempt?.responseBody.length).toBeGreaterThan(0);
    expect(attempt?.responseBody.length).toBeLessThanOrEqual(4096);
    await eventually(async () => (closed > 0 ? true : undefined), 5_000, "endless connection dropped");
  });

  it.each([
    ["its status line byte by byte", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", ""],
    [
      "its body byte by byte",
      "ok-ok-ok-ok-ok-ok-ok-ok-ok-ok-ok-ok-ok-ok",
      "HTTP/1.1 200 OK\r\ncontent-length: 44\r\n\r\n",
    ],
  ])(
    "times out a receiver that sends %s, records it, and keeps delivering to others meanwhile",
    async (_name, slow, head) => {
      const url = await hostileServer((socket) => {
        socket.write(head);
        dribble(socket, slow, 300);
      });
      const ep = await createEndpoint(acme, url, { eventTypes: ["slow.*"], retrySchedule: [1_000] });
      const slowEvent = await ingest.publishEvent(
        { tenant_id: "acme", event: { event_type: "slow.one", payload: json({ slow: true }) } },
        acme.publishKey,
      );
      // Published while the slow receiver holds its connection: delivered well within the timeout.
      const before = normal.requests.length;
      const publishedAt = Date.now();
      await ingest.publishEvent(
        { tenant_id: "acme", event: { event_type: "normal.meanwhile", payload: json({}) } },
        acme.publishKey,
      );
      const [meanwhile] = (await normal.waitFor(before + 1, DELIVERY_TIMEOUT_MS)).slice(before);
      expect((meanwhile?.at ?? Number.POSITIVE_INFINITY) - publishedAt).toBeLessThan(DELIVERY_TIMEOUT_MS);

      // Two attempts (the schedule has one retry), each cut off at the timeout, then dead. The dead
      // letter and the last attempt record reach audit by different queues, in either order.
      const attempts = await eventually(
        async () => {
          const { deliveries } = await acme.clients.audit.getEvent({
            tenantId: "acme",
            eventId: slowEvent.event_id,
          });
          if (!deliveries.some((d) => d.endpointId === ep.id && d.state === DeliveryState.DEAD))
            return undefined;
          const logged = await attemptsOf(slowEvent.event_id, ep.id);
          return logged.length >= 2 ? logged : undefined;
        },
        20_000,
        "slow delivery dead, with both attempts logged",
      );
      expect(attempts).toHaveLength(2);
      for (const attempt of attempts) {
        expect(attempt).toMatchObject({ success: false, errorClass: ErrorClass.TIMEOUT });
        expect(attempt.latencyMs).toBeGreaterThanOrEqual(DELIVERY_TIMEOUT_MS - 100);
        expect(attempt.latencyMs).toBeLessThan(DELIVERY_TIMEOUT_MS + 1_000);
      }
    },
    40_000,
  );
});

describe("slow-loris on every API port", () => {
  // What a client can send before stopping: nothing, half a request line, half the headers, half the
  // HTTP/2 preface, the whole preface and nothing more.
  const halfRequests = [
    undefined,
    "POST /herald.v1.IngestService/Publ",
    "POST /herald.v1.IngestService/PublishEvent HTTP/1.1\r\nhost: x\r\ncontent-ty",
    "PRI * HTTP/2.0\r\n",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
  ];

  it("closes 100 idle and half-sent connections per port within the headers timeout, serving meanwhile", async () => {
    const closes: Promise<boolean>[] = [];
    const sockets: net.Socket[] = [];
    for (const service of SERVICES) {
      for (let i = 0; i < 100; i++) {
        const socket = net.connect(stack.ports[service], "127.0.0.1");
        sockets.push(socket);
        socket.on("error", () => undefined);
        // Read what the server sends (HTTP/2 settings), or the socket never sees its end.
        socket.on("data", () => undefined);
        let connected = false;
        const bytes = halfRequests[i % halfRequests.length];
        socket.once("connect", () => {
          connected = true;
          if (bytes !== undefined) socket.write(bytes);
        });
        closes.push(new Promise((resolve) => socket.once("close", () => resolve(connected))));
      }
    }
    try {
      // A real call while the 400 sockets are held: answered.
      const before = normal.requests.length;
      const { event_id } = await ingest.publishEvent(
        { tenant_id: "acme", event: { event_type: "normal.loris", payload: json({}) } },
        acme.publishKey,
      );
      expect(event_id).toMatch(/.+/);
      await normal.waitFor(before + 1, 10_000);
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        Promise.all(closes).then((connected) => connected.filter(Boolean).length),
        new Promise<string>(
          (resolve) => (timer = setTimeout(() => resolve("still open after 15 s"), 15_000)),
        ),
      ]);
      clearTimeout(timer);
      // Every socket connected, and the server closed every one of them.
      expect(outcome).toBe(SERVICES.length * 100);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
});

describe("revoked API keys", () => {
  // Every service caches keys; a revoked one must stop working everywhere within 1 s, whether it
  // belonged to a tenant or was an admin key (no tenant to match a cached entry by).
  it("refuses a revoked tenant key on ingest, routing and audit within 1 s of RevokeApiKey returning", async () => {
    const key = {
      name: "leaked",
      tenantId: "acme",
      scopes: [Scope.EVENTS_PUBLISH, Scope.ENDPOINTS_MANAGE, Scope.AUDIT_READ],
    };
    expect(await revokeAndCount(stack, key, "acme")).toEqual({
      before: ["ok", "ok", "ok"],
      firstRefused: 3,
      refused: 3,
    });
  });

  it("refuses a revoked admin key (created by ApiKeyService, no tenant) on all three within 1 s", async () => {
    const key = { name: "leaked admin", scopes: [Scope.ADMIN] };
    expect(await revokeAndCount(stack, key, "acme")).toEqual({
      before: ["ok", "ok", "ok"],
      firstRefused: 3,
      refused: 3,
    });
  });

  // Connected services have applied the revocation before RevokeApiKey answers (they acknowledge it), so
  // not one first call afterwards may get through, on any service, however often it is tried.
  it("refuses the first call on ingest, routing and audit after RevokeApiKey returns, every time", async () => {
    const rounds = 50;
    const tenantKey = {
      name: "leaked",
      tenantId: "acme",
      scopes: [Scope.EVENTS_PUBLISH, Scope.AUDIT_READ, Scope.ENDPOINTS_MANAGE],
    };
    const adminKey = { name: "leaked admin", scopes: [Scope.ADMIN] };
    const all = { ingest: rounds, routing: rounds, audit: rounds };
    const tenant = await firstCallsAfterRevocation(stack, tenantKey, "acme", rounds);
    const admin = await firstCallsAfterRevocation(stack, adminKey, "acme", rounds);
    expect({ tenant: tenant.refused, admin: admin.refused }).toEqual({ tenant: all, admin: all });
  });
});

describe("a deleted tenant's id, re-used", () => {
  it("comes back empty: no old events, attempts or idempotency keys, and not before the purge", async () => {
    const admin = adminClients(stack);
    const receiver = await startReceiver();
    try {
      const first = await createTenant(stack, "reuse");
      await createEndpoint(first, receiver.url);
      const event = { event_type: "order.created", payload: json({ order: 1 }), idempotency_key: "order-1" };
      const old = await ingest.publishEvent({ tenant_id: "reuse", event }, first.publishKey);
      await receiver.waitFor(1, 10_000);
      await eventually(
        async () =>
          (await first.clients.audit.listAttempts({ tenantId: "reuse", eventId: old.event_id })).attempts[0],
        10_000,
        "attempt recorded",
      );

      await admin.tenants.deleteTenant({ tenantId: "reuse" });
      // Publishing is refused as soon as ingest hears of the deletion (a control notification): the
      // tenant's keys are gone, and even an admin key finds no tenant.
      const refusal = (token: string) => async () => {
        const err = await ingest.publishEvent({ tenant_id: "reuse", event }, token).then(
          () => undefined,
          (e: grpc.ServiceError) => e,
        );
        return err?.code;
      };
      expect(await eventually(refusal(first.publishKey), 5_000, "tenant key refused")).toBe(
        grpc.status.UNAUTHENTICATED,
      );
      expect(await eventually(refusal(TEST_ADMIN_KEY), 5_000, "tenant refused")).toBe(grpc.status.NOT_FOUND);
      // Its events are out of reach at once, for an admin key too.
      await expect(admin.audit.getEvent({ tenantId: "reuse", eventId: old.event_id })).rejects.toMatchObject({
        code: Code.NotFound,
      });
      // An event a publish stored while racing the deletion is purged with the tenant.
      const mongo = new MongoClient(stack.env.MONGO_URL as string);
      try {
        await mongo
          .db(stack.env.MONGO_DB)
          .collection("events")
          .insertOne({
            _id: "evt_raced_the_delete" as never,
            tenant_id: "reuse",
            event_type: "order.created",
            payload: json({ raced: true }),
            channels: [],
            dedupe_key: "raced",
            create_time: new Date(),
            published: false,
          });
        // The id is refused until the purge has finished…
        const refused = await admin.tenants
          .createTenant({ tenantId: "reuse", name: "Again" })
          .catch((e) => e);
        expect(refused).toBeInstanceOf(ConnectError);
        expect((refused as ConnectError).code).toBe(Code.FailedPrecondition);
        expect((refused as ConnectError).rawMessage).toMatch(/still being purged/);
        // …then free, with nothing of the old tenant left.
        const second = await eventually(() => createTenant(stack, "reuse"), 20_000, "tenant id free again");
        const events = mongo.db(stack.env.MONGO_DB).collection("events");
        expect(await events.countDocuments({ tenant_id: "reuse" })).toBe(0);
        const { events: listed } = await second.clients.audit.listEvents({ tenantId: "reuse" });
        expect(listed).toEqual([]);
        const { attempts } = await second.clients.audit.listAttempts({ tenantId: "reuse" });
        expect(attempts).toEqual([]);
        await expect(
          second.clients.audit.getEvent({ tenantId: "reuse", eventId: old.event_id }),
        ).rejects.toMatchObject({ code: Code.NotFound });

        // The old idempotency key is forgotten: the same call publishes a new event, delivered.
        await createEndpoint(second, receiver.url);
        // Retried until ingest's cache has heard of the new tenant (a control notification).
        const again = await eventually(
          () => ingest.publishEvent({ tenant_id: "reuse", event }, second.publishKey),
          5_000,
          "the new tenant publishes",
        );
        expect(again.duplicate).toBe(false);
        expect(again.event_id).not.toBe(old.event_id);
        await eventually(
          async () => receiver.requests.find((r) => r.headers["webhook-id"] === again.event_id),
          10_000,
          "the new event delivered",
        );
      } finally {
        await mongo.close();
      }
    } finally {
      await receiver.close();
    }
  }, 60_000);
});
