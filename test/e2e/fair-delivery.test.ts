import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./support/clients.js";
import { createEndpoint, createTenant } from "./support/fixtures.js";
import { type Receiver, startReceiver } from "./support/receiver.js";
import { type Stack, startStack } from "./support/stack.js";

// Few shared delivery slots and a small per-endpoint default, so one hanging receiver could take every
// slot if its tasks held them while waiting; a timeout far longer than the test keeps its requests open.
let stack: Stack;
let ingest: GrpcIngestClient;
const receivers: Receiver[] = [];

beforeAll(async () => {
  stack = await startStack({
    DELIVERY_CONCURRENCY: "6",
    DELIVERY_ENDPOINT_CONCURRENCY: "2",
    DELIVERY_TIMEOUT_MS: "120000",
    CIRCUIT_MIN_ATTEMPTS: "1000",
  });
  ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
});

afterAll(async () => {
  ingest?.close();
  await Promise.all(receivers.map((r) => r.close()));
  await stack?.stop();
});

describe("a receiver that never answers", () => {
  it("holds only its endpoint's own slots: a healthy endpoint gets every event meanwhile", async () => {
    const t = await createTenant(stack, "fairslow");
    const hanging = await startReceiver();
    const healthy = await startReceiver();
    receivers.push(hanging, healthy);
    hanging.reply = () => "hang";
    await createEndpoint(t, hanging.url);
    await createEndpoint(t, healthy.url);

    const events = 24;
    const batch = await ingest.publishEvents(
      {
        tenant_id: t.id,
        events: Array.from({ length: events }, (_, n) => ({
          event_type: "order.created",
          payload: Buffer.from(JSON.stringify({ n })),
        })),
      },
      t.publishKey,
    );
    expect(batch.results.every((res) => res.event_id)).toBe(true);

    await healthy.waitFor(events, 30_000);
    // Every one of the hanging receiver's requests is still open (none can time out within the test),
    // and it got no more than its endpoint's limit: the rest of its tasks wait without a slot.
    await hanging.waitFor(2);
    expect(hanging.requests.length).toBe(2);
    const ids = new Set(healthy.requests.map((r) => r.headers["webhook-id"]));
    expect(ids.size).toBe(events);
  });
});
