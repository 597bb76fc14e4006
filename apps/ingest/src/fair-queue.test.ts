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

  it("gives a key of weight 3 three items per turn to another's one, the turn going on across takes", () => {
    const weights: Record<string, number> = { gold: 3 };
    const queue = new FairQueue<string>((key) => weights[key] ?? 1);
    for (let n = 0; n < 40; n++) queue.push("gold", `g${n}`);
    for (let n = 0; n < 40; n++) queue.push("std", `s${n}`);
    expect(queue.take(2)).toEqual(["g0", "g1"]);
    // gold's turn was cut by the end of the take: it finishes it, no more, then std has its one.
    expect(queue.take(6)).toEqual(["g2", "s0", "g3", "g4", "g5", "s1"]);
    const rest = queue.take(40);
    expect(rest.filter((item) => item.startsWith("g"))).toHaveLength(30);
    expect(rest.filter((item) => item.startsWith("s"))).toHaveLength(10);
  });

  it("takes nothing for an idle weighted key from the others, and only what it has once busy", () => {
    const weights: Record<string, number> = { gold: 5 };
    const asked: string[] = [];
    const queue = new FairQueue<string>((key) => {
      asked.push(key);
      return weights[key] ?? 1;
    });
    for (const key of ["a", "b"]) for (let n = 0; n < 4; n++) queue.push(key, `${key}${n}`);
    expect(queue.take(4)).toEqual(["a0", "b0", "a1", "b1"]);
    queue.push("gold", "g0");
    expect(queue.takeAll()).toEqual(["a2", "b2", "g0", "a3", "b3"]);
    // Asked once per turn, never per item.
    expect(asked).toEqual(["a", "b", "a", "b", "a", "b", "gold", "a", "b"]);
  });

  it("counts a weight below 1 or not a number as 1", () => {
    const weights: Record<string, number> = { zero: 0, nan: Number.NaN, half: 2.5 };
    const queue = new FairQueue<string>((key) => weights[key] ?? 1);
    for (const key of ["zero", "nan", "half"]) for (let n = 0; n < 3; n++) queue.push(key, `${key}${n}`);
    expect(queue.take(5)).toEqual(["zero0", "nan0", "half0", "half1", "zero1"]);
  });
});
