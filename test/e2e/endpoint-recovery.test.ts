import { Code, ConnectError } from "@connectrpc/connect";
import { CircuitState, DeliveryState, ErrorClass } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { stackPerFile } from "./support/file-stack.js";
import { createEndpoint, createTenant, eventually, type TestTenant } from "./support/fixtures.js";
import { readMetrics } from "./support/metrics.js";
import type { Receiver } from "./support/receiver.js";

// The receivers listen on 127.0.0.1, but only the host name "localhost" is allowlisted: endpoints reach
// them by that name. An open circuit parks tasks for a minute, far longer than the replays may take.
const REPLAY_BOUND_MS = 8_000;

const e2e = stackPerFile({
  HERALD_URL_ALLOWLIST: "localhost",
  RETRY_TIERS: "1s,2s,1m",
  // The first retry a minute after a failure: a retry still under way when an operator's replay closes
  // the circuit would be sent too (the same event again), and the health figures below would depend on
  // how fast the test got to Recover.
  RETRY_SCHEDULE: "1m",
  DELIVERY_TIMEOUT_MS: "1000",
  CIRCUIT_MIN_ATTEMPTS: "3",
  CIRCUIT_FAILURE_RATIO: "0.5",
  CIRCUIT_COOLDOWN: "1m",
  CIRCUIT_MAX_COOLDOWN: "1m",
  HEALTH_BACKLOG_INTERVAL: "500ms",
});

const { receiver } = e2e;
/** A receiver's URL by the allowlisted name: http://localhost:<port>/webhook. */
const byName = (r: Receiver) => r.url.replace("127.0.0.1", "localhost");

let tenantCount = 0;
function tenant(): Promise<TestTenant> {
  tenantCount += 1;
  return createTenant(e2e.stack, `recovery${tenantCount}`);
}

async function publish(t: TestTenant, n: number): Promise<string> {
  const res = await e2e.ingest.publishEvent(
    { tenant_id: t.id, event: { event_type: "order.created", payload: Buffer.from(JSON.stringify({ n })) } },
    t.publishKey,
  );
  return res.event_id;
}

async function openCircuits(): Promise<number> {
  return (await readMetrics(e2e.stack, "delivery"))("herald_circuits", 'state="open"');
}

/** Lets an endpoint fail three first attempts, which opens its circuit; returns the event ids. */
async function failUntilCircuitOpens(t: TestTenant, r: Receiver, endpointId: string): Promise<string[]> {
  const before = await openCircuits();
  r.reply = () => ({ status: 500, body: "down" });
  const ids = [await publish(t, 1), await publish(t, 2), await publish(t, 3)];
  await r.waitFor(3);
  await eventually(async () => ((await openCircuits()) > before ? true : undefined), 10_000, "circuit open");
  for (const eventId of ids) {
    await eventually(
      async () => {
        const res = await t.clients.audit.getEvent({ tenantId: t.id, eventId });
        const delivery = res.deliveries.find((d) => d.endpointId === endpointId);
        return delivery?.state === DeliveryState.FAILED ? true : undefined;
      },
      10_000,
      "delivery FAILED",
    );
  }
  return ids;
}

const webhookIds = (requests: Receiver["requests"]) =>
  requests.map((req) => String(req.headers["webhook-id"]));

describe("endpoints on an allowlisted host name", () => {
  it("are created and delivered to; the address behind the name is not allowlisted by it", async () => {
    const t = await tenant();
    const r = await receiver();
    const ep = await createEndpoint(t, byName(r));
    expect(ep.id).toMatch(/^ep_/);
    const eventId = await publish(t, 1);
    const [got] = await r.waitFor(1, 10_000);
    expect(got?.headers["webhook-id"]).toBe(eventId);

    const refused = await t.clients.endpoints.createEndpoint({ tenantId: t.id, url: r.url }).catch((e) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.InvalidArgument);
    expect((refused as ConnectError).rawMessage).toMatch(/host "127.0.0.1" is a loopback address/);
  });
});

describe("an operator recovering an endpoint whose circuit is open", () => {
  it("gets Recover's replays delivered within seconds, not after the cooldown", async () => {
    const t = await tenant();
    const r = await receiver();
    const ep = await createEndpoint(t, byName(r));
    const since = new Date(Date.now() - 1_000);
    const ids = await failUntilCircuitOpens(t, r, ep.id);

    // The endpoint's health tells what happened, read from audit's rollups over gRPC. The backlog is
    // counted by a background pass, the rollups written up to HEALTH_ROLLUP_INTERVAL after the attempts.
    const health = await eventually(
      async () => {
        const res = await t.clients.audit.getEndpointHealth({ tenantId: t.id, endpointId: ep.id });
        const counted = res.health?.windows[0]?.attempts === 3n;
        return counted && res.health?.backlog === 3n ? res.health : undefined;
      },
      30_000,
      "backlog and attempts of 3 counted",
    );
    expect(health.windows.map((w) => [w.attempts, w.failed])).toEqual([
      [3n, 3n],
      [3n, 3n],
      [3n, 3n],
    ]);
    expect(health.windows[0]?.statusClasses?.status5xx).toBe(3n);
    expect(health.windows[0]?.failures.map((f) => [f.errorClass, f.count])).toEqual([
      [ErrorClass.HTTP_STATUS, 3n],
    ]);
    expect(health.circuitState).toBe(CircuitState.MAYBE_OPEN);
    expect(health.lastSuccessTime).toBeUndefined();

    r.reply = () => ({ status: 204 });
    const recovered = await t.clients.audit.recover({
      tenantId: t.id,
      endpointId: ep.id,
      since: { seconds: BigInt(Math.floor(since.getTime() / 1000)), nanos: 0 },
    });
    expect(recovered.requeued).toBe(3);
    const after = await r.waitFor(6, REPLAY_BOUND_MS);
    expect(new Set(webhookIds(after.slice(3)))).toEqual(new Set(ids));
    // Three failures and three replays, and no backlog once they are recorded. What was seen last
    // goes into the failure message (figures, and the attempt log as [event, number, trigger, success]).
    let seen: unknown;
    const healed = await eventually(
      async () => {
        const res = await t.clients.audit.getEndpointHealth({ tenantId: t.id, endpointId: ep.id });
        const { attempts } = await t.clients.audit.listAttempts({ tenantId: t.id, endpointId: ep.id });
        const w = res.health?.windows[0];
        seen = {
          attempts: w?.attempts,
          succeeded: w?.succeeded,
          backlog: res.health?.backlog,
          log: attempts.map((a) => [ids.indexOf(a.eventId), a.attemptNumber, a.trigger, a.success]),
        };
        return w?.succeeded === 3n && res.health?.backlog === 0n ? res.health : undefined;
      },
      // Backlogs are counted by a background pass (every 500 ms here), which a busy machine slows.
      30_000,
      "replays in the endpoint's health",
    ).catch((err: Error) => {
      const figures = JSON.stringify(seen, (_, v) => (typeof v === "bigint" ? Number(v) : v));
      throw new Error(`${err.message}; last seen ${figures}`);
    });
    expect(healed.windows[0]).toMatchObject({ attempts: 6n, successRate: 0.5 });
    expect(healed.circuitState).toBe(CircuitState.CLOSED);
  });

  it("gets a Redeliver through at once", async () => {
    const t = await tenant();
    const r = await receiver();
    const ep = await createEndpoint(t, byName(r));
    const [first] = await failUntilCircuitOpens(t, r, ep.id);

    r.reply = () => ({ status: 204 });
    await t.clients.audit.redeliver({ tenantId: t.id, eventId: first as string, endpointId: ep.id });
    const after = await r.waitFor(4, REPLAY_BOUND_MS);
    expect(webhookIds(after.slice(3))).toEqual([first]);
  });

  it("closes the circuit when the endpoint is enabled, so new events go out at once", async () => {
    const t = await tenant();
    const r = await receiver();
    const ep = await createEndpoint(t, byName(r));
    await failUntilCircuitOpens(t, r, ep.id);

    r.reply = () => ({ status: 204 });
    const open = await openCircuits();
    await t.clients.endpoints.disableEndpoint({ tenantId: t.id, endpointId: ep.id });
    await t.clients.endpoints.enableEndpoint({ tenantId: t.id, endpointId: ep.id });
    // The control notification reaches delivery on its own queue: the circuit closes within moments.
    await eventually(async () => ((await openCircuits()) < open ? true : undefined), 5_000, "circuit reset");
    const fresh = await publish(t, 4);
    const got = await eventually(
      async () => (webhookIds(r.requests).includes(fresh) ? true : undefined),
      REPLAY_BOUND_MS,
      "the new event delivered",
    );
    expect(got).toBe(true);
  });
});
