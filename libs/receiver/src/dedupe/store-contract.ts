// The behaviour every DedupeStore must have, run against each store by its own test file.
import { expect, it } from "vitest";
import { Deduplicator } from "./deduplicator.js";
import type { DedupeStore } from "./store.js";

export interface StoreUnderTest {
  store: DedupeStore;
  /** Makes `ms` pass for the store: a fake clock for stores that take one, a real wait for Redis. */
  elapse(ms: number): Promise<void>;
}

let counter = 0;
/** A fresh webhook id per test, so tests sharing a store never see each other's records. */
export function freshId(): string {
  counter += 1;
  return `msg_${Date.now()}_${counter}`;
}

export function itBehavesLikeADedupeStore(setup: () => StoreUnderTest): void {
  it("runs the handler once for 20 concurrent deliveries of one id", async () => {
    const { store } = setup();
    const once = new Deduplicator(store);
    const id = freshId();
    let runs = 0;
    // The handler holds its claim until the 19 other deliveries have answered (or 5 s, should two run).
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
      setTimeout(resolve, 5_000);
    });
    let answered = 0;
    const handler = async () => {
      runs += 1;
      await gate;
      return "handled";
    };
    const deliveries = Array.from({ length: 20 }, () =>
      once.handleOnce(id, handler).finally(() => {
        answered += 1;
        if (answered === 19) openGate();
      }),
    );
    const results = await Promise.all(deliveries);
    expect(runs).toBe(1);
    expect(results.filter((result) => result.status === "ran")).toEqual([
      { status: "ran", value: "handled" },
    ]);
    expect(results.filter((result) => result.status === "in_progress")).toHaveLength(19);
    expect(await once.handleOnce(id, handler)).toEqual({ status: "already_done" });
    expect(runs).toBe(1);
  });

  it("releases the claim when the handler fails, so the next delivery runs it", async () => {
    const { store } = setup();
    const once = new Deduplicator(store);
    const id = freshId();
    const failure = new Error("handler failed");
    await expect(once.handleOnce(id, () => Promise.reject(failure))).rejects.toBe(failure);
    expect(await once.handleOnce(id, () => "second try")).toEqual({ status: "ran", value: "second try" });
  });

  it("keeps ids apart", async () => {
    const { store } = setup();
    const once = new Deduplicator(store);
    const [first, second] = [freshId(), freshId()];
    expect(await once.handleOnce(first, () => 1)).toEqual({ status: "ran", value: 1 });
    expect(await once.handleOnce(second, () => 2)).toEqual({ status: "ran", value: 2 });
  });

  it("lets a delivery take over a lease that lapsed, and the old owner cannot release it", async () => {
    const { store, elapse } = setup();
    const id = freshId();
    const leaseMs = 200;
    expect(await store.claim(id, "crashed-owner", leaseMs)).toBe("claimed");
    expect(await store.claim(id, "second", leaseMs)).toBe("in_progress");
    await elapse(leaseMs + 100);
    expect(await store.claim(id, "third", leaseMs)).toBe("claimed");
    await store.release(id, "crashed-owner");
    expect(await store.claim(id, "fourth", leaseMs)).toBe("in_progress");
    await store.release(id, "third");
    expect(await store.claim(id, "fifth", leaseMs)).toBe("claimed");
  });

  it("forgets a handled id after its TTL", async () => {
    const { store, elapse } = setup();
    const once = new Deduplicator(store, { ttlMs: 200 });
    const id = freshId();
    expect(await once.handleOnce(id, () => "first")).toEqual({ status: "ran", value: "first" });
    expect(await once.handleOnce(id, () => "again")).toEqual({ status: "already_done" });
    await elapse(300);
    expect(await once.handleOnce(id, () => "after ttl")).toEqual({ status: "ran", value: "after ttl" });
  });

  it("records success whoever holds the lease", async () => {
    const { store } = setup();
    const id = freshId();
    expect(await store.claim(id, "owner", 60_000)).toBe("claimed");
    await store.complete(id, 60_000);
    expect(await store.claim(id, "other", 60_000)).toBe("done");
  });
}

/** A clock that only moves when told: lease and TTL tests without waiting. */
export function fakeClock(start = Date.now()) {
  let now = start;
  return {
    now: () => now,
    elapse: async (ms: number) => {
      now += ms;
    },
  };
}
