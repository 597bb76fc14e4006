import { describe, expect, it } from "vitest";
import { CircuitBreakers } from "./circuit-breaker.js";

function breakers() {
  let now = 0;
  const clock = { advance: (ms: number) => (now += ms) };
  const transitions: string[] = [];
  const b = new CircuitBreakers(
    {
      failureRatio: 0.5,
      minimumAttempts: 4,
      windowMs: 10_000,
      cooldownMs: 1_000,
      maxCooldownMs: 3_000,
      onTransition: (to, endpointId) => transitions.push(`${endpointId} ${to}`),
    },
    () => now,
  );
  return { b, clock, transitions };
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
    const { b, clock, transitions } = breakers();
    for (let i = 0; i < 4; i++) b.record("ep", false);
    clock.advance(1_000);
    b.admit("ep");
    b.record("ep", false);
    expect(b.state("ep")).toBe("open");
    expect(b.counts()).toEqual({ closed: 0, open: 1, "half-open": 0 });
    // Staying open after a failed probe is no transition: only opening and closing count.
    expect(transitions).toEqual(["ep open"]);
  });

  it("tells each opening and closing, so flapping can be counted", () => {
    const { b, clock, transitions } = breakers();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) b.record("ep", false);
      b.record("ep", false); // a failure while open, not the probe: no transition
      clock.advance(1_000);
      b.admit("ep");
      b.record("ep", true);
    }
    expect(transitions).toEqual(["ep open", "ep closed", "ep open", "ep closed"]);
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

  it("admits an operator's replay through an open circuit as its probe, whose success closes it", () => {
    const { b, clock } = breakers();
    for (let i = 0; i < 4; i++) b.record("ep", false);
    clock.advance(100);
    expect(b.admit("ep").allowed).toBe(false);
    expect(b.admit("ep", true)).toEqual({ allowed: true });
    expect(b.admit("ep", true)).toEqual({ allowed: true });
    expect(b.record("ep", true)).toBe(true);
    expect(b.state("ep")).toBe("closed");
    expect(b.record("ep", true)).toBe(false);
    expect(b.admit("ep")).toEqual({ allowed: true });
  });

  it("re-opens for longer when an operator's replay fails, and ignores failures that were not the probe", () => {
    const { b, clock } = breakers();
    for (let i = 0; i < 4; i++) b.record("ep", false);
    b.admit("ep", true);
    b.record("ep", false);
    b.record("ep", false);
    clock.advance(1_000);
    expect(b.state("ep")).toBe("open");
    clock.advance(1_000);
    expect(b.state("ep")).toBe("half-open");
  });

  it("resets an endpoint's circuit, or every circuit of a tenant", () => {
    const { b } = breakers();
    for (const [ep, tenant] of [
      ["ep1", "t1"],
      ["ep2", "t1"],
      ["ep3", "t2"],
    ] as const) {
      for (let i = 0; i < 4; i++) b.record(ep, false, tenant);
    }
    b.reset("t1", "ep1");
    expect([b.state("ep1"), b.state("ep2"), b.state("ep3")]).toEqual(["closed", "open", "open"]);
    b.reset("t1");
    expect([b.state("ep2"), b.state("ep3")]).toEqual(["closed", "open"]);
    b.reset("");
    expect(b.state("ep3")).toBe("open");
    b.reset("t2");
    expect(b.counts()).toEqual({ closed: 0, open: 0, "half-open": 0 });
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
    // Four attempts in the window, one failed: the three that aged out no longer count.
    b.record("ep", true);
    expect(b.state("ep")).toBe("closed");
    b.record("ep", false);
    b.record("ep", false);
    expect(b.state("ep")).toBe("open");
  });

  it("judges the latest 500 attempts only", () => {
    const { b } = breakers();
    b.record("ep", false);
    b.record("ep", false);
    for (let i = 0; i < 498; i++) b.record("ep", true);
    // Each new failure pushes out the oldest attempt: the two failures first.
    for (let i = 0; i < 249; i++) b.record("ep", false);
    expect(b.state("ep")).toBe("closed");
    b.record("ep", false);
    expect(b.state("ep")).toBe("open");
  });
});
