import { SkipReason } from "@herald/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./support/clients.js";
import { createTenant, eventually, type TestTenant } from "./support/fixtures.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { type Stack, startStack } from "./support/stack.js";

// Endpoint filters end to end: an endpoint created with a CEL filter over Connect JSON (a plain HTTP
// POST, as curl sends it), events published over gRPC, deliveries received by a real HTTP server, and
// GetEvent saying why the endpoint did not take the event the filter refused.

let stack: Stack;
let ingest: GrpcIngestClient;
let acme: TestTenant;
let receiver: Receiver;
let endpointId = "";

const FILTER = 'payload.amount > 100 && payload.currency == "EUR"';

/** A Connect JSON call, as curl makes it. */
async function connectJson(
  path: string,
  body: object,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${stack.url("routing")}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${acme.fullKey}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function publish(payload: object): Promise<string> {
  const { event_id } = await ingest.publishEvent(
    {
      tenant_id: acme.id,
      event: { event_type: "order.created", payload: Buffer.from(JSON.stringify(payload)) },
    },
    acme.publishKey,
  );
  return event_id;
}

beforeAll(async () => {
  [stack, receiver] = await Promise.all([startStack(), startReceiver()]);
  ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
  acme = await createTenant(stack, "acme");
}, 90_000);

afterAll(async () => {
  ingest?.close();
  await receiver?.close();
  await stack?.stop();
});

describe("endpoint filters", () => {
  it("creates an endpoint with a filter over Connect JSON, and refuses a bad one with its position", async () => {
    const bad = await connectJson("herald.v1.EndpointService/CreateEndpoint", {
      tenantId: acme.id,
      url: receiver.url,
      filter: "payload.amount >",
    });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe("invalid_argument");
    expect(bad.json.message).toMatch(/^filter: .+ at 1:\d+$/);

    const created = await connectJson("herald.v1.EndpointService/CreateEndpoint", {
      tenantId: acme.id,
      url: receiver.url,
      eventTypes: ["order.*"],
      filter: FILTER,
    });
    expect(created.status).toBe(200);
    const endpoint = created.json.endpoint as { id: string; filter: string };
    expect(endpoint.filter).toBe(FILTER);
    endpointId = endpoint.id;
  });

  it("delivers only the event the filter takes, and GetEvent says why the other was not", async () => {
    const taken = await publish({ amount: 150, currency: "EUR" });
    const refused = await publish({ amount: 50, currency: "EUR" });

    const refusedEvent = await eventually(async () => {
      const res = await acme.clients.audit.getEvent({ tenantId: acme.id, eventId: refused });
      return res.event?.routed ? res : undefined;
    });
    expect(refusedEvent.event?.endpointIds).toEqual([]);
    expect(refusedEvent.skippedEndpoints).toEqual([
      expect.objectContaining({ endpointId, reason: SkipReason.FILTER_FALSE, filter: FILTER }),
    ]);

    const [request] = await receiver.waitFor(1);
    expect(request?.headers["webhook-id"]).toBe(taken);
    const takenEvent = await eventually(async () => {
      const res = await acme.clients.audit.getEvent({ tenantId: acme.id, eventId: taken });
      return res.event?.routed ? res : undefined;
    });
    expect(takenEvent.event?.endpointIds).toEqual([endpointId]);
    expect(takenEvent.skippedEndpoints).toEqual([]);
    // Both events were routed by now, in order: the refused one never reaches the receiver.
    expect(receiver.requests.map((r) => r.headers["webhook-id"])).toEqual([taken]);
  });
});
