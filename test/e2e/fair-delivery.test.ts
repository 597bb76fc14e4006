import { type Attempt, AttemptWait } from "@herald/contracts";
import { describe, expect, it, vi } from "vitest";
import { stackPerFile } from "./support/file-stack.js";
import { createEndpoint, createTenant } from "./support/fixtures.js";
import { readMetrics } from "./support/metrics.js";

// Few shared delivery slots and a small per-endpoint default, so one hanging receiver could take every
// slot if its tasks held them while waiting; a timeout far longer than the test keeps its requests open.
const e2e = stackPerFile({
  DELIVERY_CONCURRENCY: "6",
  DELIVERY_ENDPOINT_CONCURRENCY: "2",
  DELIVERY_TIMEOUT_MS: "120000",
  CIRCUIT_MIN_ATTEMPTS: "1000",
});

/** Tasks delivery sent back to RabbitMQ instead of delivering (a slow endpoint's overflow, or parked). */
async function sentBack(): Promise<number> {
  const metric = await readMetrics(e2e.stack, "delivery");
  const hop = (name: string) => metric("herald_delivery_hops_total", `hop="${name}"`) || 0;
  return hop("endpoint_busy") + hop("parked");
}

describe("a fast receiver", () => {
  it("gets a backlog far over its endpoint's limit without one task going back to RabbitMQ", async () => {
    const t = await createTenant(e2e.stack, "fairfast", { rateLimitPerSecond: 100_000 });
    const fast = await e2e.receiver();
    await createEndpoint(t, fast.url);
    const before = await sentBack();

    // Batches of 64 tasks reach the gate at once: 2 may be in flight and 16 wait, so a gate that sends
    // back what does not fit would send back most of them, each through a retry tier.
    const events = 300;
    for (let first = 0; first < events; first += 100) {
      const batch = await e2e.ingest.publishEvents(
        {
          tenant_id: t.id,
          events: Array.from({ length: 100 }, (_, i) => ({
            event_type: "order.created",
            payload: Buffer.from(JSON.stringify({ n: first + i })),
          })),
        },
        t.publishKey,
      );
      expect(batch.results.every((res) => res.event_id)).toBe(true);
    }

    await fast.waitFor(events, 60_000);
    expect(new Set(fast.requests.map((r) => r.headers["webhook-id"])).size).toBe(events);
    expect(await sentBack()).toBe(before);

    // Most of them waited at the endpoint's limit, and their attempt records say so.
    const deadline = Date.now() + 30_000;
    let waited: Attempt[] = [];
    while (waited.length === 0 && Date.now() < deadline) {
      const { attempts } = await t.clients.audit.listAttempts({ tenantId: t.id, pageSize: 100 });
      waited = attempts.filter((a) => a.waitedFor === AttemptWait.ENDPOINT_LIMIT);
      if (waited.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(waited.length).toBeGreaterThan(0);
    expect(waited.every((a) => a.waitedMs > 0 && a.success)).toBe(true);

    // GetEvent's delivery says so too: its one attempt's wait, and what for. Audit writes the
    // delivery's status just after the attempt, so it may take a moment longer.
    const attempt = waited[0] as Attempt;
    await vi.waitFor(
      async () => {
        const got = await t.clients.audit.getEvent({ tenantId: t.id, eventId: attempt.eventId });
        expect(got.deliveries).toHaveLength(1);
        expect(got.deliveries[0]).toMatchObject({
          waitedMs: attempt.waitedMs,
          waitedFor: AttemptWait.ENDPOINT_LIMIT,
        });
      },
      { timeout: 30_000, interval: 200 },
    );
  });
});

describe("a receiver that never answers", () => {
  it("holds only its endpoint's own slots: a healthy endpoint gets every event meanwhile", async () => {
    const t = await createTenant(e2e.stack, "fairslow");
    const hanging = await e2e.receiver();
    const healthy = await e2e.receiver();
    hanging.reply = () => "hang";
    await createEndpoint(t, hanging.url);
    await createEndpoint(t, healthy.url);

    const events = 24;
    const batch = await e2e.ingest.publishEvents(
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
