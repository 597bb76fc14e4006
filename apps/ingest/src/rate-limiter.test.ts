import { describe, expect, it } from "vitest";
import { type RateBudgetStore, RateLimiter } from "./rate-limiter.js";

/** The shared store in memory: a chunk is claimed once; every claim is counted. */
function memoryStore() {
  const claimed = new Set<string>();
  const store: RateBudgetStore & { claims: number } = {
    claims: 0,
    async claim(tenantId, second, index) {
      store.claims++;
      const key = `${tenantId}:${second}:${index}`;
      if (claimed.has(key)) return false;
      claimed.add(key);
      return true;
    },
  };
  return store;
}

function clock(start = 10_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** Takes one token at a time until refused; returns how many were admitted and the last wait. */
async function drain(limiter: RateLimiter, tenant: string, rate: number) {
  let admitted = 0;
  for (;;) {
    const waitMs = await limiter.take(tenant, rate);
    if (waitMs > 0) return { admitted, waitMs };
    admitted++;
  }
}

describe("RateLimiter", () => {
  it("admits a second's budget, then asks to wait for the next second", async () => {
    const time = clock();
    const limiter = new RateLimiter(memoryStore(), { now: time.now });
    time.advance(250);
    expect(await drain(limiter, "t", 50)).toEqual({ admitted: 50, waitMs: 750 });
    time.advance(750);
    expect(await limiter.take("t", 50, 50)).toBe(0);
  });

  it("admits a batch as large as the limit, and a full batch every second after", async () => {
    const time = clock();
    const limiter = new RateLimiter(memoryStore(), { now: time.now });
    for (let second = 0; second < 3; second++) {
      expect(await limiter.take("t", 100, 100)).toBe(0);
      expect(await limiter.take("t", 100, 1)).toBeGreaterThan(0);
      time.advance(1_000);
    }
  });

  it("refuses a batch larger than the limit outright instead of asking to retry", async () => {
    const limiter = new RateLimiter(memoryStore(), { now: clock().now });
    await expect(limiter.take("t", 50, 100)).rejects.toThrow(RangeError);
  });

  it("holds the limit across instances sharing the store", async () => {
    const time = clock();
    const store = memoryStore();
    const a = new RateLimiter(store, { now: time.now });
    const b = new RateLimiter(store, { now: time.now });
    let admitted = 0;
    for (let i = 0; i < 300; i++) {
      if ((await (i % 2 ? a : b).take("t", 100)) === 0) admitted++;
    }
    expect(admitted).toBe(100);
    // An instance that runs dry leaves what it could not claim to the other one.
    time.advance(1_000);
    expect((await drain(a, "t", 100)).admitted).toBe(100);
    expect((await drain(b, "t", 100)).admitted).toBe(0);
  });

  it("goes to the store about once per chunk, not once per call", async () => {
    const store = memoryStore();
    const limiter = new RateLimiter(store, { now: clock().now, chunksPerSecond: 10 });
    expect((await drain(limiter, "t", 1_000)).admitted).toBe(1_000);
    expect(store.claims).toBe(10);
  });

  it("claims no more than needed when calls run concurrently", async () => {
    const store = memoryStore();
    const limiter = new RateLimiter(store, { now: clock().now });
    const waits = await Promise.all(Array.from({ length: 20 }, () => limiter.take("t", 100)));
    expect(waits.every((w) => w === 0)).toBe(true);
    expect(store.claims).toBe(2);
  });

  it("keeps tenants apart and treats 0 as unlimited", async () => {
    const limiter = new RateLimiter(memoryStore(), { now: clock().now });
    expect(await limiter.take("a", 1)).toBe(0);
    expect(await limiter.take("a", 1)).toBeGreaterThan(0);
    expect(await limiter.take("b", 1)).toBe(0);
    expect(await limiter.take("c", 0, 1_000_000)).toBe(0);
  });

  it("cuts a budget that does not divide evenly without exceeding it", async () => {
    const limiter = new RateLimiter(memoryStore(), { now: clock().now, chunksPerSecond: 10 });
    expect((await drain(limiter, "t", 7)).admitted).toBe(7);
    expect((await drain(limiter, "u", 1_005)).admitted).toBe(1_005);
  });

  it("forgets what it holds of a deleted tenant's budget", async () => {
    const store = memoryStore();
    const limiter = new RateLimiter(store, { now: clock().now });
    expect(await limiter.take("t", 100)).toBe(0);
    expect(await limiter.take("t", 100)).toBe(0);
    // Both calls were served from one claimed chunk of ten tokens.
    expect(store.claims).toBe(1);
    limiter.forget("t");
    // The rest of that chunk is gone with the tenant: the next call claims anew.
    expect(await limiter.take("t", 100)).toBe(0);
    expect(store.claims).toBeGreaterThan(1);
  });
});
