import { describe, expect, it } from "vitest";
import { HeavyKeys } from "./heavy-keys.js";

function fakeClock() {
  let now = 1_000_000;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("HeavyKeys", () => {
  it("marks a key heavy for the window after one in which it reached minItems, and only it", () => {
    const clock = fakeClock();
    const keys = new HeavyKeys({ windowMs: 1_000, minItems: 100, now: clock.now });
    for (let n = 0; n < 150; n++) expect(keys.count("flood")).toBe(false);
    for (let n = 0; n < 99; n++) keys.count("quiet");
    clock.advance(1_000);
    expect(keys.count("flood")).toBe(true);
    expect(keys.count("quiet")).toBe(false);
    expect([...keys.heavy]).toEqual(["flood"]);
  });

  it("drops a key that stopped publishing heavily after one window below minItems", () => {
    const clock = fakeClock();
    const keys = new HeavyKeys({ windowMs: 1_000, minItems: 10, now: clock.now });
    for (let n = 0; n < 10; n++) keys.count("t");
    clock.advance(1_000);
    expect(keys.count("t")).toBe(true);
    for (let n = 0; n < 5; n++) keys.count("t");
    clock.advance(1_000);
    expect(keys.count("t")).toBe(false);
  });

  it("forgets the heavy keys when nothing was counted for a whole window", () => {
    const clock = fakeClock();
    const keys = new HeavyKeys({ windowMs: 1_000, minItems: 10, now: clock.now });
    for (let n = 0; n < 50; n++) keys.count("t");
    clock.advance(2_500);
    expect(keys.count("t")).toBe(false);
    expect(keys.heavy.size).toBe(0);
  });

  it("keeps windows aligned when the clock jumps within one", () => {
    const clock = fakeClock();
    const keys = new HeavyKeys({ windowMs: 1_000, minItems: 3, now: clock.now });
    clock.advance(1_500); // an idle window ends at +1,000; the next one runs to +2,000
    for (let n = 0; n < 3; n++) keys.count("t");
    clock.advance(400); // +1,900: the same window
    expect(keys.count("t")).toBe(false);
    clock.advance(100); // +2,000: the window with 4 items ended
    expect(keys.count("t")).toBe(true);
  });

  it("refuses a window or a threshold that could never work", () => {
    expect(() => new HeavyKeys({ windowMs: 0, minItems: 1 })).toThrow(RangeError);
    expect(() => new HeavyKeys({ windowMs: 1_000, minItems: 0 })).toThrow(RangeError);
  });

  it("makes a key of weight 3 heavy only from three times minItems", () => {
    const clock = fakeClock();
    const weights: Record<string, number> = { gold: 3 };
    const asked: string[] = [];
    const keys = new HeavyKeys({
      windowMs: 1_000,
      minItems: 100,
      now: clock.now,
      weightOf: (key) => {
        asked.push(key);
        return weights[key] ?? 1;
      },
    });
    for (let n = 0; n < 299; n++) keys.count("gold");
    for (let n = 0; n < 100; n++) keys.count("std");
    for (let n = 0; n < 99; n++) keys.count("quiet");
    clock.advance(1_000);
    expect([...keys.heavy]).toEqual(["std"]);
    // Only keys at minItems or more are weighed, once per window.
    expect(asked.sort()).toEqual(["gold", "std"]);
    for (let n = 0; n < 300; n++) keys.count("gold");
    clock.advance(1_000);
    expect([...keys.heavy]).toEqual(["gold"]);
  });
});
