import { describe, expect, it } from "vitest";
import { KeyedSerializer } from "./keyed-serializer.js";

describe("KeyedSerializer", () => {
  it("runs tasks of one key one at a time in call order, other keys alongside, and forgets idle keys", async () => {
    const serializer = new KeyedSerializer();
    const log: string[] = [];
    const task =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      serializer.run("a", task("a1", 20, true)),
      serializer.run("a", task("a2", 1)),
      serializer.run("b", task("b1", 5)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    expect(log.indexOf("end a1")).toBeLessThan(log.indexOf("start a2"));
    expect(log.indexOf("end b1")).toBeLessThan(log.indexOf("end a1"));
    await new Promise((r) => setTimeout(r, 0));
    expect(serializer.size).toBe(0);
  });

  it("runs a task holding several keys after and before the tasks of each of them", async () => {
    const serializer = new KeyedSerializer();
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
    };
    await Promise.all([
      serializer.run("a", task("a1", 15)),
      serializer.run("b", task("b1", 5)),
      serializer.runAll(["a", "b"], task("ab", 5)),
      serializer.run("b", task("b2", 1)),
      serializer.run("c", task("c1", 1)),
    ]);
    expect(log.indexOf("end a1")).toBeLessThan(log.indexOf("start ab"));
    expect(log.indexOf("end b1")).toBeLessThan(log.indexOf("start ab"));
    expect(log.indexOf("end ab")).toBeLessThan(log.indexOf("start b2"));
    expect(log.indexOf("end c1")).toBeLessThan(log.indexOf("start ab"));
    await new Promise((r) => setTimeout(r, 0));
    expect(serializer.size).toBe(0);
  });
});
