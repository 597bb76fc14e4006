import { AttemptTrigger, DeliveryState, DisabledReason, ErrorClass } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { stackPerFile } from "./support/file-stack.js";
import { createEndpoint, createTenant, eventually, type TestTenant } from "./support/fixtures.js";
import { freePort } from "./support/stack.js";

// A seconds-scale schedule: 3 attempts, 1 s apart; tiers short enough to keep the suite quick.
const e2e = stackPerFile({
  RETRY_TIERS: "1s,2s,4s",
  RETRY_SCHEDULE: "1s,1s",
  DELIVERY_TIMEOUT_MS: "1000",
  CIRCUIT_MIN_ATTEMPTS: "1000",
});

const { receiver } = e2e;

let tenantCount = 0;
async function tenant(): Promise<TestTenant> {
  tenantCount += 1;
  return createTenant(e2e.stack, `fail${tenantCount}`);
}

async function publish(t: TestTenant, type = "order.created", payload: object = { n: 1 }): Promise<string> {
  const res = await e2e.ingest.publishEvent(
    { tenant_id: t.id, event: { event_type: type, payload: Buffer.from(JSON.stringify(payload)) } },
    t.publishKey,
  );
  return res.event_id;
}

async function deliveryState(t: TestTenant, eventId: string, endpointId: string) {
  const res = await t.clients.audit.getEvent({ tenantId: t.id, eventId });
  return res.deliveries.find((d) => d.endpointId === endpointId);
}

async function waitForState(
  t: TestTenant,
  eventId: string,
  endpointId: string,
  state: DeliveryState,
  timeoutMs = 15_000,
) {
  return eventually(
    async () => {
      const delivery = await deliveryState(t, eventId, endpointId);
      return delivery?.state === state ? delivery : undefined;
    },
    timeoutMs,
    `delivery ${DeliveryState[state]}`,
  );
}

describe("when receivers fail", () => {
  it("delivers on attempt 2 after a 500, with the same webhook-id and a new timestamp", async () => {
    const t = await tenant();
    const r = await receiver();
    r.reply = (_req, n) => (n === 1 ? { status: 500, body: "oops" } : { status: 204 });
    const ep = await createEndpoint(t, r.url);
    const eventId = await publish(t);
    const [first, second] = await r.waitFor(2);
    expect(first?.headers["webhook-id"]).toBe(eventId);
    expect(second?.headers["webhook-id"]).toBe(eventId);
    expect(Number(second?.headers["webhook-timestamp"])).toBeGreaterThan(
      Number(first?.headers["webhook-timestamp"]) - 1,
    );
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(700);
    const delivery = await waitForState(t, eventId, ep.id, DeliveryState.SUCCEEDED);
    expect(delivery.attemptCount).toBe(2);
    const attempts = await t.clients.audit.listAttempts({ tenantId: t.id, eventId });
    expect(attempts.attempts.map((a) => [a.attemptNumber, a.success, a.responseStatus])).toEqual([
      [2, true, 204],
      [1, false, 500],
    ]);
    expect(attempts.attempts[1]?.responseBody).toBe("oops");
  });

  it("dead-letters after the last attempt, then Redrive delivers once the receiver recovers", async () => {
    const t = await tenant();
    const r = await receiver();
    let healthy = false;
    r.reply = () => (healthy ? { status: 200 } : { status: 500 });
    const ep = await createEndpoint(t, r.url);
    const eventId = await publish(t);
    await waitForState(t, eventId, ep.id, DeliveryState.DEAD);
    expect(r.requests).toHaveLength(3);

    healthy = true;
    const redriven = await t.clients.audit.redrive({ tenantId: t.id, endpointId: ep.id });
    expect(redriven.requeued).toBe(1);
    await r.waitFor(4);
    await waitForState(t, eventId, ep.id, DeliveryState.SUCCEEDED);
    const attempts = await t.clients.audit.listAttempts({ tenantId: t.id, eventId, success: true });
    expect(attempts.attempts).toHaveLength(1);
    expect(attempts.attempts[0]?.trigger).toBe(AttemptTrigger.MANUAL);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(r.requests).toHaveLength(4);
  });

  it("waits as long as a 429's Retry-After asks", async () => {
    const t = await tenant();
    const r = await receiver();
    r.reply = (_req, n) => (n === 1 ? { status: 429, headers: { "retry-after": "2" } } : { status: 200 });
    // Retry-After is honoured within the schedule's bounds, here 1 s to 4 s.
    await createEndpoint(t, r.url, { retrySchedule: [1_000, 4_000] });
    await publish(t);
    const [first, second] = await r.waitFor(2);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1_800);
  });

  it("disables the endpoint on 410 Gone and sends it nothing more", async () => {
    const t = await tenant();
    const r = await receiver();
    r.reply = () => ({ status: 410 });
    const ep = await createEndpoint(t, r.url);
    const eventId = await publish(t);
    await waitForState(t, eventId, ep.id, DeliveryState.DEAD);
    const { endpoint } = await t.clients.endpoints.getEndpoint({ tenantId: t.id, endpointId: ep.id });
    expect(endpoint?.disabled).toBe(true);
    expect(endpoint?.disabledReason).toBe(DisabledReason.GONE);
    await publish(t);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(r.requests).toHaveLength(1);
  });

  it("times out a receiver that hangs, records it, and retries", async () => {
    const t = await tenant();
    const r = await receiver();
    r.reply = (_req, n) => (n === 1 ? "hang" : { status: 200 });
    const ep = await createEndpoint(t, r.url);
    const eventId = await publish(t);
    await waitForState(t, eventId, ep.id, DeliveryState.SUCCEEDED);
    const attempts = await t.clients.audit.listAttempts({ tenantId: t.id, eventId, success: false });
    expect(attempts.attempts[0]?.errorClass).toBe(ErrorClass.TIMEOUT);
  });

  it("recovers every event missed while a receiver was down", async () => {
    const t = await tenant();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/webhook`;
    const ep = await createEndpoint(t, url);
    const since = new Date(Date.now() - 1_000);
    const ids = [
      await publish(t, "a.b", { n: 1 }),
      await publish(t, "a.b", { n: 2 }),
      await publish(t, "a.b", { n: 3 }),
    ];
    for (const id of ids) await waitForState(t, id, ep.id, DeliveryState.DEAD);
    const failed = await t.clients.audit.listAttempts({ tenantId: t.id, endpointId: ep.id, success: false });
    expect(failed.attempts.every((a) => a.errorClass === ErrorClass.CONNECTION)).toBe(true);

    // The receiver comes back on its old address.
    const http = await import("node:http");
    const got: string[] = [];
    const server = http.createServer((req, res) => {
      got.push(String(req.headers["webhook-id"]));
      req.resume();
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    try {
      const recovered = await t.clients.audit.recover({
        tenantId: t.id,
        endpointId: ep.id,
        since: { seconds: BigInt(Math.floor(since.getTime() / 1000)), nanos: 0 },
      });
      expect(recovered.requeued).toBe(3);
      await eventually(async () => (got.length >= 3 ? true : undefined), 10_000, "3 recovered deliveries");
      expect(new Set(got)).toEqual(new Set(ids));
      for (const id of ids) await waitForState(t, id, ep.id, DeliveryState.SUCCEEDED);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("recovers what a disabled endpoint missed once it is enabled again", async () => {
    const t = await tenant();
    const r = await receiver();
    const ep = await createEndpoint(t, r.url);
    const since = new Date(Date.now() - 1_000);
    await t.clients.endpoints.disableEndpoint({ tenantId: t.id, endpointId: ep.id });
    const missed = [await publish(t, "a.b", { n: 1 }), await publish(t, "a.b", { n: 2 })];
    for (const id of missed) {
      const dead = await waitForState(t, id, ep.id, DeliveryState.DEAD);
      expect(dead.attemptCount).toBe(1);
    }
    expect(r.requests).toHaveLength(0);
    const attempts = await t.clients.audit.listAttempts({ tenantId: t.id, endpointId: ep.id });
    expect(attempts.attempts.every((a) => /endpoint is disabled/.test(a.errorMessage))).toBe(true);

    await t.clients.endpoints.enableEndpoint({ tenantId: t.id, endpointId: ep.id });
    const recovered = await t.clients.audit.recover({
      tenantId: t.id,
      endpointId: ep.id,
      since: { seconds: BigInt(Math.floor(since.getTime() / 1000)), nanos: 0 },
    });
    expect(recovered.requeued).toBe(2);
    await r.waitFor(2);
    expect(new Set(r.requests.map((req) => req.headers["webhook-id"]))).toEqual(new Set(missed));
  });

  it("does not hold a short retry behind a long one in another tier (no head-of-line blocking)", async () => {
    const t = await tenant();
    const slowReceiver = await receiver();
    const fastReceiver = await receiver();
    slowReceiver.reply = (_req, n) => (n === 1 ? { status: 500 } : { status: 200 });
    fastReceiver.reply = (_req, n) => (n === 1 ? { status: 500 } : { status: 200 });
    await createEndpoint(t, slowReceiver.url, { eventTypes: ["slow.*"], retrySchedule: [4_000] });
    await createEndpoint(t, fastReceiver.url, { eventTypes: ["fast.*"], retrySchedule: [1_000] });
    await publish(t, "slow.one");
    await slowReceiver.waitFor(1);
    await publish(t, "fast.one");
    const [, fastRetry] = await fastReceiver.waitFor(2);
    const [slowFirst, slowRetry] = await slowReceiver.waitFor(2, 15_000);
    // The fast one failed later but was retried first.
    expect(fastRetry?.at ?? 0).toBeLessThan(slowRetry?.at ?? 0);
    expect((slowRetry?.at ?? 0) - (slowFirst?.at ?? 0)).toBeGreaterThanOrEqual(3_000);
  });

  it("keeps an endpoint at its rate limit from slowing another endpoint", async () => {
    const t = await tenant();
    const limited = await receiver();
    const free = await receiver();
    const { endpoint } = await t.clients.endpoints.createEndpoint({
      tenantId: t.id,
      url: limited.url,
      eventTypes: ["burst.*"],
      rateLimitPerSecond: 2,
    });
    expect(endpoint?.rateLimitPerSecond).toBe(2);
    await createEndpoint(t, free.url, { eventTypes: ["burst.*", "other.*"] });
    const started = Date.now();
    const batch = await e2e.ingest.publishEvents(
      {
        tenant_id: t.id,
        events: Array.from({ length: 8 }, (_, n) => ({
          event_type: "burst.x",
          payload: Buffer.from(JSON.stringify({ n })),
        })),
      },
      t.publishKey,
    );
    expect(batch.results.every((res) => res.event_id)).toBe(true);
    await free.waitFor(8);
    const freeDone = Date.now() - started;
    await limited.waitFor(8, 20_000);
    // No three requests within a second (a sliding window, not wall-clock buckets); the limiter spaces
    // admissions, so only the network between admission and arrival may shave a little off a gap.
    const arrivals = limited.requests.map((req) => req.at);
    const gaps = arrivals.slice(2).map((at, i) => at - (arrivals[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(900);
    const limitedDone = (limited.requests.at(-1)?.at ?? 0) - started;
    expect(freeDone).toBeLessThan(limitedDone);
    expect(limitedDone).toBeGreaterThanOrEqual(2_500);
  });
});
