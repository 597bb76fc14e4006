import { describe, expect, it } from "vitest";
import { TenantGate } from "./tenant-gate.js";

/** Lets every settled promise's continuations run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("TenantGate", () => {
  it("holds a tenant's calls past its limit, in order, while another tenant's go at once", async () => {
    const gate = new TenantGate(100);
    const admitted: string[] = [];
    const releases = new Map<string, () => void>();
    const call = (tenant: string, name: string, count: number) =>
      gate.acquire(tenant, count).then((release) => {
        admitted.push(name);
        releases.set(name, release);
      });
    const calls = [call("flood", "f1", 50), call("flood", "f2", 50), call("flood", "f3", 50)];
    calls.push(call("flood", "f4", 10), call("quiet", "q1", 1));
    await settle();
    // f4 would fit, but waits behind f3: a tenant's calls keep their order.
    expect(admitted).toEqual(["f1", "f2", "q1"]);
    expect(gate.inFlight("flood")).toBe(100);
    expect(gate.waiting).toBe(2);
    releases.get("f1")?.();
    await settle();
    expect(admitted).toEqual(["f1", "f2", "q1", "f3"]);
    releases.get("f2")?.();
    await settle();
    expect(admitted).toEqual(["f1", "f2", "q1", "f3", "f4"]);
    expect(gate.inFlight("flood")).toBe(60);
    expect(gate.inFlight("quiet")).toBe(1);
    await Promise.all(calls);
  });

  it("lets a call larger than the limit go alone, and forgets a tenant with nothing in flight", async () => {
    const gate = new TenantGate(10);
    const big = await gate.acquire("t", 25);
    let small: (() => void) | undefined;
    const waiting = gate.acquire("t", 1).then((release) => {
      small = release;
    });
    await settle();
    expect(small).toBeUndefined();
    big();
    big(); // a second release changes nothing
    await waiting;
    expect(gate.inFlight("t")).toBe(1);
    small?.();
    expect(gate.inFlight("t")).toBe(0);
    expect(gate.waiting).toBe(0);
  });

  it("drops a waiting call whose caller left, and admits the calls behind it", async () => {
    const gate = new TenantGate(10);
    const first = await gate.acquire("t", 8);
    const controller = new AbortController();
    const leaving = gate.acquire("t", 5, controller.signal);
    let admitted = false;
    const next = gate.acquire("t", 2).then((release) => {
      admitted = true;
      return release;
    });
    await settle();
    expect(admitted).toBe(false);
    controller.abort(new Error("caller left"));
    await expect(leaving).rejects.toThrow("caller left");
    (await next)();
    expect(admitted).toBe(true);
    first();
    expect(gate.inFlight("t")).toBe(0);
    await expect(gate.acquire("t", 20, controller.signal)).resolves.toBeTypeOf("function");
  });

  it("refuses a limit below one", () => {
    expect(() => new TenantGate(0)).toThrow(RangeError);
  });
});
