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

  it("gives a lane of weight 3 three slots per turn to another lane's one", async () => {
    const weights: Record<string, number> = { gold: 3 };
    const slots = new RoundRobinSlots(1, (lane) => weights[lane] ?? 1);
    const order: string[] = [];
    const gate = deferred();
    const all = [slots.run("first", () => gate.promise)];
    for (let n = 0; n < 30; n++) all.push(slots.run("std", async () => void order.push(`s${n}`)));
    for (let n = 0; n < 60; n++) all.push(slots.run("gold", async () => void order.push(`g${n}`)));
    gate.resolve();
    await Promise.all(all);
    expect(order.slice(0, 8)).toEqual(["s0", "g0", "g1", "g2", "s1", "g3", "g4", "g5"]);
    // While both had tasks waiting (the first 40 slots), gold had three for std's one.
    const contended = order.slice(0, 40);
    expect(contended.filter((t) => t.startsWith("g"))).toHaveLength(30);
    expect(contended.filter((t) => t.startsWith("s"))).toHaveLength(10);
    expect(order).toHaveLength(90);
  });

  it("takes nothing from the others for an idle weighted lane, and runs at once without contention", async () => {
    const weights: Record<string, number> = { gold: 10 };
    const slots = new RoundRobinSlots(1, (lane) => weights[lane] ?? 1);
    const order: string[] = [];
    const gate = deferred();
    const all = [slots.run("first", () => gate.promise)];
    for (let n = 0; n < 3; n++) all.push(slots.run("a", async () => void order.push(`a${n}`)));
    for (let n = 0; n < 3; n++) all.push(slots.run("b", async () => void order.push(`b${n}`)));
    all.push(slots.run("gold", async () => void order.push("g0")));
    gate.resolve();
    await Promise.all(all);
    expect(order).toEqual(["a0", "b0", "g0", "a1", "b1", "a2", "b2"]);
    // Alone, a weighted lane's tasks run as they come, one slot each as before.
    expect(await slots.run("gold", async () => "ran")).toBe("ran");
    expect(slots.waiting).toBe(0);
  });
});
