import { Scope, HealthCheckResponse_ServingStatus as ServingStatus } from "@herald/contracts";
import { startTcpProxy, type TcpProxy } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcIngestClient } from "./support/clients.js";
import { createEndpoint, createTenant, eventually } from "./support/fixtures.js";
import { readMetrics } from "./support/metrics.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { revokeAndCount } from "./support/revocation.js";
import { SERVICES, type Stack, startStack } from "./support/stack.js";

// The stack reaches RabbitMQ and MongoDB through proxies the test can cut, so "RabbitMQ is down" and
// "MongoDB is down" happen to this stack only, not to the servers other tests share.
let stack: Stack;
let amqp: TcpProxy;
let mongo: TcpProxy;
let receiver: Receiver;

beforeAll(async () => {
  const amqpUrl = new URL(process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672");
  const mongoUrl = new URL(process.env.MONGO_URL ?? "mongodb://127.0.0.1:27017");
  amqp = await startTcpProxy(amqpUrl.hostname, Number(amqpUrl.port || 5672));
  mongo = await startTcpProxy(mongoUrl.hostname, Number(mongoUrl.port || 27017));
  amqpUrl.host = `127.0.0.1:${amqp.port}`;
  mongoUrl.host = `127.0.0.1:${mongo.port}`;
  stack = await startStack({ AMQP_URL: amqpUrl.toString(), MONGO_URL: mongoUrl.toString() });
  receiver = await startReceiver();
});

afterAll(async () => {
  await amqp?.restore().catch(() => undefined);
  await mongo?.restore().catch(() => undefined);
  await receiver?.close();
  await stack?.stop();
  await amqp?.close();
  await mongo?.close();
});

async function readiness(): Promise<number[]> {
  return Promise.all(
    SERVICES.map(async (s) => {
      try {
        return (await fetch(`${stack.url(s)}/readyz`)).status;
      } catch (err) {
        throw new Error(`${s} does not answer: ${(err as Error).message}\n${stack.logs(s).slice(-3000)}`);
      }
    }),
  );
}

async function grpcHealth(service: (typeof SERVICES)[number]): Promise<ServingStatus> {
  const res = await fetch(`${stack.url(service)}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  const body = (await res.json()) as { status?: string };
  return ServingStatus[(body.status ?? "UNKNOWN") as keyof typeof ServingStatus];
}

/** The value of the first series of `name` that has every one of `labels`, else NaN. */
async function metric(
  service: (typeof SERVICES)[number],
  name: string,
  ...labels: string[]
): Promise<number> {
  return (await readMetrics(stack, service))(name, ...labels);
}

describe("operating a stack", () => {
  it("counts real deliveries in /metrics by the right amount", async () => {
    const tenant = await createTenant(stack, "metered");
    await createEndpoint(tenant, receiver.url);
    await createEndpoint(tenant, receiver.url);
    // Nothing was delivered by this stack yet, so the series do not exist before.
    expect(await metric("ingest", "herald_events_ingested_total", 'outcome="accepted"')).toBeNaN();
    const client = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
    try {
      for (let i = 0; i < 3; i++) {
        await client.publishEvent(
          { tenant_id: "metered", event: { event_type: "m.x", payload: Buffer.from(`{"i":${i}}`) } },
          tenant.publishKey,
        );
      }
    } finally {
      client.close();
    }
    await receiver.waitFor(6);
    expect(
      await metric("ingest", "herald_events_ingested_total", 'outcome="accepted"', 'tenant="metered"'),
    ).toBe(3);
    await eventually(
      async () =>
        (await metric("delivery", "herald_deliveries_total", 'outcome="succeeded"')) === 6 ? true : undefined,
      5_000,
      "6 succeeded deliveries",
    );
    expect(await metric("delivery", "herald_attempt_duration_seconds_count", 'outcome="succeeded"')).toBe(6);
    expect(await metric("delivery", "herald_retry_lag_seconds_count")).toBe(6);
    expect(await metric("delivery", "herald_queue_messages_ready", 'queue="herald.retry.1000ms"')).toBe(0);
    expect(await metric("delivery", "herald_dead_letters_total")).toBe(0);
    expect(await metric("ingest", "herald_ingest_step_seconds_count", 'step="store"')).toBe(3);
    expect(await metric("ingest", "herald_ingest_step_seconds_count", 'step="confirm"')).toBe(3);
    // Audit writes in batches of its own pace: all six attempts and three routings, in at least one batch.
    await eventually(
      async () =>
        (await metric("audit", "herald_audit_records_stored_total", 'kind="attempt"')) === 6
          ? true
          : undefined,
      5_000,
      "6 attempts stored",
    );
    expect(await metric("audit", "herald_audit_records_stored_total", 'kind="routing"')).toBe(3);
    expect(await metric("audit", "herald_audit_batch_write_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(await metric("audit", "herald_audit_batch_records_sum")).toBe(9);
  });

  it("reports NOT_SERVING while MongoDB is unreachable, and SERVING when it is back", async () => {
    expect(await readiness()).toEqual([200, 200, 200, 200]);
    await mongo.cut();
    await eventually(
      async () => ((await readiness()).every((s) => s === 503) ? true : undefined),
      10_000,
      "all 503",
    );
    expect(await grpcHealth("ingest")).toBe(ServingStatus.NOT_SERVING);
    const body = await (await fetch(`${stack.url("audit")}/readyz`)).json();
    expect(body).toEqual({ service: "audit", ready: false, failing: ["mongodb"] });
    await mongo.restore();
    await eventually(
      async () => ((await readiness()).every((s) => s === 200) ? true : undefined),
      20_000,
      "all 200",
    );
    expect(await grpcHealth("ingest")).toBe(ServingStatus.SERVING);
  });

  it("refuses a revoked key everywhere within 1 s while every service is cut off from RabbitMQ", async () => {
    await createTenant(stack, "cut-off");
    try {
      // No notification can reach anyone: only the key cache's 1 s bound (and routing's own
      // forgetting) stands between the revocation and the key's next use.
      const key = {
        name: "revoked offline",
        tenantId: "cut-off",
        scopes: [Scope.EVENTS_PUBLISH, Scope.ENDPOINTS_MANAGE, Scope.AUDIT_READ],
      };
      expect(await revokeAndCount(stack, key, "cut-off", () => amqp.cut())).toEqual({
        before: ["ok", "ok", "ok"],
        // No instance can acknowledge: RevokeApiKey answers at the 1 s bound, when no cache trusts the
        // key any more, so even the first calls are refused.
        firstRefused: 3,
        refused: 3,
      });
    } finally {
      await amqp.restore();
    }
    await eventually(
      async () => ((await readiness()).every((s) => s === 200) ? true : undefined),
      30_000,
      "all 200",
    );
  });

  it("reports NOT_SERVING while RabbitMQ is unreachable, and SERVING when it is back", async () => {
    await amqp.cut();
    await eventually(
      async () => ((await readiness()).every((s) => s === 503) ? true : undefined),
      10_000,
      "all 503",
    );
    expect(await grpcHealth("delivery")).toBe(ServingStatus.NOT_SERVING);
    await amqp.restore();
    await eventually(
      async () => ((await readiness()).every((s) => s === 200) ? true : undefined),
      30_000,
      "all 200",
    );
    // And it works again end to end.
    const tenant = await createTenant(stack, "after-outage");
    const r = await startReceiver();
    try {
      await createEndpoint(tenant, r.url);
      const client = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
      try {
        await eventually(
          () =>
            client
              .publishEvent(
                { tenant_id: "after-outage", event: { event_type: "a.b", payload: Buffer.from("{}") } },
                tenant.publishKey,
              )
              .then((res) => res.event_id),
          15_000,
          "publish after the outage",
        );
      } finally {
        client.close();
      }
      await r.waitFor(1, 20_000);
    } finally {
      await r.close();
    }
  });
});
