import pLimit from "p-limit";
import { describe, expect, it } from "vitest";
import { EndpointGate, type EndpointPass, fairSlots } from "./endpoint-gate.js";

/** A clock the test moves by hand. */
function fakeClock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** A promise the test settles by hand, and whether it settled. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe("EndpointGate", () => {
  it("lets `limit` tasks through at once and queues the rest first come first served", async () => {
    const clock = fakeClock();
    const gate = new EndpointGate({ maxWaiting: 10, now: clock.now });
    const first = await gate.enter("ep_a", 2);
    const second = await gate.enter("ep_a", 2);
    const order: number[] = [];
    const third = gate.enter("ep_a", 2)?.then((p) => {
      order.push(3);
      return p;
    });
    const fourth = gate.enter("ep_a", 2)?.then((p) => {
      order.push(4);
      return p;
    });
    await flush();
    expect(order).toEqual([]);
    expect(gate.waiting).toBe(2);
    clock.advance(300);
    first?.release();
    const passed = (await third) as EndpointPass;
    expect(passed.waitedMs).toBe(300);
    expect(order).toEqual([3]);
    second?.release();
    await fourth;
    expect(order).toEqual([3, 4]);
    expect(gate.waiting).toBe(0);
    expect(first?.waitedMs).toBe(0);
  });

  it("counts each endpoint apart: one at its limit does not hold another", async () => {
    const gate = new EndpointGate({ maxWaiting: 10 });
    await gate.enter("ep_slow", 1);
    const slowNext = gate.enter("ep_slow", 1);
    let slowPassed = false;
    slowNext?.then(() => {
      slowPassed = true;
    });
    const healthy = await Promise.all([
      gate.enter("ep_ok", 3),
      gate.enter("ep_ok", 3),
      gate.enter("ep_ok", 3),
    ]);
    expect(healthy.every((p) => p?.waitedMs === 0)).toBe(true);
    await flush();
    expect(slowPassed).toBe(false);
    expect(gate.busiest(5)).toEqual([{ endpointId: "ep_slow", waiting: 1, running: 1 }]);
  });

  it("refuses a task once its endpoint's wait list is full", async () => {
    const gate = new EndpointGate({ maxWaiting: 2 });
    await gate.enter("ep_a", 1);
    expect(gate.enter("ep_a", 1)).toBeDefined();
    expect(gate.enter("ep_a", 1)).toBeDefined();
    expect(gate.enter("ep_a", 1)).toBeUndefined();
    expect(gate.enter("ep_b", 1)).toBeDefined();
  });

  it("applies a raised limit to the tasks already waiting", async () => {
    const gate = new EndpointGate({ maxWaiting: 5 });
    const held = await gate.enter("ep_a", 1);
    const waiting = [gate.enter("ep_a", 1), gate.enter("ep_a", 1)];
    // The limit is 3 now: the two waiting go through without a release; the new one is the fourth.
    const fourth = gate.enter("ep_a", 3);
    await Promise.all(waiting);
    expect(gate.waiting).toBe(1);
    held?.release();
    await fourth;
    expect(gate.waiting).toBe(0);
  });

  it("frees an idle endpoint's state, and a double release counts once", async () => {
    const gate = new EndpointGate({ maxWaiting: 5 });
    const pass = await gate.enter("ep_a", 1);
    pass?.release();
    pass?.release();
    expect(gate.busiest(10)).toEqual([]);
    const again = await gate.enter("ep_a", 1);
    expect(again?.waitedMs).toBe(0);
    expect(gate.enter("ep_a", 1)).toBeDefined();
  });

  it("rejects a limit below 1 and a negative wait bound", () => {
    const gate = new EndpointGate({ maxWaiting: 5 });
    expect(() => gate.enter("ep_a", 0)).toThrow(/limit must be ≥ 1/);
    expect(() => new EndpointGate({ maxWaiting: -1 })).toThrow(RangeError);
  });
});

describe("fairSlots", () => {
  it("keeps a hanging endpoint's tasks out of the shared slots so another endpoint's all run", async () => {
    const gate = new EndpointGate({ maxWaiting: 3 });
    const limit4 = pLimit(4);
    const run = fairSlots<{ endpoint: string }>({
      gate,
      slot: (_task, run) => limit4(run),
      endpointOf: (task) => task.endpoint,
      limitOf: async (task) => (task.endpoint === "slow" ? 2 : 20),
    });
    const hang = deferred();
    const slow = Array.from({ length: 5 }, () => run({ endpoint: "slow" }, () => hang.promise));
    const healthy = await Promise.all(
      Array.from({ length: 20 }, (_, n) => run({ endpoint: "ok" }, async (waitedMs) => ({ n, waitedMs }))),
    );
    expect(healthy.map((r) => ("result" in r ? r.result.n : -1))).toEqual(
      Array.from({ length: 20 }, (_, n) => n),
    );
    // 2 in flight, 3 waiting: a sixth is refused, to go back to the broker.
    expect(gate.waiting).toBe(3);
    expect(await run({ endpoint: "slow" }, async () => "never")).toEqual({ full: true });
    hang.resolve();
    const settled = await Promise.all(slow);
    expect(settled.every((r) => "result" in r)).toBe(true);
    expect(gate.waiting).toBe(0);
  });

  it("releases the endpoint's pass when the task throws", async () => {
    const gate = new EndpointGate({ maxWaiting: 0 });
    const limit1 = pLimit(1);
    const run = fairSlots<string>({
      gate,
      slot: (_task, run) => limit1(run),
      endpointOf: (t) => t,
      limitOf: async () => 1,
    });
    await expect(
      run("ep", async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await run("ep", async () => 7)).toEqual({ result: 7 });
  });
});
