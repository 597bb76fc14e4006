import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../logger.js";
import { keepRegistered, type ServiceInstances, thisInstance } from "./instances.js";

const logger = createLogger({ service: "test", level: "silent" });

/** A registry that logs its calls; `hang` keeps heartbeats pending until released. */
function fakeRegistry() {
  const calls: string[] = [];
  let release: (() => void) | undefined;
  const registry = {
    hang: false,
    async heartbeat() {
      calls.push("heartbeat");
      if (registry.hang) await new Promise<void>((resolve) => (release = resolve));
    },
    async forgetStale() {
      calls.push("forgetStale");
    },
    async remove(id: string) {
      calls.push(`remove ${id}`);
    },
  };
  return { calls, registry, release: () => release?.() };
}

describe("keepRegistered", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("registers at once, renews every interval, one heartbeat at a time, and unregisters when stopped", async () => {
    const fake = fakeRegistry();
    const instance = thisInstance("audit");
    expect(instance.id).toMatch(/^audit_/);
    const registration = await keepRegistered(
      fake.registry as unknown as ServiceInstances,
      instance,
      logger,
      2_000,
    );
    expect(fake.calls).toEqual(["heartbeat", "forgetStale"]);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(fake.calls.filter((c) => c === "heartbeat")).toHaveLength(3);
    // MongoDB stops answering: the next heartbeat waits, and none piles up behind it.
    fake.registry.hang = true;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fake.calls.filter((c) => c === "heartbeat")).toHaveLength(4);
    fake.release();
    const stopped = registration.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    await stopped;
    expect(fake.calls.filter((c) => c === "heartbeat")).toHaveLength(4);
    expect(fake.calls.at(-1)).toBe(`remove ${instance.id}`);
  });
});
