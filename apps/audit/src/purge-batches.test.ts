import { describe, expect, it } from "vitest";
import { pauseAfter } from "./purge-batches.js";

describe("pauseAfter", () => {
  it("keeps deletes to the given share of the time", () => {
    // 50 ms of delete at a 20% share: 200 ms of pause, so deleting fills 50 of every 250 ms.
    expect(pauseAfter(50, 10, 0.2)).toBe(200);
    expect(pauseAfter(50, 10, 0.5)).toBe(50);
  });

  it("never pauses less than the configured minimum", () => {
    expect(pauseAfter(1, 200, 0.2)).toBe(200);
    expect(pauseAfter(0, 200, 0.2)).toBe(200);
  });

  it("uses only the minimum when the share is 1 (no pacing)", () => {
    expect(pauseAfter(1_000, 200, 1)).toBe(200);
  });

  it("backs off as deletes slow down", () => {
    expect(pauseAfter(400, 200, 0.2)).toBeGreaterThan(pauseAfter(100, 200, 0.2));
  });
});
