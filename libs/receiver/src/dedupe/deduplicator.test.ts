import { describe, expect, it, vi } from "vitest";
import { Deduplicator } from "./deduplicator.js";
import { MemoryStore } from "./memory-store.js";
import type { DedupeStore } from "./store.js";

function failing(store: DedupeStore, operation: keyof DedupeStore): DedupeStore {
  return {
    claim: store.claim.bind(store),
    complete: store.complete.bind(store),
    release: store.release.bind(store),
    [operation]: () => Promise.reject(new Error(`${operation} failed`)),
  };
}

describe("Deduplicator", () => {
  it("does not run the handler when the claim fails", async () => {
    const handler = vi.fn();
    const once = new Deduplicator(failing(new MemoryStore(), "claim"));
    await expect(once.handleOnce("msg_1", handler)).rejects.toThrow("claim failed");
    expect(handler).not.toHaveBeenCalled();
  });

  it("reports a failed completion but still says the handler ran", async () => {
    const onStoreError = vi.fn(() => {
      throw new Error("a throwing hook is ignored");
    });
    const once = new Deduplicator(failing(new MemoryStore(), "complete"), { onStoreError });
    expect(await once.handleOnce("msg_1", () => "value")).toEqual({ status: "ran", value: "value" });
    expect(onStoreError).toHaveBeenCalledWith(
      expect.objectContaining({ message: "complete failed" }),
      "complete",
    );
  });

  it("rethrows the handler's error when the release fails too", async () => {
    const onStoreError = vi.fn();
    const once = new Deduplicator(failing(new MemoryStore(), "release"), { onStoreError });
    const failure = new Error("handler failed");
    await expect(once.handleOnce("msg_1", () => Promise.reject(failure))).rejects.toBe(failure);
    expect(onStoreError).toHaveBeenCalledWith(expect.any(Error), "release");
  });

  it("rejects an empty id and nonsensical durations", async () => {
    await expect(new Deduplicator(new MemoryStore()).handleOnce("", () => 1)).rejects.toThrow(TypeError);
    expect(() => new Deduplicator(new MemoryStore(), { ttlMs: 0 })).toThrow(RangeError);
    expect(() => new Deduplicator(new MemoryStore(), { leaseMs: 1.5 })).toThrow(RangeError);
  });

  it("defaults to a lease of 60 s and a TTL of 3 days", async () => {
    const store = new MemoryStore();
    const claim = vi.spyOn(store, "claim");
    const complete = vi.spyOn(store, "complete");
    await new Deduplicator(store).handleOnce("msg_1", () => undefined);
    expect(claim).toHaveBeenCalledWith("msg_1", expect.any(String), 60_000);
    expect(complete).toHaveBeenCalledWith("msg_1", 3 * 24 * 60 * 60 * 1000);
  });
});
