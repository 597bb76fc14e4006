import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AttemptTrigger, DeliveryState, DeliveryTaskSchema } from "@herald/contracts";
import { shardOf, topologyNames } from "@herald/platform";
import { type EventDocument, endpointsCollection, eventsCollection } from "@herald/platform/model";
import { TEST_ADMIN_KEY, testEndpoint, testEnv } from "@herald/platform/testing";
import { Binary } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditUnderTest, auditClient, startAudit } from "./audit.test-support.js";
import { deliveriesCollection } from "./documents.js";

const DEAD_TASKS = 1_000;
const env = testEnv({ AUDIT_BATCH_DELAY_MS: "10", AUDIT_REPLAY_LIMIT: String(DEAD_TASKS) });
const names = topologyNames(env.AMQP_NAMESPACE);
const T0 = Date.parse("2025-01-01T00:00:00Z");
const TENANT = "t-dead";
const ENDPOINT = "ep-dead";
let audit: AuditUnderTest;

beforeAll(async () => {
  audit = await startAudit(env);
  const endpoint = testEndpoint({ _id: ENDPOINT, tenant_id: TENANT, create_time: new Date(T0) });
  await endpointsCollection(audit.db).insertOne(endpoint);
  const events: EventDocument[] = Array.from({ length: DEAD_TASKS }, (_, i) => ({
    _id: `evt-${String(i).padStart(4, "0")}`,
    tenant_id: TENANT,
    event_type: "order.created",
    payload: new Binary(Buffer.from(`{"n":${i}}`)),
    channels: [],
    dedupe_key: `evt-${i}`,
    create_time: new Date(T0 + i),
    published: false,
  }));
  await eventsCollection(audit.db).insertMany(events);
}, 60_000);

afterAll(() => audit?.stop());

async function depth(queue: string): Promise<number> {
  return (await audit.rabbit.queueDeclare({ queue, passive: true })).messageCount;
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await probe();
  }
  return value;
}

describe("dead tasks", () => {
  it("are drained from delivery.dead into MongoDB and stay redrivable", async () => {
    // As delivery dead-letters them after the last attempt: their attempt records are not sent, so
    // only the dead queue tells audit about them.
    await Promise.all(
      Array.from({ length: DEAD_TASKS }, (_, i) =>
        audit.publisher.publish(
          { exchange: names.exchanges.dead, messageId: `evt-${i}` },
          DeliveryTaskSchema,
          create(DeliveryTaskSchema, {
            eventId: `evt-${String(i).padStart(4, "0")}`,
            tenantId: TENANT,
            endpointId: ENDPOINT,
            eventType: "order.created",
            payload: Buffer.from(`{"n":${i}}`),
            attempt: 8,
            eventTime: timestampFromDate(new Date(T0 + i)),
            dueTime: timestampFromDate(new Date(T0 + 3_600_000)),
            trigger: AttemptTrigger.SCHEDULED,
          }),
        ),
      ),
    );

    const deliveries = deliveriesCollection(audit.db);
    const deadRecorded = () => deliveries.countDocuments({ tenant_id: TENANT, state: DeliveryState.DEAD });
    expect(
      await until(
        () => depth(names.queues.deliveryDead),
        (n) => n === 0,
        90_000,
      ),
    ).toBe(0);
    expect(await until(deadRecorded, (n) => n === DEAD_TASKS, 10_000)).toBe(DEAD_TASKS);
    // So many dead letters at once tell the tenant, once for the window (DEAD_LETTERS_GROWING_COUNT 100).
    const growing = await until(
      () =>
        eventsCollection(audit.db)
          .find({ tenant_id: TENANT, event_type: "herald.dead_letters.growing" })
          .toArray(),
      (found) => found.length > 0,
      10_000,
    );
    // One per 15-minute window: two only if the run straddled a window's end.
    expect(growing.length === 1 || new Set(growing.map((e) => e.dedupe_key)).size === 2).toBe(true);
    expect(JSON.parse(Buffer.from(growing[0]?.payload.buffer ?? []).toString())).toMatchObject({
      tenant_id: TENANT,
      dead_letters: 100,
      window_seconds: 900,
    });
    const sample = await deliveries.findOne({ _id: "evt-0007:ep-dead" });
    expect(sample).toMatchObject({ state: DeliveryState.DEAD, attempt_count: 8, last_attempt_number: 8 });

    // Redriven tasks go to their tenant's shard of delivery.tasks, and once the tenant has published
    // HEAVY_TENANT items within a second, to the overflow shard: counted over every shard.
    const shards = names.shardQueues(names.queues.deliveryTasks);
    for (const queue of shards) await audit.rabbit.queuePurge({ queue });
    const queued = async () => {
      let n = 0;
      for (const queue of shards) n += await depth(queue);
      return n;
    };
    const admin = auditClient(audit.service.port, TEST_ADMIN_KEY);
    const res = await admin.redrive({ tenantId: TENANT });
    expect({ requeued: res.requeued, truncated: res.truncated }).toEqual({
      requeued: DEAD_TASKS,
      truncated: false,
    });
    expect(await until(queued, (n) => n === DEAD_TASKS, 10_000)).toBe(DEAD_TASKS);
    const own = [names.shardQueue(names.queues.deliveryTasks, shardOf(TENANT)), shards.at(-1)];
    for (const queue of shards) if (!own.includes(queue)) expect(await depth(queue), queue).toBe(0);
  }, 180_000);
});
