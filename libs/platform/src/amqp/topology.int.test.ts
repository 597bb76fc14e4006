import { Connection } from "rabbitmq-client";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupTestEnv, testEnv } from "../testing/index.js";
import { declareTopology, PARKED_LIMITS, topologyNames } from "./topology.js";

const env = testEnv();
const names = topologyNames(env.AMQP_NAMESPACE);
const rabbit = new Connection(env.AMQP_URL);

afterAll(async () => {
  await rabbit.queueDelete({ queue: names.legacyQueues.parked }).catch(() => undefined);
  await rabbit.close();
  await cleanupTestEnv(env);
});

async function depth(queue: string): Promise<number> {
  return (await rabbit.queueDeclare({ queue, passive: true })).messageCount;
}

/** Polls the queue's depth until it is `count`, for at most 10 s; returns the last depth seen. */
async function depthReaches(queue: string, count: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  let seen = await depth(queue);
  while (seen !== count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    seen = await depth(queue);
  }
  return seen;
}

describe("parked queue", () => {
  it("stops feeding the unbounded queue of earlier versions, keeping its messages", async () => {
    // As an earlier version declared it.
    await rabbit.exchangeDeclare({ exchange: names.exchanges.parked, type: "fanout", durable: true });
    await rabbit.queueDeclare({
      queue: names.legacyQueues.parked,
      durable: true,
      arguments: { "x-queue-type": "quorum" },
    });
    await rabbit.queueBind({ queue: names.legacyQueues.parked, exchange: names.exchanges.parked });
    const publisher = rabbit.createPublisher({ confirm: true });
    await publisher.send({ exchange: names.exchanges.parked, durable: true }, Buffer.from("before"));

    await declareTopology(rabbit, names, [1_000]);
    await publisher.send({ exchange: names.exchanges.parked, durable: true }, Buffer.from("after"));
    await publisher.close();

    expect(await depthReaches(names.queues.parked, 1)).toBe(1);
    expect(await depth(names.legacyQueues.parked)).toBe(1);
  });

  it("keeps only the newest messages once full", async () => {
    await declareTopology(rabbit, names, [1_000]);
    await rabbit.queuePurge({ queue: names.queues.parked });
    const publisher = rabbit.createPublisher({ confirm: true, maxAttempts: 3 });
    const extra = 25;
    const total = PARKED_LIMITS.maxMessages + extra;
    const body = Buffer.from("poison");
    for (let sent = 0; sent < total; ) {
      const batch = Math.min(500, total - sent);
      await Promise.all(
        Array.from({ length: batch }, (_, i) =>
          publisher.send(
            { exchange: names.exchanges.parked, durable: true, messageId: String(sent + i) },
            body,
          ),
        ),
      );
      sent += batch;
    }
    await publisher.close();
    expect(await depthReaches(names.queues.parked, PARKED_LIMITS.maxMessages)).toBe(
      PARKED_LIMITS.maxMessages,
    );
    // drop-head: the first ones went.
    const first = await rabbit.basicGet({ queue: names.queues.parked, noAck: true });
    expect(first?.messageId).toBe(String(extra));
  }, 60_000);
});
