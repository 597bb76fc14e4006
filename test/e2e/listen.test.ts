import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { EndpointService, EndpointTransport, ErrorClass, ListenService, Scope } from "@herald/contracts";
import { topologyNames } from "@herald/platform";
import { TEST_ADMIN_KEY } from "@herald/platform/testing";
import { Webhook } from "@herald/receiver";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcClient, grpcIngestClient } from "./support/clients.js";
import { curlConnectJson } from "./support/curl.js";
import { adminClients, createTenant, eventually, type TestTenant } from "./support/fixtures.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { REPO_ROOT, type Stack, startStack } from "./support/stack.js";

// herald listen end to end: the CLI as a process, a local HTTP receiver on loopback (which the URL
// policy forbids to endpoints: the stack allowlists nothing), events published over gRPC. Deliveries
// reach the receiver over the Listen stream, signed as over HTTP; attempts record the local answer;
// deliveries published while delivery restarts arrive once the CLI reconnects; other tenants and keys
// are refused.

let stack: Stack;
let ingest: GrpcIngestClient;
let acme: TestTenant;
let globex: TestTenant;
let receiver: Receiver;
/** Every listen endpoint the tests made: each one's queue must be gone at the end. */
const listenEndpoints: string[] = [];

/** A running `herald listen`: its output so far, and a wait for a line of it. */
interface ListenProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  waitFor(pattern: RegExp, what: "stdout" | "stderr", timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function startListen(args: string[], token = acme.fullKey): ListenProcess {
  const child = spawn(process.execPath, [join(REPO_ROOT, "apps/cli/dist/main.js"), "listen", ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      HERALD_API_KEY: token,
      HERALD_ROUTING_URL: stack.url("routing"),
      HERALD_DELIVERY_URL: stack.url("delivery"),
    },
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern, what, timeoutMs = 20_000) =>
      eventually(
        async () => (what === "stdout" ? out : err).match(pattern) ?? undefined,
        timeoutMs,
        `${pattern} on herald listen's ${what} (stderr so far: ${err})`,
      ),
  };
}

/** The listen queues of `endpointIds` still on the broker. */
async function listenQueuesLeft(endpointIds: string[]): Promise<string[]> {
  const names = topologyNames(stack.env.AMQP_NAMESPACE);
  const rabbit = new Connection(stack.env.AMQP_URL);
  try {
    const left: string[] = [];
    // One at a time: a passive declare of a missing queue closes its channel.
    for (const id of endpointIds) {
      const queue = names.listenQueue(id);
      const exists = await rabbit.queueDeclare({ queue, passive: true }).then(
        () => true,
        (err: { code?: string }) => (err.code === "NOT_FOUND" ? false : Promise.reject(err)),
      );
      if (exists) left.push(queue);
    }
    return left;
  } finally {
    await rabbit.close();
  }
}

async function publish(eventType: string, payload: object): Promise<string> {
  const { event_id } = await ingest.publishEvent(
    { tenant_id: acme.id, event: { event_type: eventType, payload: Buffer.from(JSON.stringify(payload)) } },
    acme.publishKey,
  );
  return event_id;
}

function listenClient(token: string) {
  return createClient(
    ListenService,
    createConnectTransport({
      baseUrl: stack.url("delivery"),
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

/** The code a Listen stream fails with before its first message. */
async function listenRefusal(token: string, tenantId: string, endpointId: string): Promise<Code | "open"> {
  try {
    for await (const _ of listenClient(token).listen({ tenantId, endpointId }, { timeoutMs: 5_000 })) {
      return "open";
    }
    return "open";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** Connect's envelope: a flags byte, the message's length (4 bytes, big-endian), then the message. */
function envelope(message: object): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

/** One enveloped frame: flags 2 marks the end of the stream (its JSON holds the error, if any). */
interface Frame {
  flags: number;
  // biome-ignore lint/suspicious/noExplicitAny: a Connect JSON message, checked field by field.
  json: any;
}

/** The whole frames in `data`, in order. */
function framesOf(data: Buffer): Frame[] {
  const frames: Frame[] = [];
  for (let at = 0; at + 5 <= data.length; ) {
    const length = data.readUInt32BE(at + 1);
    if (at + 5 + length > data.length) break;
    frames.push({
      flags: data[at] ?? 0,
      json: JSON.parse(data.subarray(at + 5, at + 5 + length).toString()),
    });
    at += 5 + length;
  }
  return frames;
}

/**
 * The real curl opening a server stream over the Connect protocol: POST application/connect+json with
 * the enveloped request; --no-buffer hands each frame on as it arrives.
 */
function curlStream(path: string, request: object, token: string) {
  const child = spawn("curl", [
    "-sS",
    "--no-buffer",
    "-H",
    "content-type: application/connect+json",
    "-H",
    `authorization: Bearer ${token}`,
    "--data-binary",
    "@-",
    `${stack.url("delivery")}${path}`,
  ]);
  let out = Buffer.alloc(0);
  child.stdout.on("data", (chunk: Buffer) => {
    out = Buffer.concat([out, chunk]);
  });
  child.stdin.end(envelope(request));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    exited,
    frames: () => framesOf(out),
    /** The first frame `take` accepts, waiting for it. */
    waitFor: (take: (frame: Frame) => boolean, what: string) =>
      eventually(async () => framesOf(out).find(take), 20_000, `${what} from curl's stream`),
  };
}

/** curl's unary Connect JSON call to `service`: the HTTP status and the JSON body. */
async function curlJson(service: "routing" | "delivery", path: string, body: object, token: string) {
  return curlConnectJson(`${stack.url(service)}${path}`, JSON.stringify(body), token);
}

function headersOf(request: {
  headers: Record<string, string | string[] | undefined>;
}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value[0] : (value ?? ""),
    ]),
  ) as Record<string, string>;
}

beforeAll(async () => {
  [stack, receiver] = await Promise.all([
    // Nothing allowlisted: an HTTP endpoint could not point at the receiver on loopback.
    // The shortest expiry, should a failed run leave a listen queue behind: RabbitMQ deletes it a minute on.
    startStack({ HERALD_URL_ALLOWLIST: "", LISTEN_REPORT_TIMEOUT: "5s", LISTEN_SESSION_EXPIRY: "1m" }),
    startReceiver(),
  ]);
  ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
  [acme, globex] = await Promise.all([createTenant(stack, "acme"), createTenant(stack, "globex")]);
}, 90_000);

afterAll(async () => {
  ingest?.close();
  await receiver?.close();
  await stack?.stop();
});

describe("herald listen", () => {
  let listen: ListenProcess;
  let endpointId = "";
  let secret = "";

  it("refuses an HTTP endpoint on the receiver's loopback URL, so listen is the only way there", async () => {
    const refused = await acme.clients.endpoints
      .createEndpoint({ tenantId: acme.id, url: receiver.url })
      .catch((err: unknown) => ConnectError.from(err));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("forwards matching deliveries to the local URL, signed as over HTTP, and records the local answer", async () => {
    listen = startListen(["--tenant", acme.id, "--event-type", "order.*", receiver.url]);
    [, endpointId = ""] = await listen.waitFor(/endpoint (ep_\S+)/, "stderr");
    listenEndpoints.push(endpointId);
    [, secret = ""] = await listen.waitFor(/signing secret[^:]*: (whsec_\S+)/, "stderr");
    await listen.waitFor(/connected/, "stderr");

    const skipped = await publish("user.created", { id: 1 });
    const eventId = await publish("order.created", { order: 1 });
    const [request] = await receiver.waitFor(1);
    if (!request) throw new Error("no request");
    expect(request.headers["webhook-id"]).toBe(eventId);
    expect(request.headers["webhook-event-type"]).toBe("order.created");
    expect(new Webhook(secret).verify(request.body, headersOf(request))).toEqual({ order: 1 });
    await listen.waitFor(new RegExp(`order\\.created  ${eventId}  attempt 1  → 204`), "stdout");

    const attempt = await eventually(async () => {
      const { attempts } = await acme.clients.audit.listAttempts({ tenantId: acme.id, eventId });
      return attempts[0];
    });
    expect(attempt).toMatchObject({
      endpointId,
      success: true,
      responseStatus: 204,
      url: `herald-listen://${endpointId}`,
    });
    // GetEvent's reasons treat the listen endpoint as any other.
    const skippedEvent = await eventually(async () => {
      const got = await acme.clients.audit.getEvent({ tenantId: acme.id, eventId: skipped });
      return got.skippedEndpoints.length > 0 ? got : undefined;
    });
    expect(skippedEvent.skippedEndpoints.map((s) => s.endpointId)).toContain(endpointId);
    expect(receiver.requests).toHaveLength(1);
  });

  it("records a failing local answer as a failed attempt and retries it", async () => {
    receiver.reply = (_request, count) => (count === 2 ? { status: 500, body: "boom" } : { status: 204 });
    const eventId = await publish("order.updated", { order: 2 });
    await receiver.waitFor(3, 30_000);
    const attempts = await eventually(async () => {
      const { attempts } = await acme.clients.audit.listAttempts({ tenantId: acme.id, eventId });
      return attempts.length >= 2 ? attempts : undefined;
    }, 30_000);
    const byNumber = [...attempts].sort((a, b) => a.attemptNumber - b.attemptNumber);
    expect(byNumber.map((a) => [a.attemptNumber, a.responseStatus, a.success])).toEqual([
      [1, 500, false],
      [2, 204, true],
    ]);
    expect(byNumber[0]?.responseBody).toBe("boom");
    expect(byNumber[0]?.errorClass).toBe(ErrorClass.HTTP_STATUS);
    receiver.reply = () => ({ status: 204 });
  });

  it("loses nothing while the stream is down: delivery restarts, the CLI reconnects, every event arrives", async () => {
    const before = receiver.requests.length;
    await stack.kill("delivery");
    const published = [];
    for (let i = 0; i < 5; i++) published.push(await publish("order.created", { order: 100 + i }));
    await stack.restart("delivery");
    await listen.waitFor(/stream lost/, "stderr");
    const requests = await receiver.waitFor(before + 5, 60_000);
    const ids = new Set(requests.slice(before).map((r) => r.headers["webhook-id"]));
    for (const id of published) expect(ids).toContain(id);
  }, 90_000);

  it("refuses a listen stream to another tenant's key, another key of the tenant and a wrong tenant", async () => {
    // Another tenant's key naming acme: refused before anything is read.
    expect(await listenRefusal(globex.fullKey, acme.id, endpointId)).toBe(Code.PermissionDenied);
    // globex's own tenant with acme's endpoint: no such endpoint there.
    expect(await listenRefusal(globex.fullKey, globex.id, endpointId)).toBe(Code.NotFound);
    // Another key of acme, even with every scope: the stream belongs to the key that made it.
    const other = await adminClients(stack).apiKeys.createApiKey({
      name: "acme other",
      tenantId: acme.id,
      scopes: [Scope.ENDPOINTS_MANAGE],
    });
    expect(await listenRefusal(other.token, acme.id, endpointId)).toBe(Code.PermissionDenied);
    // A key without endpoints:manage.
    expect(await listenRefusal(acme.publishKey, acme.id, endpointId)).toBe(Code.PermissionDenied);
    // An HTTP endpoint cannot be listened on.
    const { endpoint: http } = await adminClients(stack).endpoints.createEndpoint({
      tenantId: acme.id,
      url: "https://93.184.216.34/webhooks",
    });
    expect(await listenRefusal(TEST_ADMIN_KEY, acme.id, http?.id ?? "")).toBe(Code.PermissionDenied);
    await adminClients(stack).endpoints.deleteEndpoint({ tenantId: acme.id, endpointId: http?.id ?? "" });
    // A report for another tenant's delivery is refused the same way.
    const report = await listenClient(globex.fullKey)
      .reportDelivery({
        tenantId: acme.id,
        endpointId,
        deliveryId: "ld_0_000000000000000000000000",
        status: 200,
      })
      .catch((err: unknown) => ConnectError.from(err).code);
    expect(report).toBe(Code.PermissionDenied);
  });

  it("refuses listen endpoints made or changed by hand in ways that would bypass the URL policy", async () => {
    const { endpoints } = acme.clients;
    const code = (call: Promise<unknown>) =>
      call.then(() => "ok").catch((err: unknown) => ConnectError.from(err).code);
    expect(
      await code(
        endpoints.createEndpoint({
          tenantId: acme.id,
          url: receiver.url,
          transport: EndpointTransport.LISTEN,
        }),
      ),
    ).toBe(Code.InvalidArgument);
    expect(
      await code(endpoints.createEndpoint({ tenantId: acme.id, url: `herald-listen://${endpointId}` })),
    ).toBe(Code.InvalidArgument);
    expect(
      await code(endpoints.updateEndpoint({ tenantId: acme.id, endpointId, url: "https://example.com/x" })),
    ).toBe(Code.FailedPrecondition);
  });

  it("streams over gRPC and takes a report as Connect JSON (curl); a revoked key's stream ends", async () => {
    const admin = adminClients(stack);
    const key = await admin.apiKeys.createApiKey({
      name: "acme grpc listener",
      tenantId: acme.id,
      scopes: [Scope.ENDPOINTS_MANAGE],
    });
    const own = grpcClient(EndpointService, stack.url("routing"), key.token);
    const { endpoint } = await own.createEndpoint({
      tenantId: acme.id,
      transport: EndpointTransport.LISTEN,
      eventTypes: ["invoice.*"],
    });
    const id = endpoint?.id ?? "";
    listenEndpoints.push(id);
    const stream = grpcClient(ListenService, stack.url("delivery"), key.token).listen({
      tenantId: acme.id,
      endpointId: id,
    });
    const messages = stream[Symbol.asyncIterator]();
    expect((await messages.next()).value?.message.case).toBe("ready");
    const eventId = await publish("invoice.paid", { invoice: 7 });
    let next = await messages.next();
    while (next.value?.message.case === "heartbeat") next = await messages.next();
    const delivery = next.value?.message.case === "delivery" ? next.value.message.value : undefined;
    expect(delivery).toMatchObject({ eventId, eventType: "invoice.paid", attempt: 1 });

    const report = await fetch(`${stack.url("delivery")}/herald.v1.ListenService/ReportDelivery`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key.token}` },
      body: JSON.stringify({
        tenantId: acme.id,
        endpointId: id,
        deliveryId: delivery?.deliveryId,
        status: 200,
        body: "thanks",
        latencyMs: 3,
      }),
    });
    expect(report.status).toBe(200);
    const attempt = await eventually(async () => {
      const { attempts } = await acme.clients.audit.listAttempts({ tenantId: acme.id, eventId });
      return attempts[0];
    });
    expect(attempt).toMatchObject({
      endpointId: id,
      success: true,
      responseStatus: 200,
      responseBody: "thanks",
    });

    // A bad report over Connect JSON: 400 with the field.
    const bad = await fetch(`${stack.url("delivery")}/herald.v1.ListenService/ReportDelivery`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key.token}` },
      body: JSON.stringify({ tenantId: acme.id, endpointId: id, deliveryId: "ld_0_x", status: 42 }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/^status: 42/),
    });

    // Revoking the key ends its stream at once, saying why.
    await admin.apiKeys.revokeApiKey({ apiKeyId: key.apiKey?.id ?? "" });
    const ended = await (async () => {
      try {
        for (;;) {
          const m = await messages.next();
          if (m.done) return "ended";
        }
      } catch (err) {
        return ConnectError.from(err).code;
      }
    })();
    expect(ended).toBe(Code.Unauthenticated);
    await admin.endpoints.deleteEndpoint({ tenantId: acme.id, endpointId: id });
  });

  it("streams over Connect with curl (enveloped frames) and takes curl's report; another tenant is refused", async () => {
    const key = await adminClients(stack).apiKeys.createApiKey({
      name: "acme curl listener",
      tenantId: acme.id,
      scopes: [Scope.ENDPOINTS_MANAGE],
    });
    const created = await curlJson(
      "routing",
      "/herald.v1.EndpointService/CreateEndpoint",
      { tenantId: acme.id, transport: "ENDPOINT_TRANSPORT_LISTEN", eventTypes: ["shipment.*"] },
      key.token,
    );
    expect(created.status).toBe(200);
    const { id } = created.json.endpoint as { id: string };
    listenEndpoints.push(id);

    const stream = curlStream(
      "/herald.v1.ListenService/Listen",
      { tenantId: acme.id, endpointId: id },
      key.token,
    );
    try {
      const ready = await stream.waitFor((f) => f.flags === 0 && "ready" in f.json, "ready");
      expect(ready.json.ready.reportTimeout).toBe("5s");
      const eventId = await publish("shipment.sent", { shipment: 9 });
      const frame = await stream.waitFor((f) => f.json.delivery?.eventId === eventId, "the delivery");
      const delivery = frame.json.delivery;
      expect(delivery).toMatchObject({ eventType: "shipment.sent", attempt: 1 });
      expect(delivery.headers["webhook-id"]).toBe(eventId);
      expect(delivery.headers["webhook-signature"]).toMatch(/^v1,/);
      expect(JSON.parse(Buffer.from(delivery.body, "base64").toString())).toEqual({ shipment: 9 });

      // The acknowledgement is the second RPC, ReportDelivery: unary Connect JSON, curl as well.
      const report = await curlJson(
        "delivery",
        "/herald.v1.ListenService/ReportDelivery",
        { tenantId: acme.id, endpointId: id, deliveryId: delivery.deliveryId, status: 202, latencyMs: 4 },
        key.token,
      );
      expect(report).toEqual({ status: 200, json: {} });
      const attempt = await eventually(async () => {
        const { attempts } = await acme.clients.audit.listAttempts({ tenantId: acme.id, eventId });
        return attempts[0];
      });
      expect(attempt).toMatchObject({ endpointId: id, success: true, responseStatus: 202 });
    } finally {
      stream.child.kill();
      await stream.exited;
    }

    // Another tenant's key: the stream ends at once, its end frame naming the refusal.
    const refused = curlStream(
      "/herald.v1.ListenService/Listen",
      { tenantId: acme.id, endpointId: id },
      globex.fullKey,
    );
    expect(await refused.exited).toBe(0);
    const frames = refused.frames();
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ flags: 2, json: { error: { code: "permission_denied" } } });
    await adminClients(stack).endpoints.deleteEndpoint({ tenantId: acme.id, endpointId: id });
  });

  it("refuses a bad event type pattern with the field and the rule", async () => {
    const bad = startListen(["--tenant", acme.id, "--event-type", "Order.*", receiver.url]);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toMatch(/invalid argument.*event_types\[0\]: "Order\.\*" is not an event type/);
  });

  it("deletes its endpoint when stopped with Ctrl-C", async () => {
    listen.child.kill("SIGINT");
    expect(await listen.exited).toBe(0);
    expect(listen.stderr()).toContain(`deleted listen endpoint ${endpointId}`);
    const gone = await acme.clients.endpoints
      .getEndpoint({ tenantId: acme.id, endpointId })
      .catch((err: unknown) => ConnectError.from(err).code);
    expect(gone).toBe(Code.NotFound);
  });

  it("deletes a tenant's listen queues with the tenant (DeleteTenant)", async () => {
    const initech = await createTenant(stack, "initech");
    const { endpoint } = await initech.clients.endpoints.createEndpoint({
      tenantId: initech.id,
      transport: EndpointTransport.LISTEN,
    });
    const id = endpoint?.id ?? "";
    listenEndpoints.push(id);
    // A stream makes the queue: delivery declares it to consume it before the stream is ready.
    const abort = new AbortController();
    const messages = listenClient(initech.fullKey)
      .listen({ tenantId: initech.id, endpointId: id }, { signal: abort.signal })
      [Symbol.asyncIterator]();
    expect((await messages.next()).value?.message.case).toBe("ready");
    abort.abort();
    expect(await listenQueuesLeft([id])).toHaveLength(1);
    await adminClients(stack).tenants.deleteTenant({ tenantId: initech.id });
    await eventually(
      async () => ((await listenQueuesLeft([id])).length === 0 ? true : undefined),
      10_000,
      "initech's listen queue to be deleted",
    );
  });

  it("leaves no listen queue behind: each goes with its endpoint", async () => {
    expect(listenEndpoints).toHaveLength(4);
    // Well within the one-minute expiry: the deletions did it, not RabbitMQ.
    const left = await eventually(
      async () => ((await listenQueuesLeft(listenEndpoints)).length === 0 ? true : undefined),
      10_000,
      "the listen queues to be deleted",
    );
    expect(left).toBe(true);
  });
});
