import * as grpc from "@grpc/grpc-js";
import { Webhook } from "@herald/receiver";
import { beforeAll, describe, expect, it } from "vitest";
import { stackPerFile } from "./support/file-stack.js";
import { createEndpoint, createTenant, eventually, type TestTenant } from "./support/fixtures.js";
import type { ReceivedRequest, Receiver } from "./support/receiver.js";

// Operational webhooks end to end (issue 28's "Done when"): endpoint A answers 410 and endpoint B keeps
// failing past its threshold, and both the tenant's own operational endpoint and the operator's platform
// endpoint (HERALD_OPERATOR_TENANT) receive the matching herald.* events, signed and verified with
// @herald/receiver. Circuits stay out of it (CIRCUIT_MIN_ATTEMPTS is out of reach), so the events are the
// same on every run. B is retried about every second, reported as still failing once between 3 s and 6 s
// into its run (the next period would start at 6 s), and disabled at its first failure after 6 s.

const OPERATOR = "ops";
let shop: TestTenant;
let ops: TestTenant;

const e2e = stackPerFile({
  HERALD_OPERATOR_TENANT: OPERATOR,
  RETRY_TIERS: "1s,2s",
  RETRY_SCHEDULE: "1s,1s,1s,1s,1s,1s,1s,1s",
  ENDPOINT_DISABLE_AFTER: "6s",
  OPERATIONAL_FAILING_REPEAT: "3s",
  CIRCUIT_MIN_ATTEMPTS: "1000",
});

beforeAll(async () => {
  [shop, ops] = await Promise.all([createTenant(e2e.stack, "shop"), createTenant(e2e.stack, OPERATOR)]);
});

const { receiver } = e2e;

/** What an operational receiver verified: each request's type and payload, verified with its secret. */
function verified(
  requests: ReceivedRequest[],
  secret: string,
): Array<{ type: string; data: Record<string, unknown> }> {
  const webhook = new Webhook(secret);
  return requests.map((request) => {
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
    return {
      type: headers["webhook-event-type"] ?? "",
      data: webhook.verify(request.body, headers) as Record<string, unknown>,
    };
  });
}

/** Waits until the receiver verified an event of `type` whose payload has `fields`; returns its payload. */
function receivedEvent(
  r: Receiver,
  secret: string,
  type: string,
  fields: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return eventually(
    async () =>
      verified(r.requests, secret).find(
        (e) => e.type === type && Object.entries(fields).every(([k, v]) => e.data[k] === v),
      )?.data,
    30_000,
    `${type} ${JSON.stringify(fields)}`,
  );
}

describe("operational webhooks", () => {
  it("tell the tenant and the operator, signed, of an endpoint gone (410) and one failing past its threshold", async () => {
    const [gone, failing, tenantOps, platform] = await Promise.all([
      receiver(),
      receiver(),
      receiver(),
      receiver(),
    ]);
    gone.reply = () => ({ status: 410 });
    failing.reply = () => ({ status: 503, body: "down" });
    const a = await createEndpoint(shop, gone.url, { eventTypes: ["order.*"] });
    const b = await createEndpoint(shop, failing.url, { eventTypes: ["order.*"] });
    // The tenant subscribes its own endpoint to its operational events; the operator's gets everyone's.
    const shopOps = await createEndpoint(shop, tenantOps.url, { eventTypes: ["herald.*"] });
    const platformOps = await createEndpoint(ops, platform.url, { eventTypes: ["herald.endpoint.*"] });

    await e2e.ingest.publishEvent(
      { tenant_id: shop.id, event: { event_type: "order.created", payload: Buffer.from('{"id":1}') } },
      shop.publishKey,
    );

    for (const [r, secret] of [
      [tenantOps, shopOps.secret],
      [platform, platformOps.secret],
    ] as const) {
      // Both carry the source tenant: the operator's copy lives in the operator's tenant.
      const disabledA = await receivedEvent(r, secret, "herald.endpoint.disabled", { endpoint_id: a.id });
      expect(disabledA).toMatchObject({ tenant_id: shop.id, reason: "gone", endpoint_url: gone.url });
      const started = await receivedEvent(r, secret, "herald.endpoint.failing", {
        endpoint_id: b.id,
        phase: "started",
      });
      expect(started).toMatchObject({ tenant_id: shop.id, last_status: 503, last_error: "http_status" });
      const sustained = await receivedEvent(r, secret, "herald.endpoint.failing", {
        endpoint_id: b.id,
        phase: "sustained",
      });
      expect(sustained.failing_since).toBe(started.failing_since);
      const disabledB = await receivedEvent(r, secret, "herald.endpoint.disabled", { endpoint_id: b.id });
      expect(disabledB).toMatchObject({
        tenant_id: shop.id,
        reason: "failing",
        failing_since: started.failing_since,
      });
    }

    // Each fact once per receiver (the webhook-id is the stored event's id), and nothing else.
    for (const r of [tenantOps, platform]) {
      const ids = r.requests.map((req) => String(req.headers["webhook-id"]));
      expect(new Set(ids).size).toBe(ids.length);
    }
    const summary = (r: Receiver, secret: string) =>
      verified(r.requests, secret)
        .map((e) => `${e.type} ${e.data.endpoint_id} ${e.data.reason ?? e.data.phase}`)
        .sort();
    const expected = [
      `herald.endpoint.disabled ${a.id} gone`,
      `herald.endpoint.disabled ${b.id} failing`,
      `herald.endpoint.failing ${b.id} started`,
      `herald.endpoint.failing ${b.id} sustained`,
    ].sort();
    expect(summary(tenantOps, shopOps.secret)).toEqual(expected);
    expect(summary(platform, platformOps.secret)).toEqual(expected);

    // Both endpoints are disabled, with their reasons; the operational events are in the message logs.
    const { endpoint: readA } = await shop.clients.endpoints.getEndpoint({
      tenantId: shop.id,
      endpointId: a.id,
    });
    const { endpoint: readB } = await shop.clients.endpoints.getEndpoint({
      tenantId: shop.id,
      endpointId: b.id,
    });
    expect([readA?.disabled, readB?.disabled]).toEqual([true, true]);
    const logged = await ops.clients.audit.listEvents({
      tenantId: ops.id,
      eventType: "herald.endpoint.disabled",
    });
    const keys = logged.events.map((e) => e.idempotencyKey);
    expect(keys).toHaveLength(2);
    for (const id of [a.id, b.id])
      expect(keys.some((key) => key.startsWith(`herald:endpoint.disabled:${shop.id}:${id}:`))).toBe(true);
  });

  it("tells the operator of a tenant over its rate limit, once for the minute", async () => {
    const platform = await receiver();
    const platformOps = await createEndpoint(ops, platform.url, { eventTypes: ["herald.tenant.*"] });
    const burst = await createTenant(e2e.stack, "burst", { rateLimitPerSecond: 1 });
    const refusals: number[] = [];
    /** The minutes the refusals fell in: each is one fact (a burst rarely straddles two). */
    const minutes = new Set<number>();
    for (let i = 0; i < 4; i++) {
      await e2e.ingest
        .publishEvent(
          { tenant_id: burst.id, event: { event_type: "order.created", payload: Buffer.from(`{"n":${i}}`) } },
          burst.publishKey,
        )
        .catch((err: grpc.ServiceError) => {
          refusals.push(err.code);
          minutes.add(Math.floor(Date.now() / 60_000));
        });
    }
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((code) => code === grpc.status.RESOURCE_EXHAUSTED)).toBe(true);
    const event = await receivedEvent(platform, platformOps.secret, "herald.tenant.rate_limited", {
      tenant_id: burst.id,
    });
    expect(event.limit_per_second).toBe(1);
    // Further refusals within the minute are the same fact.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(
      verified(platform.requests, platformOps.secret).filter((e) => e.data.tenant_id === burst.id),
    ).toHaveLength(minutes.size);
  });

  it("refuses a tenant publishing Herald's operational types, naming the rule, and stores nothing", async () => {
    const err = await e2e.ingest
      .publishEvent(
        {
          tenant_id: shop.id,
          event: {
            event_type: "herald.endpoint.disabled",
            payload: Buffer.from('{"endpoint_id":"ep_fake"}'),
          },
        },
        shop.publishKey,
      )
      .then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(
      /^event\.event_type: "herald\.\*" is reserved for Herald's operational events/,
    );
    // The shop's log holds Herald's two (from the first test), under Herald's own keys, and not this one.
    const logged = await shop.clients.audit.listEvents({
      tenantId: shop.id,
      eventType: "herald.endpoint.disabled",
    });
    expect(logged.events).toHaveLength(2);
    expect(logged.events.every((e) => e.idempotencyKey.startsWith("herald:endpoint.disabled:ep_"))).toBe(
      true,
    );
  });
});
