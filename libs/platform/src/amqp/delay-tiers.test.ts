import { describe, expect, it } from "vitest";
import { nextTierMs, tierAtLeastMs, tierFor } from "./delay-tiers.js";

describe("nextTierMs", () => {
  const tiers = [1_000, 5_000, 60_000];
  it("picks the longest tier that fits, or the shortest", () => {
    expect(nextTierMs(100, tiers)).toBeUndefined();
    expect(nextTierMs(600, tiers)).toBe(1_000);
    expect(nextTierMs(4_999, tiers)).toBe(1_000);
    expect(nextTierMs(5_000, tiers)).toBe(5_000);
    expect(nextTierMs(3_600_000, tiers)).toBe(60_000);
  });
});

describe("tierAtLeastMs", () => {
  const tiers = [5_000, 1_000, 60_000];
  it("picks the shortest tier that is long enough, or the longest", () => {
    expect(tierAtLeastMs(1, tiers)).toBe(1_000);
    expect(tierAtLeastMs(1_000, tiers)).toBe(1_000);
    expect(tierAtLeastMs(1_001, tiers)).toBe(5_000);
    expect(tierAtLeastMs(29_000, tiers)).toBe(60_000);
    expect(tierAtLeastMs(3_600_000, tiers)).toBe(60_000);
  });
});

describe("tierFor", () => {
  const tiers = [1_000, 5_000, 60_000];
  it("waits in the longest tier that fits and keeps the due, so a long wait is a few hops", () => {
    expect(tierFor(7_200_000, tiers)).toEqual({ tierMs: 60_000, waitMs: 7_200_000 });
    expect(tierFor(5_000, tiers)).toEqual({ tierMs: 5_000, waitMs: 5_000 });
    // Shorter than every tier: the shortest, and the item is late by the rest of it.
    expect(tierFor(200, tiers)).toEqual({ tierMs: 1_000, waitMs: 200 });
  });

  it("moves the due to when the item comes back when the due is only the earliest", () => {
    expect(tierFor(700, tiers, { notBefore: true })).toEqual({ tierMs: 1_000, waitMs: 1_000 });
    expect(tierFor(7_000, tiers, { notBefore: true })).toEqual({ tierMs: 5_000, waitMs: 7_000 });
  });

  it("takes one tier at least as long as the wait when lateness is cheaper", () => {
    expect(tierFor(30_000, tiers, { lenient: true })).toEqual({ tierMs: 60_000, waitMs: 60_000 });
    expect(tierFor(3_600_000, tiers, { lenient: true })).toEqual({ tierMs: 60_000, waitMs: 3_600_000 });
  });
});
