import { describe, expect, it } from "vitest";
import { RoundRobinSlots } from "./round-robin-slots.js";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("RoundRobinSlots", () => {
  it("serves a quiet lane's items between a flooding lane's, not after them", async () => {
    const slots = new RoundRobinSlots(1);
    const order: string[] = [];
    const gate = deferred();
    const first = slots.run("flood", () => gate.promise);
    const all = [first];
    for (let n = 0; n < 100; n++) all.push(slots.run("flood", async () => void order.push(`f${n}`)));
    for (let n = 0; n < 3; n++) all.push(slots.run("quiet", async () => void order.push(`q${n}`)));
    expect(slots.waiting).toBe(103);
    expect(slots.waitingLanes).toBe(2);
    gate.resolve();
    await Promise.all(all);
    expect(order.slice(0, 6)).toEqual(["f0", "q0", "f1", "q1", "f2", "q2"]);
    expect(order).toHaveLength(103);
    expect(slots.waiting).toBe(0);
  });

  it("keeps `size` tasks running, and frees a slot when a task throws", async () => {
    const slots = new RoundRobinSlots(2);
    let running = 0;
    let most = 0;
    const task = async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setImmediate(r));
      running -= 1;
    };
    await Promise.all(Array.from({ length: 10 }, (_, n) => slots.run(`t${n % 3}`, task)));
    expect(most).toBe(2);
    await expect(
      slots.run("a", async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await slots.run("a", async () => 5)).toBe(5);
  });

  it("refuses fewer than one slot", () => {
    expect(() => new RoundRobinSlots(0)).toThrow(RangeError);
  });
});
