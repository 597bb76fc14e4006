import { describe, expect, it } from "vitest";
import { rateLimitedFact } from "./rate-limited-events.js";

describe("rateLimitedFact", () => {
  it("is one fact per tenant and minute, whichever refusal of the minute reports it", () => {
    const first = rateLimitedFact("acme", 10, new Date("2026-12-06T08:00:01.500Z"));
    const later = rateLimitedFact("acme", 10, new Date("2026-12-06T08:00:59.999Z"));
    const next = rateLimitedFact("acme", 10, new Date("2026-12-06T08:01:00.000Z"));
    expect(first.key).toBe(later.key);
    expect(next.key).not.toBe(first.key);
    expect(first).toMatchObject({
      type: "herald.tenant.rate_limited",
      tenantId: "acme",
      data: { limit_per_second: 10 },
    });
  });
});
