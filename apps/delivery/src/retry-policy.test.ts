import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY_SCHEDULE_MS,
  effectiveSchedule,
  nextRetryDelayMs,
  parseRetryAfter,
} from "./retry-policy.js";

describe("nextRetryDelayMs", () => {
  it("follows the default schedule of 8 attempts with ±20% jitter", () => {
    expect(nextRetryDelayMs(DEFAULT_RETRY_SCHEDULE_MS, 1, undefined, () => 0.5)).toBe(5_000);
    expect(nextRetryDelayMs(DEFAULT_RETRY_SCHEDULE_MS, 1, undefined, () => 0)).toBe(4_000);
    expect(nextRetryDelayMs(DEFAULT_RETRY_SCHEDULE_MS, 1, undefined, () => 1)).toBe(6_000);
    expect(nextRetryDelayMs(DEFAULT_RETRY_SCHEDULE_MS, 2, undefined, () => 0.5)).toBe(300_000);
    expect(nextRetryDelayMs(DEFAULT_RETRY_SCHEDULE_MS, 7, undefined, () => 0.5)).toBe(36_000_000);
    expect(nextRetryDelayMs(DEFAULT_RETRY_SCHEDULE_MS, 8, undefined)).toBeUndefined();
  });

  it("honours Retry-After within the schedule's bounds", () => {
    expect(nextRetryDelayMs([1_000, 10_000], 1, 3_000)).toBe(3_000);
    expect(nextRetryDelayMs([1_000, 10_000], 1, 0)).toBe(1_000);
    expect(nextRetryDelayMs([1_000, 10_000], 1, 86_400_000)).toBe(10_000);
    expect(nextRetryDelayMs([1_000, 10_000], 3, 3_000)).toBeUndefined();
  });
});

describe("effectiveSchedule", () => {
  it("prefers the endpoint's, then the tenant's, then the platform's", () => {
    expect(effectiveSchedule([1], [2], [3])).toEqual([1]);
    expect(effectiveSchedule([], [2], [3])).toEqual([2]);
    expect(effectiveSchedule([], [], [3])).toEqual([3]);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now)).toBe(0);
  });
  it.each([undefined, "", "soon", "-5", "1.5"])("ignores %j", (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
