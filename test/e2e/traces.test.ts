import { topologyNames } from "@herald/platform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./support/clients.js";
import { createEndpoint, createTenant, eventually, type TestTenant } from "./support/fixtures.js";
import { type OtlpReceiver, otlpEnv, type ReceivedSpan, startOtlpReceiver } from "./support/otlp.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { freePort, type Stack, startStack } from "./support/stack.js";

// What an operator finds in the traces: every event of a batch by its id, why a delivery failed, and
// messaging spans named after the conventions.

let stack: Stack;
let otlp: OtlpReceiver;
let ingest: GrpcIngestClient;
let tenant: TestTenant;
let failing: Receiver;

const SPAN_STATUS_ERROR = 2;

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  // Retries after a second, so a retried delivery's second attempt comes within the test.
  stack = await startStack({ ...otlpEnv(otlp), RETRY_SCHEDULE: "1s" });
  ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
  tenant = await createTenant(stack, "traced");
  failing = await startReceiver();
  failing.reply = () => ({ status: 503 });
});

afterAll(async () => {
  ingest?.close();
  await failing?.close();
  await stack?.stop();
  await otlp?.close();
});

/** The first `deliver task` span of an event, once exported. */
function deliverSpan(eventId: string, what: string): Promise<ReceivedSpan> {
  return eventually(
    async () =>
      otlp.spans.find((s) => s.name === "deliver task" && s.attributes["herald.event_id"] === eventId),
    20_000,
    what,
  );
}

describe("traces", () => {
  it("makes every event of a PublishEvents batch findable by herald.event_id in ingest", async () => {
    const { results } = await ingest.publishEvents(
      {
        tenant_id: tenant.id,
        events: [1, 2, 3].map((n) => ({ event_type: "batch.item", payload: Buffer.from(`{"n":${n}}`) })),
      },
      tenant.publishKey,
    );
    const ids = results.map((r) => r.event_id);
    expect(ids).toHaveLength(3);
    const call = await eventually(
      async () =>
        otlp.spans.find(
          (s) => s.service === "herald-ingest" && s.name === "herald.v1.IngestService/PublishEvents",
        ),
      15_000,
      "PublishEvents span",
    );
    const recorded = call.events
      .filter((e) => e.name === "event accepted")
      .map((e) => e.attributes["herald.event_id"]);
    expect(recorded).toEqual(ids);
  });

  it("says on a failed delivery's span why it failed: the status it got, or a refused connection", async () => {
    const refusedPort = await freePort();
    const answered = await createEndpoint(tenant, failing.url, { eventTypes: ["fail.status"] });
    const refused = await createEndpoint(tenant, `http://127.0.0.1:${refusedPort}/hook`, {
      eventTypes: ["fail.refused"],
    });
    expect(answered.id && refused.id).toBeTruthy();
    const status = await ingest.publishEvent(
      { tenant_id: tenant.id, event: { event_type: "fail.status", payload: Buffer.from("{}") } },
      tenant.publishKey,
    );
    const connection = await ingest.publishEvent(
      { tenant_id: tenant.id, event: { event_type: "fail.refused", payload: Buffer.from("{}") } },
      tenant.publishKey,
    );

    const byStatus = await deliverSpan(status.event_id, "deliver span of the 503");
    expect(byStatus.status).toEqual({ code: SPAN_STATUS_ERROR, message: "the receiver answered HTTP 503" });
    expect(byStatus.attributes).toMatchObject({
      "error.type": "503",
      "herald.failure_reason": "the receiver answered HTTP 503",
      "herald.response_status": 503,
    });

    const byRefusal = await deliverSpan(connection.event_id, "deliver span of the refused connection");
    expect(byRefusal.status.code).toBe(SPAN_STATUS_ERROR);
    expect(byRefusal.status.message).toContain("ECONNREFUSED");
    expect(byRefusal.attributes["error.type"]).toBe("connection");
    expect(String(byRefusal.attributes["herald.failure_reason"])).toContain("ECONNREFUSED");
    const post = otlp.spans.find((s) => s.name === "POST" && s.parentSpanId === byRefusal.spanId);
    expect(post?.attributes["error.type"]).toBe("connection");
    expect(post?.status.message).toContain("ECONNREFUSED");
  });

  it("keeps a retried delivery in its event's trace through the retry tier", async () => {
    const flaky = await startReceiver();
    try {
      flaky.reply = (_request, count) => ({ status: count === 1 ? 503 : 204 });
      await createEndpoint(tenant, flaky.url, { eventTypes: ["retry.traced"] });
      const published = await ingest.publishEvent(
        { tenant_id: tenant.id, event: { event_type: "retry.traced", payload: Buffer.from("{}") } },
        tenant.publishKey,
      );
      const attempts = await eventually(
        async () => {
          const spans = otlp.spans.filter(
            (s) => s.name === "deliver task" && s.attributes["herald.event_id"] === published.event_id,
          );
          return spans.length >= 2 ? spans : undefined;
        },
        20_000,
        "deliver spans of the first attempt and its retry",
      );
      expect(flaky.requests.length).toBe(2);
      expect(attempts.map((s) => s.attributes["herald.attempt"]).sort()).toEqual([1, 2]);
      const root = otlp.spans.find(
        (s) =>
          s.name === "herald.v1.IngestService/PublishEvent" &&
          s.attributes["herald.event_id"] === published.event_id,
      );
      expect(root).toBeDefined();
      expect(attempts.map((s) => s.traceId)).toEqual([root?.traceId, root?.traceId]);
    } finally {
      await flaky.close();
    }
  });

  it("names every messaging span `<operation> <destination>` after the conventions", async () => {
    const messaging = otlp.spans.filter((s) => s.attributes["messaging.system"] === "rabbitmq");
    expect(messaging.length).toBeGreaterThan(0);
    for (const span of messaging) {
      const operation = String(span.attributes["messaging.operation.name"]);
      const destination = String(span.attributes["messaging.destination.name"]);
      expect(span.name, JSON.stringify(span.attributes)).toBe(`${operation} ${destination}`);
    }
    const names = new Set(messaging.map((s) => s.name));
    // Events and tasks travel through their tenant's shard (docs/decisions/fair-delivery.md).
    const { shardExchanges } = topologyNames(stack.env.AMQP_NAMESPACE);
    expect(names).toContain(`publish ${shardExchanges.events}`);
    expect(names).toContain(`process ${shardExchanges.events}`);
    expect(names).toContain(`publish ${shardExchanges.deliveries}`);
    expect(names).toContain(`process ${shardExchanges.deliveries}`);
  });
});
