import { describe, expect, it } from "vitest";
import { CircuitBreakers } from "./circuit-breaker.js";

function breakers() {
  let now = 0;
  const clock = { advance: (ms: number) => (now += ms) };
  const b = new CircuitBreakers(
    { failureRatio: 0.5, minimumAttempts: 4, windowMs: 10_000, cooldownMs: 1_000, maxCooldownMs: 3_000 },
    () => now,
  );
  return { b, clock };
}

describe("CircuitBreakers", () => {
  it("stays closed below the minimum number of attempts", () => {
    const { b } = breakers();
    for (let i = 0; i < 3; i++) b.record("ep", false);
    expect(b.state("ep")).toBe("closed");
    expect(b.admit("ep")).toEqual({ allowed: true });
  });

  it("opens at the failure ratio and parks tasks for the rest of the cooldown", () => {
    const { b, clock } = breakers();
    b.record("ep", true);
    b.record("ep", true);
    b.record("ep", false);
    b.record("ep", false);
    expect(b.state("ep")).toBe("open");
    clock.advance(400);
    expect(b.admit("ep")).toEqual({ allowed: false, waitMs: 600 });
    expect(b.admit("other")).toEqual({ allowed: true });
  });

  it("lets one probe through after the cooldown; its success closes the circuit", () => {
    const { b, clock } = breakers();
    for (let i = 0; i < 4; i++) b.record("ep", false);
    clock.advance(1_000);
    expect(b.state("ep")).toBe("half-open");
    expect(b.admit("ep")).toEqual({ allowed: true });
    expect(b.admit("ep").allowed).toBe(false);
    b.record("ep", true);
    expect(b.state("ep")).toBe("closed");
    expect(b.admit("ep")).toEqual({ allowed: true });
  });

  it("re-opens when the probe fails", () => {
    const { b, clock } = breakers();
    for (let i = 0; i < 4; i++) b.record("ep", false);
    clock.advance(1_000);
    b.admit("ep");
    b.record("ep", false);
    expect(b.state("ep")).toBe("open");
    expect(b.counts()).toEqual({ closed: 0, open: 1, "half-open": 0 });
  });

  it("doubles the cooldown after each failed probe, up to the longest, and starts over once a probe succeeds", () => {
    const { b, clock } = breakers();
    for (let i = 0; i < 4; i++) b.record("ep", false);
    const failProbeAfter = (cooldownMs: number) => {
      clock.advance(cooldownMs - 1);
      expect(b.admit("ep")).toEqual({ allowed: false, waitMs: 1 });
      clock.advance(1);
      expect(b.admit("ep")).toEqual({ allowed: true });
      b.record("ep", false);
    };
    failProbeAfter(1_000);
    failProbeAfter(2_000);
    failProbeAfter(3_000);
    failProbeAfter(3_000);
    clock.advance(3_000);
    expect(b.admit("ep")).toEqual({ allowed: true });
    b.record("ep", true);
    expect(b.state("ep")).toBe("closed");
    for (let i = 0; i < 4; i++) b.record("ep", false);
    clock.advance(1_000);
    expect(b.state("ep")).toBe("half-open");
  });

  it("forgets failures older than the window", () => {
    const { b, clock } = breakers();
    b.record("ep", false);
    b.record("ep", false);
    clock.advance(11_000);
    b.record("ep", false);
    b.record("ep", true);
    b.record("ep", true);
    expect(b.state("ep")).toBe("closed");
  });
});
