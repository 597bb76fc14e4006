import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limiter.js";

describe("RateLimiter", () => {
  it("allows a second's worth at once, then refills at the rate", () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    expect(limiter.take("t", 10, 10)).toBe(0);
    expect(limiter.take("t", 10)).toBeCloseTo(100);
    now += 250;
    expect(limiter.take("t", 10, 2)).toBe(0);
    expect(limiter.take("t", 10, 1)).toBeCloseTo(50);
  });

  it("keeps tenants apart and treats 0 as unlimited", () => {
    const limiter = new RateLimiter(() => 0);
    expect(limiter.take("a", 1)).toBe(0);
    expect(limiter.take("a", 1)).toBeGreaterThan(0);
    expect(limiter.take("b", 1)).toBe(0);
    expect(limiter.take("c", 0, 1_000_000)).toBe(0);
  });

  it("forgets a key's bucket: a re-created tenant starts full", () => {
    const limiter = new RateLimiter(() => 0);
    expect(limiter.take("t", 2, 2)).toBe(0);
    expect(limiter.take("t", 2)).toBeGreaterThan(0);
    limiter.forget("t");
    expect(limiter.take("t", 2, 2)).toBe(0);
  });
});
