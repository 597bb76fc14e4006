import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { DeliveryState } from "@herald/contracts";
import { MongoClient } from "mongodb";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./support/clients.js";
import {
  adminClients,
  createEndpoint,
  createTenant,
  eventually,
  type TestTenant,
} from "./support/fixtures.js";
import { type OtlpReceiver, otlpEnv, startOtlpReceiver } from "./support/otlp.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { SERVICES, type Stack, startStack } from "./support/stack.js";

let stack: Stack;
let otlp: OtlpReceiver;
let ingest: GrpcIngestClient;
let acme: TestTenant;
let globex: TestTenant;
const receivers: Record<"all" | "orders" | "euUsers" | "globex", Receiver> = {} as never;
const endpoints: Record<keyof typeof receivers, { id: string; secret: string }> = {} as never;

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
/** The "all" receiver's own credential, sent as a custom header: sealed at rest, never logged or traced. */
const RECEIVER_TOKEN = `rcv-${randomBytes(12).toString("hex")}`;

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  stack = await startStack(otlpEnv(otlp));
  ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
  acme = await createTenant(stack, "acme");
  globex = await createTenant(stack, "globex");
  for (const name of ["all", "orders", "euUsers", "globex"] as const) {
    receivers[name] = await startReceiver();
  }
  endpoints.all = await createEndpoint(acme, receivers.all.url, {
    headers: { Authorization: `Bearer ${RECEIVER_TOKEN}` },
  });
  endpoints.orders = await createEndpoint(acme, receivers.orders.url, { eventTypes: ["order.*"] });
  endpoints.euUsers = await createEndpoint(acme, receivers.euUsers.url, {
    eventTypes: ["user.created"],
    channels: ["eu"],
  });
  endpoints.globex = await createEndpoint(globex, receivers.globex.url);
});

afterAll(async () => {
  ingest?.close();
  await Promise.all(Object.values(receivers).map((r) => r?.close()));
  await stack?.stop();
  await otlp?.close();
});

function verify(name: keyof typeof receivers, index: number) {
  const request = receivers[name].requests[index];
  if (!request) throw new Error(`${name} has no request ${index}`);
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
  return new Webhook(endpoints[name].secret).verify(request.body.toString(), headers);
}

describe("an event's way from ingest to receivers and audit", () => {
  it("fans out to the endpoints whose filters match, signed over the exact payload bytes", async () => {
    // Odd spacing and key order: the receiver must get these bytes, not a re-serialisation.
    const payload = Buffer.from('{ "order" : {"id":"o_1", "total": 12.50},"note":"é"}');
    const published = await ingest.publishEvent(
      { tenant_id: "acme", event: { event_type: "order.created", payload } },
      acme.publishKey,
    );
    expect(published.event_id).toMatch(/^evt_/);
    expect(published.duplicate).toBe(false);

    const [toAll] = await receivers.all.waitFor(1);
    const [toOrders] = await receivers.orders.waitFor(1);
    expect(toAll?.body.equals(payload)).toBe(true);
    expect(toOrders?.body.equals(payload)).toBe(true);
    expect(toAll?.headers["webhook-id"]).toBe(published.event_id);
    expect(toAll?.headers["content-type"]).toBe("application/json");
    expect(toAll?.headers["user-agent"]).toMatch(/^Herald\//);
    expect(verify("all", 0)).toEqual(JSON.parse(payload.toString()));
    expect(verify("orders", 0)).toEqual(JSON.parse(payload.toString()));
    // The wrong secret must not verify: the signature really is per endpoint.
    expect(() =>
      new Webhook(endpoints.orders.secret).verify(toAll?.body.toString() ?? "", {
        "webhook-id": String(toAll?.headers["webhook-id"]),
        "webhook-timestamp": String(toAll?.headers["webhook-timestamp"]),
        "webhook-signature": String(toAll?.headers["webhook-signature"]),
      }),
    ).toThrow();

    const user = await ingest.publishEvent(
      {
        tenant_id: "acme",
        event: { event_type: "user.created", payload: json({ id: "u_1" }), channels: ["eu"] },
      },
      acme.publishKey,
    );
    await receivers.euUsers.waitFor(1);
    await receivers.all.waitFor(2);
    expect(receivers.euUsers.requests[0]?.headers["webhook-id"]).toBe(user.event_id);
    expect(verify("euUsers", 0)).toEqual({ id: "u_1" });
    // order.* does not take user.created; a user.created without the eu channel does not reach euUsers.
    await ingest.publishEvent(
      { tenant_id: "acme", event: { event_type: "user.created", payload: json({ id: "u_2" }) } },
      acme.publishKey,
    );
    await receivers.all.waitFor(3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receivers.orders.requests).toHaveLength(1);
    expect(receivers.euUsers.requests).toHaveLength(1);
  });

  it("publishes an idempotent event once, however often it is sent", async () => {
    const request = {
      tenant_id: "acme",
      event: { event_type: "order.paid", payload: json({ id: "o_2" }), idempotency_key: "pay-o_2" },
    };
    const before = receivers.orders.requests.length;
    const first = await ingest.publishEvent(request, acme.publishKey);
    const second = await ingest.publishEvent(request, acme.publishKey);
    expect(second.event_id).toBe(first.event_id);
    expect([first.duplicate, second.duplicate]).toEqual([false, true]);
    await receivers.orders.waitFor(before + 1);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(receivers.orders.requests.filter((r) => r.headers["webhook-id"] === first.event_id)).toHaveLength(
      1,
    );
  });

  it("keeps tenants apart", async () => {
    const own = await ingest.publishEvent(
      { tenant_id: "globex", event: { event_type: "order.created", payload: json({ g: 1 }) } },
      globex.publishKey,
    );
    await receivers.globex.waitFor(1);
    expect(receivers.globex.requests.map((r) => r.headers["webhook-id"])).toEqual([own.event_id]);
    for (const name of ["all", "orders", "euUsers"] as const) {
      expect(receivers[name].requests.some((r) => r.headers["webhook-id"] === own.event_id)).toBe(false);
    }
    const refused = await ingest
      .publishEvent(
        { tenant_id: "globex", event: { event_type: "order.created", payload: json({}) } },
        acme.publishKey,
      )
      .catch((e: grpc.ServiceError) => e);
    expect((refused as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it("records every attempt and the delivery status per endpoint in audit", async () => {
    const published = await ingest.publishEvent(
      { tenant_id: "acme", event: { event_type: "order.shipped", payload: json({ id: "o_3" }) } },
      acme.publishKey,
    );
    const event = await eventually(
      async () => {
        const res = await acme.clients.audit.getEvent({ tenantId: "acme", eventId: published.event_id });
        const done = res.deliveries.filter((d) => d.state === DeliveryState.SUCCEEDED);
        return done.length === 2 ? res : undefined;
      },
      20_000,
      "two succeeded deliveries",
    );
    expect(event.deliveries.map((d) => d.endpointId).sort()).toEqual(
      [endpoints.all.id, endpoints.orders.id].sort(),
    );
    expect(Buffer.from(event.payload).toString()).toBe('{"id":"o_3"}');
    // Each went through at its first attempt, so its status comes from that attempt (audit writes no
    // delivery document for it): one attempt, the receiver's 204, and when.
    for (const delivery of event.deliveries) {
      expect(delivery).toMatchObject({ attemptCount: 1, lastResponseStatus: 204 });
      expect(delivery.lastAttemptTime).toBeDefined();
    }

    const attempts = await acme.clients.audit.listAttempts({ tenantId: "acme", eventId: published.event_id });
    expect(attempts.attempts).toHaveLength(2);
    for (const attempt of attempts.attempts) {
      expect(attempt.success).toBe(true);
      expect(attempt.responseStatus).toBe(204);
      expect(attempt.attemptNumber).toBe(1);
    }
    // Globex's key sees none of it.
    const foreign = await globex.clients.audit
      .getEvent({ tenantId: "globex", eventId: published.event_id })
      .catch((e) => e);
    expect(String(foreign)).toMatch(/not_found|not found/i);
  });

  it("makes an event that matches no endpoint visible in audit", async () => {
    const published = await ingest.publishEvent(
      { tenant_id: "acme", event: { event_type: "invoice.voided", payload: json({}) } },
      acme.publishKey,
    );
    // "all" takes everything, so use a tenant without endpoints.
    const lonely = await createTenant(stack, "lonely");
    const orphan = await ingest.publishEvent(
      { tenant_id: "lonely", event: { event_type: "x.y", payload: json({}) } },
      lonely.publishKey,
    );
    const event = await eventually(
      async () => {
        const res = await lonely.clients.audit.getEvent({ tenantId: "lonely", eventId: orphan.event_id });
        return res.event?.routed ? res : undefined;
      },
      15_000,
      "routing record",
    );
    expect(event.event?.endpointIds).toEqual([]);
    expect(event.deliveries).toEqual([]);
    expect(published.event_id).not.toBe(orphan.event_id);
  });

  it("puts every span of one event into one trace across the four services", async () => {
    const published = await ingest.publishEvent(
      { tenant_id: "acme", event: { event_type: "order.traced", payload: json({ t: 1 }) } },
      acme.publishKey,
    );
    const spans = await eventually(
      async () => {
        const root = otlp.spans.find(
          (s) =>
            s.name === "herald.v1.IngestService/PublishEvent" &&
            s.attributes["herald.event_id"] === published.event_id,
        );
        if (!root) return undefined;
        const trace = otlp.spans.filter((s) => s.traceId === root.traceId);
        const services = new Set(trace.map((s) => s.service));
        const posts = trace.filter((s) => s.name === "POST");
        return services.size === 4 && posts.length === 2 && trace.some((s) => s.service === "herald-audit")
          ? trace
          : undefined;
      },
      20_000,
      "spans from all four services",
    );
    expect(new Set(spans.map((s) => s.service))).toEqual(
      new Set(["herald-ingest", "herald-routing", "herald-delivery", "herald-audit"]),
    );
    const post = spans.find((s) => s.name === "POST");
    expect(post?.attributes["http.response.status_code"]).toBe(204);
    expect(post?.attributes["http.request.method"]).toBe("POST");
    // Secrets and payloads stay out of traces; the custom header reaches its receiver and nothing else.
    const text = JSON.stringify(spans);
    expect(text).not.toContain(endpoints.all.secret.slice(6));
    expect(text).not.toContain('"t":1');
    expect(receivers.all.requests.at(-1)?.headers.authorization).toBe(`Bearer ${RECEIVER_TOKEN}`);
    expect(JSON.stringify(otlp.spans)).not.toContain(RECEIVER_TOKEN);
    for (const service of SERVICES) expect(stack.logs(service)).not.toContain(RECEIVER_TOKEN);
    const stored = await new MongoClient(stack.env.MONGO_URL as string).connect().then(async (client) => {
      try {
        return await client
          .db(stack.env.MONGO_DB)
          .collection("endpoints")
          .findOne({ _id: endpoints.all.id as never });
      } finally {
        await client.close();
      }
    });
    expect(stored?.sealed_headers).toMatch(/^v1:/);
    expect(JSON.stringify(stored)).not.toContain(RECEIVER_TOKEN);
  });
});

describe("bad input to ingest", () => {
  let mongo: MongoClient;
  beforeAll(async () => {
    mongo = new MongoClient(stack.env.MONGO_URL as string);
  });
  afterAll(async () => {
    await mongo?.close();
  });
  const countEvents = () => mongo.db(stack.env.MONGO_DB).collection("events").countDocuments({});

  it.each([
    [
      "an oversize payload",
      { event_type: "a.b", payload: Buffer.from(`{"x":"${"y".repeat(300 * 1024)}"}`) },
      grpc.status.INVALID_ARGUMENT,
      /event\.payload: .*over this tenant's limit/,
    ],
    [
      "a non-JSON payload",
      { event_type: "a.b", payload: Buffer.from("<xml/>") },
      grpc.status.INVALID_ARGUMENT,
      /event\.payload: is not valid JSON/,
    ],
    [
      "a JSON array payload",
      { event_type: "a.b", payload: Buffer.from("[1]") },
      grpc.status.INVALID_ARGUMENT,
      /JSON object/,
    ],
    [
      "a bad event type",
      { event_type: "Order Created!", payload: json({}) },
      grpc.status.INVALID_ARGUMENT,
      /event\.event_type/,
    ],
  ])("refuses %s with a clear error and stores nothing", async (_name, event, code, message) => {
    const before = await countEvents();
    const err = (await ingest
      .publishEvent({ tenant_id: "acme", event }, acme.publishKey)
      .catch((e) => e)) as grpc.ServiceError;
    expect(err.code).toBe(code);
    expect(err.details).toMatch(message);
    expect(await countEvents()).toBe(before);
  });

  it("refuses an unknown tenant, a disabled tenant and a wrong key", async () => {
    const before = await countEvents();
    const admin = adminClients(stack);
    const unknown = (await ingest
      .publishEvent(
        { tenant_id: "nobody", event: { event_type: "a.b", payload: json({}) } },
        "test-admin-key-0123456789abcdef0123456789abcdef",
      )
      .catch((e) => e)) as grpc.ServiceError;
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);

    const paused = await createTenant(stack, "paused");
    await admin.tenants.disableTenant({ tenantId: "paused" });
    const disabled = await eventually(
      async () => {
        const err = (await ingest
          .publishEvent(
            { tenant_id: "paused", event: { event_type: "a.b", payload: json({}) } },
            paused.publishKey,
          )
          .then(
            () => undefined,
            (e) => e,
          )) as grpc.ServiceError | undefined;
        return err;
      },
      5_000,
      "disabled tenant refused",
    );
    expect(disabled.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(disabled.details).toMatch(/disabled/);

    const wrong = (await ingest
      .publishEvent({ tenant_id: "acme", event: { event_type: "a.b", payload: json({}) } }, "hk_not_a_key")
      .catch((e) => e)) as grpc.ServiceError;
    expect(wrong.code).toBe(grpc.status.UNAUTHENTICATED);
    const wrongScope = (await ingest
      .publishEvent(
        { tenant_id: "acme", event: { event_type: "a.b", payload: json({}) } },
        acme.fullKey.replace(/.$/, "x"),
      )
      .catch((e) => e)) as grpc.ServiceError;
    expect(wrongScope.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(await countEvents()).toBe(before);
  });

  it("answers a batch item by item", async () => {
    const res = await ingest.publishEvents(
      {
        tenant_id: "acme",
        events: [
          { event_type: "batch.ok", payload: json({ n: 1 }) },
          { event_type: "BAD", payload: json({ n: 2 }) },
          { event_type: "batch.ok", payload: json({ n: 3 }) },
        ],
      },
      acme.publishKey,
    );
    expect(res.results.map((r) => Boolean(r.event_id))).toEqual([true, false, true]);
    expect(res.results[1]?.error_code).toBe("INVALID_ARGUMENT");
    expect(res.results[1]?.error_message).toMatch(/^events\[1\]\.event_type/);
  });
});
