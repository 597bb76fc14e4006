import { DeliveryState, IngestService } from "@herald/contracts";
import { topologyNames } from "@herald/platform";
import { Collections } from "@herald/platform/model";
import { amqpConnectionOptions } from "@herald/platform/testing";
import { MongoClient } from "mongodb";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcClient } from "../e2e/support/clients.js";
import { createEndpoint, createTenant, eventually } from "../e2e/support/fixtures.js";
import { type Receiver, startReceiver } from "../e2e/support/receiver.js";
import { type Stack, startStack } from "../e2e/support/stack.js";

// Work that used to be left behind: an event stranded between ingest's insert and its publish
// confirm (issue 21, item 9), and dead tasks piling up in a queue nobody read (item 8).

const DEAD_TASKS = 1_000;
let stack: Stack;
let mongo: MongoClient;
let rabbit: Connection;
const receivers: Receiver[] = [];

beforeAll(async () => {
  stack = await startStack({
    // The sweep looks for stranded events every second.
    INGEST_REPUBLISH_AFTER: "1s",
    RETRY_TIERS: "1s,2s",
    // 1,000 failing deliveries to one endpoint must each reach their last attempt, not wait behind an
    // open circuit.
    CIRCUIT_MIN_ATTEMPTS: "1000000",
    AUDIT_REPLAY_LIMIT: String(DEAD_TASKS),
  });
  mongo = new MongoClient(stack.env.MONGO_URL as string);
  rabbit = new Connection(amqpConnectionOptions(stack.env.AMQP_URL as string));
}, 120_000);

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await rabbit?.close();
  await mongo?.close();
  await stack?.stop();
}, 120_000);

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("lost work", () => {
  it("delivers an event whose ingest was killed between its insert and its publish", async () => {
    const tenant = await createTenant(stack, "stranded");
    const hook = await receiver();
    await createEndpoint(tenant, hook.url);

    await stack.kill("ingest");
    // Test-only fault: ingest SIGKILLs itself once the event is stored, before publishing it.
    await stack.restart("ingest", { HERALD_FAULT_EXIT_AFTER_INSERT: "true", NODE_ENV: "test" });
    const ingest = grpcClient(IngestService, stack.url("ingest"), tenant.publishKey);
    await expect(
      ingest.publishEvent({
        tenantId: tenant.id,
        event: { eventType: "order.stranded", payload: json({ n: 1 }) },
      }),
    ).rejects.toThrow();
    await stack.kill("ingest");
    const events = mongo.db(stack.env.MONGO_DB).collection(Collections.events);
    const stored = await events.findOne({ tenant_id: tenant.id, event_type: "order.stranded" });
    expect(stored?._id).toMatch(/^evt_/);
    expect(hook.requests).toHaveLength(0);

    // A new ingest (no retry of the call) finds and publishes it.
    await stack.restart("ingest");
    const [request] = await hook.waitFor(1, 30_000);
    expect(request?.headers["webhook-id"]).toBe(stored?._id);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(hook.requests).toHaveLength(1);
  }, 90_000);

  it(`drains ${DEAD_TASKS} dead tasks from delivery.dead and redrives every one`, async () => {
    const tenant = await createTenant(stack, "dead-letters");
    const hook = await receiver();
    hook.reply = () => ({ status: 500 });
    // Two attempts, one second apart, then dead.
    await createEndpoint(tenant, hook.url, { retrySchedule: [1_000] });
    const ingest = grpcClient(IngestService, stack.url("ingest"), tenant.publishKey);
    for (let i = 0; i < DEAD_TASKS; i += 100) {
      const { results } = await ingest.publishEvents({
        tenantId: tenant.id,
        events: Array.from({ length: 100 }, (_, j) => ({
          eventType: "order.failed",
          payload: json({ n: i + j }),
        })),
      });
      expect(results.filter((r) => r.errorCode !== "")).toEqual([]);
    }

    const names = topologyNames(stack.env.AMQP_NAMESPACE);
    const deadQueueDepth = async () =>
      (await rabbit.queueDeclare({ queue: names.queues.deliveryDead, passive: true })).messageCount;
    const deliveries = mongo.db(stack.env.MONGO_DB).collection(Collections.deliveries);
    let deepest = 0;
    await eventually(
      async () => {
        const [dead, depth] = await Promise.all([
          deliveries.countDocuments({ tenant_id: tenant.id, state: DeliveryState.DEAD }),
          deadQueueDepth(),
        ]);
        deepest = Math.max(deepest, depth);
        return dead === DEAD_TASKS && depth === 0 ? true : undefined;
      },
      180_000,
      `${DEAD_TASKS} dead deliveries recorded and delivery.dead empty`,
    );
    console.log(
      `lost-work: delivery.dead held at most ${deepest} of ${DEAD_TASKS} dead tasks seen while polling`,
    );
    expect(hook.requests.length).toBeGreaterThanOrEqual(2 * DEAD_TASKS);

    const succeeded = new Set<unknown>();
    hook.reply = (request) => {
      succeeded.add(request.headers["webhook-id"]);
      return { status: 204 };
    };
    const res = await tenant.clients.audit.redrive({ tenantId: tenant.id });
    expect({ requeued: res.requeued, truncated: res.truncated }).toEqual({
      requeued: DEAD_TASKS,
      truncated: false,
    });
    await eventually(
      async () => (succeeded.size === DEAD_TASKS ? true : undefined),
      120_000,
      `${DEAD_TASKS} redriven deliveries received`,
    );
  }, 400_000);
});
