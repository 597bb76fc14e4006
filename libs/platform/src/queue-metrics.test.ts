import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { type QueueStats, watchQueueDepths } from "./queue-metrics.js";

const watchers: Array<{ stop(): void }> = [];
afterEach(() => {
  for (const w of watchers.splice(0)) w.stop();
});

function watch(inspect: (queue: string) => Promise<QueueStats>, errors: string[] = []) {
  const registry = new Registry();
  const watcher = watchQueueDepths({
    inspect,
    queues: new Map([
      ["delivery.tasks", "ns.delivery.tasks"],
      ["herald.retry.1000ms", "ns.herald.retry.1000ms"],
    ]),
    registry,
    intervalMs: 60_000,
    timeoutMs: 50,
    onError: (queue) => errors.push(queue),
  });
  watchers.push(watcher);
  return { registry, watcher };
}

describe("watchQueueDepths", () => {
  it("exports each queue's depth and consumers under its label", async () => {
    const asked: string[] = [];
    const { registry, watcher } = watch(async (queue) => {
      asked.push(queue);
      return queue.includes("retry")
        ? { messageCount: 7, consumerCount: 0 }
        : { messageCount: 2, consumerCount: 3 };
    });
    await watcher.refresh();
    const text = await registry.metrics();
    expect(text).toContain('herald_queue_messages_ready{queue="delivery.tasks"} 2');
    expect(text).toContain('herald_queue_messages_ready{queue="herald.retry.1000ms"} 7');
    expect(text).toContain('herald_queue_consumers{queue="delivery.tasks"} 3');
    expect(asked).toContain("ns.delivery.tasks");
    expect(asked).not.toContain("delivery.tasks");
  });

  it("drops a queue's series while it cannot be read, or answers too late, and brings it back", async () => {
    let broken = false;
    const errors: string[] = [];
    const { registry, watcher } = watch(async (queue) => {
      if (broken && queue.includes("retry")) throw new Error("NOT_FOUND");
      if (broken) return new Promise<QueueStats>(() => undefined); // never answers
      return { messageCount: 1, consumerCount: 1 };
    }, errors);
    await watcher.refresh();
    expect(await registry.metrics()).toContain('herald_queue_messages_ready{queue="herald.retry.1000ms"} 1');
    broken = true;
    await watcher.refresh();
    const text = await registry.metrics();
    expect(text).not.toContain('queue="herald.retry.1000ms"');
    expect(text).not.toContain('queue="delivery.tasks"');
    expect(errors).toEqual(["ns.delivery.tasks", "ns.herald.retry.1000ms"]);
    broken = false;
    await watcher.refresh();
    expect(await registry.metrics()).toContain('herald_queue_messages_ready{queue="delivery.tasks"} 1');
  });

  it("runs one read at a time, and once more when asked during one", async () => {
    let inFlight = 0;
    let most = 0;
    let consumers = 0;
    const { registry, watcher } = watch(async () => {
      const seen = consumers;
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { messageCount: 0, consumerCount: seen };
    });
    // The first read is under way (started by watchQueueDepths); a consumer attaches meanwhile.
    consumers = 1;
    await Promise.all([watcher.refresh(), watcher.refresh(), watcher.refresh()]);
    expect(most).toBe(1);
    // delivery.tasks was read before the consumer attached: the second pass reads it again.
    expect(await registry.metrics()).toContain('herald_queue_consumers{queue="delivery.tasks"} 1');
  });
});
