import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ControlAcks } from "./control-acks.js";

/** Resolves with `promise`'s value, or "pending" if it has not settled by now (microtasks flushed). */
async function settled<T>(promise: Promise<T>): Promise<T | "pending"> {
  return Promise.race([promise, new Promise<"pending">((resolve) => setImmediate(() => resolve("pending")))]);
}

describe("ControlAcks", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("answers as soon as every expected instance acknowledged, before the bound", async () => {
    const acks = new ControlAcks();
    const wait = acks.expect(["audit_1", "ingest_1"], 1_000);
    acks.received({ notificationId: wait.notificationId, instanceId: "audit_1" });
    expect(await settled(wait.outcome)).toBe("pending");
    await vi.advanceTimersByTimeAsync(10);
    acks.received({ notificationId: wait.notificationId, instanceId: "ingest_1" });
    expect(await settled(wait.outcome)).toEqual({ acked: ["audit_1", "ingest_1"], missing: [] });
    expect(acks.waiting).toBe(0);
  });

  it("answers at the bound when one instance stays silent, naming it", async () => {
    const acks = new ControlAcks();
    const wait = acks.expect(["audit_1", "ingest_1", "routing_1"], 1_000);
    acks.received({ notificationId: wait.notificationId, instanceId: "routing_1" });
    acks.received({ notificationId: wait.notificationId, instanceId: "ingest_1" });
    await vi.advanceTimersByTimeAsync(999);
    expect(await settled(wait.outcome)).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(wait.outcome)).toEqual({ acked: ["routing_1", "ingest_1"], missing: ["audit_1"] });
    // A late acknowledgement changes nothing.
    acks.received({ notificationId: wait.notificationId, instanceId: "audit_1" });
    expect(acks.waiting).toBe(0);
  });

  it("keeps each notification's acknowledgements apart", async () => {
    const acks = new ControlAcks();
    const first = acks.expect(["a"], 1_000);
    const second = acks.expect(["a"], 1_000);
    expect(first.notificationId).not.toBe(second.notificationId);
    acks.received({ notificationId: second.notificationId, instanceId: "a" });
    acks.received({ notificationId: "someone else's", instanceId: "a" });
    expect(await settled(second.outcome)).toEqual({ acked: ["a"], missing: [] });
    expect(await settled(first.outcome)).toBe("pending");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await settled(first.outcome)).toEqual({ acked: [], missing: ["a"] });
  });

  it("waits the whole bound when the live instances are unknown, whoever acknowledges", async () => {
    const acks = new ControlAcks();
    const wait = acks.expect(undefined, 1_000);
    acks.received({ notificationId: wait.notificationId, instanceId: "audit_1" });
    await vi.advanceTimersByTimeAsync(999);
    expect(await settled(wait.outcome)).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(wait.outcome)).toEqual({ acked: ["audit_1"], missing: [] });
  });

  it("answers at once when no instance is live, and at once when the bound has passed already", async () => {
    const acks = new ControlAcks();
    expect(await settled(acks.expect([], 1_000).outcome)).toEqual({ acked: [], missing: [] });
    const late = acks.expect(["a"], -5);
    await vi.advanceTimersByTimeAsync(0);
    expect(await settled(late.outcome)).toEqual({ acked: [], missing: ["a"] });
  });
});
