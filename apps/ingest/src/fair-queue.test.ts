import { describe, expect, it } from "vitest";
import { FairQueue } from "./fair-queue.js";

describe("FairQueue", () => {
  it("puts a quiet key's item in the next take however many a flooding key queued first", () => {
    const queue = new FairQueue<string>();
    for (let n = 0; n < 1_000; n++) queue.push("flood", `f${n}`);
    queue.push("quiet", "q0");
    expect(queue.size).toBe(1_001);
    expect(queue.keys).toBe(2);
    const round = queue.take(10);
    expect(round).toContain("q0");
    expect(round).toHaveLength(10);
    // The flood's own items stay in their order.
    expect(round.filter((item) => item.startsWith("f"))).toEqual(
      Array.from({ length: 9 }, (_, n) => `f${n}`),
    );
    expect(queue.size).toBe(991);
    expect(queue.keys).toBe(1);
  });

  it("takes one item per key in turn, the turn going on across takes", () => {
    const queue = new FairQueue<string>();
    for (const key of ["a", "b", "c"]) for (let n = 0; n < 3; n++) queue.push(key, `${key}${n}`);
    expect(queue.take(2)).toEqual(["a0", "b0"]);
    // c had no item in the last take: it goes first now.
    expect(queue.take(4)).toEqual(["c0", "a1", "b1", "c1"]);
    expect(queue.takeAll()).toEqual(["a2", "b2", "c2"]);
    expect(queue.size).toBe(0);
    expect(queue.keys).toBe(0);
  });

  it("forgets a key once its items are taken, and takes it anew at the end of the turn", () => {
    const queue = new FairQueue<string>();
    queue.push("a", "a0");
    queue.push("b", "b0");
    queue.push("b", "b1");
    expect(queue.take(2)).toEqual(["a0", "b0"]);
    queue.push("a", "a1");
    expect(queue.takeAll()).toEqual(["b1", "a1"]);
    expect(queue.take(5)).toEqual([]);
  });

  it("gives every key an equal share of a take, whatever their backlogs", () => {
    const queue = new FairQueue<number>();
    const keys = ["k0", "k1", "k2", "k3"];
    for (const [i, key] of keys.entries()) for (let n = 0; n < 100 * (i + 1); n++) queue.push(key, i);
    const counts = [0, 0, 0, 0];
    for (let take = 0; take < 10; take++) for (const i of queue.take(20)) counts[i] = (counts[i] ?? 0) + 1;
    expect(counts).toEqual([50, 50, 50, 50]);
  });

  it("keeps each key's items in order through many takes (memory compacted as they go)", () => {
    const queue = new FairQueue<number>();
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let n = 0; n < 7; n++) queue.push("only", next++);
      out.push(...queue.take(5));
    }
    out.push(...queue.takeAll());
    expect(out).toEqual(Array.from({ length: next }, (_, n) => n));
  });
});
