import { describe, expect, it } from "vitest";
import { ExpiringLru } from "./expiring-lru.js";
import { fakeClock } from "./store-contract.js";

describe("ExpiringLru", () => {
  it("forgets the least recently used entry beyond its bound", () => {
    const cache = new ExpiringLru<number>(2, Date.now);
    cache.set("a", 1, 60_000);
    cache.set("b", 2, 60_000);
    expect(cache.get("a")).toBe(1); // now "b" is the least recently used
    cache.set("c", 3, 60_000);
    expect(cache.size).toBe(2);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(1);
    expect(cache.get("c")).toBe(3);
  });

  it("drops an entry once its own TTL has passed", async () => {
    const clock = fakeClock();
    const cache = new ExpiringLru<string>(10, clock.now);
    cache.set("short", "x", 100);
    cache.set("long", "y", 1_000);
    await clock.elapse(100);
    expect(cache.get("short")).toBeUndefined();
    expect(cache.get("long")).toBe("y");
    expect(cache.size).toBe(1);
  });

  it("rejects a bound that is not a positive whole number", () => {
    expect(() => new ExpiringLru(0, Date.now)).toThrow(RangeError);
  });
});
