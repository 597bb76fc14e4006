import { describe, expect, it } from "vitest";
import { forEachLimit } from "./concurrency.js";

describe("forEachLimit", () => {
  it("runs every item with at most `limit` at once", async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 1));
      seen.push(n);
      running--;
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
  });

  it("finishes every item, then rejects with the first error", async () => {
    const seen: number[] = [];
    const run = forEachLimit([1, 2, 3], 1, async (n) => {
      seen.push(n);
      if (n >= 2) throw new Error(`bad ${n}`);
    });
    await expect(run).rejects.toThrow("bad 2");
    expect(seen).toEqual([1, 2, 3]);
  });
});
