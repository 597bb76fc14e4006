import pLimit from "p-limit";
import { describe, expect, it } from "vitest";
import {
  EndpointGate,
  type EndpointLimit,
  type EndpointPass,
  type EndpointRefusal,
  fairSlots,
  SLOW_VS_TYPICAL,
} from "./endpoint-gate.js";

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
const fixed = (n: number): EndpointLimit => ({ base: n, max: n });
const SLOW_MS = 1_000;

function gateWith(maxWaiting: number, clock = fakeClock()) {
  return new EndpointGate({ maxWaiting, slowAfterMs: SLOW_MS, now: clock.now });
}

/** A pass the test knows was granted (not a refusal), its request sent at once. */
async function passOf(entry: Promise<EndpointPass | EndpointRefusal>): Promise<EndpointPass> {
  const settled = await entry;
  if ("refused" in settled) throw new Error("refused");
  settled.sending();
  return settled;
}

/** Enters a task and collects its pass once granted (its request sent at once); refusals are dropped. */
function collectPass(entry: Promise<EndpointPass | EndpointRefusal>, admitted: EndpointPass[]): void {
  void entry.then((settled) => {
    if ("refused" in settled) return;
    settled.sending();
    admitted.push(settled);
  });
}

describe("EndpointGate", () => {
  it("lets `limit` tasks through at once and queues the rest first come first served", async () => {
    const clock = fakeClock();
    const gate = gateWith(10, clock);
    const first = await passOf(gate.enter("ep_a", fixed(2)));
    const second = await passOf(gate.enter("ep_a", fixed(2)));
    const order: number[] = [];
    const third = passOf(gate.enter("ep_a", fixed(2))).then((p) => {
      order.push(3);
      return p;
    });
    const fourth = passOf(gate.enter("ep_a", fixed(2))).then((p) => {
      order.push(4);
      return p;
    });
    await flush();
    expect(order).toEqual([]);
    expect(gate.waiting).toBe(2);
    clock.advance(300);
    first.release();
    expect((await third).waitedMs).toBe(300);
    expect(order).toEqual([3]);
    second.release();
    await fourth;
    expect(order).toEqual([3, 4]);
    expect(gate.waiting).toBe(0);
    expect(first.waitedMs).toBe(0);
  });

  it("counts each endpoint apart: one at its limit does not hold another", async () => {
    const gate = gateWith(10);
    await passOf(gate.enter("ep_slow", fixed(1)));
    let slowPassed = false;
    void gate.enter("ep_slow", fixed(1)).then(() => {
      slowPassed = true;
    });
    const healthy = await Promise.all([1, 2, 3].map(() => passOf(gate.enter("ep_ok", fixed(3)))));
    expect(healthy.every((p) => p.waitedMs === 0)).toBe(true);
    await flush();
    expect(slowPassed).toBe(false);
    expect(gate.busiest(5)).toEqual([{ endpointId: "ep_slow", waiting: 1, running: 1, limit: 1 }]);
  });

  it("refuses a task once a slow endpoint's wait list is full, for as long as its oldest request took", async () => {
    const clock = fakeClock();
    const gate = gateWith(2, clock);
    await passOf(gate.enter("ep_a", fixed(1)));
    const waiting = [gate.enter("ep_a", fixed(1)), gate.enter("ep_a", fixed(1))];
    // Not slow yet: a third waits too, rather than going back to the broker.
    const third = gate.enter("ep_a", fixed(1));
    expect(gate.waiting).toBe(3);
    clock.advance(SLOW_MS + 500);
    // The tick finds it slow: of its waiting tasks it keeps as many as it has in flight (each holds a
    // message), the latest go back.
    expect(gate.tick()).toBe(2);
    expect(await third).toEqual({ refused: true, retryAfterMs: 1_500 });
    expect(await waiting[1]).toEqual({ refused: true, retryAfterMs: 1_500 });
    expect(gate.waiting).toBe(1);
    expect(await gate.enter("ep_a", fixed(1))).toEqual({ refused: true, retryAfterMs: 1_500 });
    // Another endpoint is not concerned.
    expect("release" in (await gate.enter("ep_b", fixed(1)))).toBe(true);
    expect(gate.tick()).toBe(0);
    void waiting;
  });

  it("does not count the instance's own pauses against an endpoint", async () => {
    const clock = fakeClock();
    const gate = gateWith(1, clock);
    const held = await passOf(gate.enter("ep_a", fixed(1)));
    const waiting = [gate.enter("ep_a", fixed(1)), gate.enter("ep_a", fixed(1))];
    // The process stood still for 3 s (its timer came 3 s late): the request is not slow for it.
    clock.advance(3_000);
    expect(gate.tick(3_000)).toBe(0);
    expect(gate.waiting).toBe(2);
    // A second later by its own clock, it is.
    clock.advance(SLOW_MS);
    expect(gate.tick()).toBe(1);
    expect(await waiting[1]).toEqual({ refused: true, retryAfterMs: SLOW_MS });
    // Answered: slow no longer, its next task waits in memory again.
    held.release("ok");
    expect("release" in (await (waiting[0] as Promise<EndpointPass | EndpointRefusal>))).toBe(true);
    const next = gate.enter("ep_a", fixed(1));
    expect(gate.waiting).toBe(1);
    void next;
  });

  it("never sends a fast endpoint's tasks back: 200 arriving at once all wait and all run", async () => {
    const clock = fakeClock();
    const gate = gateWith(16, clock);
    const limit = { base: 16, max: 64 };
    const entries = Array.from({ length: 200 }, () => gate.enter("ep_fast", limit));
    expect(gate.waiting).toBe(200 - 16);
    // Each request is answered 5 ms after it was let through; the rest keep arriving.
    let served = 0;
    const refused: number[] = [];
    await Promise.all(
      entries.map(async (entry, i) => {
        const pass = await entry;
        if ("refused" in pass) {
          refused.push(i);
          return;
        }
        pass.sending();
        await flush();
        clock.advance(5);
        served += 1;
        pass.release("ok");
      }),
    );
    // Late arrivals while it was busy: still admitted or waiting, never refused.
    expect(gate.tick()).toBe(0);
    expect(refused).toEqual([]);
    expect(served).toBe(200);
    expect(gate.waiting).toBe(0);
  });

  it("grows a fast endpoint's limit by one per limit's worth of fast answers, up to its max", async () => {
    const clock = fakeClock();
    const gate = gateWith(16, clock);
    const limit = { base: 4, max: 6 };
    const admitted: EndpointPass[] = [];
    for (let i = 0; i < 40; i++) collectPass(gate.enter("ep", limit), admitted);
    const answerAll = async (answer: "ok" | "failed", ms = 10) => {
      await flush();
      const now = admitted.splice(0);
      clock.advance(ms);
      for (const pass of now) pass.release(answer);
      return now.length;
    };
    // Four fast successful answers while tasks wait: one more may be in flight, and so on up to 6.
    expect(await answerAll("ok")).toBe(4);
    expect(gate.limitOf("ep")).toBe(5);
    expect(await answerAll("ok")).toBe(5);
    expect(gate.limitOf("ep")).toBe(6);
    expect(await answerAll("ok")).toBe(6);
    expect(await answerAll("ok")).toBe(6);
    expect(gate.limitOf("ep")).toBe(6);
    // Each slow answer halves it, down to 1; failures do not grow it.
    expect(await answerAll("ok", SLOW_MS)).toBe(6);
    expect(gate.limitOf("ep")).toBe(1);
    expect(await answerAll("failed")).toBe(1);
    expect(gate.limitOf("ep")).toBe(1);
    // Fast again: below its base it grows by one per answer (slow start), then as before.
    expect(await answerAll("ok")).toBe(1);
    expect(gate.limitOf("ep")).toBe(2);
    expect(await answerAll("ok")).toBe(2);
    expect(gate.limitOf("ep")).toBe(4);
  });

  it("halves a grown limit on failures down to its base, and a hanging endpoint's below it", async () => {
    const clock = fakeClock();
    const gate = gateWith(100, clock);
    const limit = { base: 2, max: 10 };
    const admitted: EndpointPass[] = [];
    for (let i = 0; i < 40; i++) collectPass(gate.enter("ep", limit), admitted);
    const answer = async (how: "ok" | "failed") => {
      await flush();
      const pass = admitted.shift() as EndpointPass;
      clock.advance(1);
      pass.release(how);
    };
    // 2 + 3 + 4 + 5 fast successes: 2 → 6.
    for (let i = 0; i < 14; i++) await answer("ok");
    expect(gate.limitOf("ep")).toBe(6);
    await answer("failed");
    expect(gate.limitOf("ep")).toBe(3);
    await answer("failed");
    await answer("failed");
    expect(gate.limitOf("ep")).toBe(2);
    for (let i = 0; i < 5; i++) await answer("ok");
    expect(gate.limitOf("ep")).toBe(4);
    // Now its requests hang: each tick that finds one a second old halves the limit, down to 1, and
    // sends back the tasks waiting beyond it.
    await flush();
    clock.advance(SLOW_MS);
    expect(gate.tick()).toBe(40 - 14 - 3 - 5 - 4 - 2);
    expect(gate.limitOf("ep")).toBe(2);
    gate.tick();
    expect(gate.limitOf("ep")).toBe(1);
    expect(gate.waiting).toBe(1);
  });

  it("finds an endpoint slow against the instance's typical answer, not on a machine slow for all", async () => {
    const clock = fakeClock();
    const gate = gateWith(0, clock);
    // Every endpoint answers in 3 s (the machine is overloaded): a request 4 s old is not slow here.
    for (let i = 0; i < 200; i++) {
      const pass = await passOf(gate.enter(`ep_${i % 7}`, fixed(1)));
      clock.advance(3_000);
      pass.release("ok");
    }
    expect(Math.round(gate.typicalAnswerMs ?? 0)).toBe(3_000);
    const held = await passOf(gate.enter("ep_x", fixed(1)));
    let refused = false;
    void gate.enter("ep_x", fixed(1)).then((entry) => {
      refused = "refused" in entry;
    });
    clock.advance(4_000);
    gate.tick();
    await flush();
    expect(refused).toBe(false);
    // At 4 × the typical answer it is.
    clock.advance(8_000);
    gate.tick();
    await flush();
    expect(refused).toBe(true);
    held.release();

    // Where answers take 10 ms, a second is slow, even with a few 10 s answers among them.
    const healthy = gateWith(0, clock);
    for (let i = 0; i < 200; i++) {
      const pass = await passOf(healthy.enter(`ep_${i % 7}`, fixed(1)));
      clock.advance(i % 20 === 0 ? 10_000 : 10);
      pass.release("ok");
    }
    expect(healthy.typicalAnswerMs).toBeLessThan(SLOW_MS / SLOW_VS_TYPICAL);
    await passOf(healthy.enter("ep_x", fixed(1)));
    clock.advance(SLOW_MS);
    healthy.tick();
    expect(await healthy.enter("ep_x", fixed(1))).toEqual({ refused: true, retryAfterMs: SLOW_MS });
  });

  it("applies a raised limit to the tasks already waiting", async () => {
    const gate = gateWith(5);
    const held = await passOf(gate.enter("ep_a", fixed(1)));
    const waiting = [gate.enter("ep_a", fixed(1)), gate.enter("ep_a", fixed(1))];
    // The limit is 3 now: the two waiting go through without a release; the new one is the fourth.
    const fourth = gate.enter("ep_a", fixed(3));
    await Promise.all(waiting);
    expect(gate.waiting).toBe(1);
    held.release();
    await fourth;
    expect(gate.waiting).toBe(0);
  });

  it("frees an idle endpoint's state, and a double release counts once", async () => {
    const gate = gateWith(5);
    const pass = await passOf(gate.enter("ep_a", fixed(1)));
    pass.release();
    pass.release("ok");
    expect(gate.busiest(10)).toEqual([]);
    expect(gate.limitOf("ep_a")).toBeUndefined();
    const again = await passOf(gate.enter("ep_a", fixed(1)));
    expect(again.waitedMs).toBe(0);
    expect(gate.waiting).toBe(0);
  });

  it("rejects a limit below 1, a max below it and a negative wait bound", () => {
    const gate = gateWith(5);
    expect(() => gate.enter("ep_a", fixed(0))).toThrow(/limit must be ≥ 1/);
    expect(() => gate.enter("ep_a", { base: 4, max: 2 })).toThrow(/max ≥ it/);
    expect(() => new EndpointGate({ maxWaiting: -1, slowAfterMs: 1 })).toThrow(RangeError);
    expect(() => new EndpointGate({ maxWaiting: 1, slowAfterMs: 0 })).toThrow(RangeError);
  });
});

describe("fairSlots", () => {
  /** Tasks named by their endpoint, one at a time per endpoint, all through one shared slot. */
  function oneSlot(maxWaiting: number) {
    const clock = fakeClock();
    const gate = gateWith(maxWaiting, clock);
    const limit1 = pLimit(1);
    const run = fairSlots<string>({
      gate,
      slot: (_task, run) => limit1(run),
      endpointOf: (t) => t,
      limitOf: async () => fixed(1),
      now: clock.now,
    });
    return { clock, gate, run };
  }

  it("keeps a hanging endpoint's tasks out of the shared slots so another endpoint's all run", async () => {
    const clock = fakeClock();
    const gate = gateWith(3, clock);
    const limit4 = pLimit(4);
    const run = fairSlots<{ endpoint: string }>({
      gate,
      slot: (_task, run) => limit4(run),
      endpointOf: (task) => task.endpoint,
      limitOf: async (task) => fixed(task.endpoint === "slow" ? 2 : 20),
      now: clock.now,
    });
    const hang = deferred();
    const slow = Array.from({ length: 5 }, () => run({ endpoint: "slow" }, () => hang.promise));
    const healthy = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        run({ endpoint: "ok" }, async (pass) => {
          pass.release("ok");
          return { n };
        }),
      ),
    );
    expect(healthy.map((r) => ("result" in r ? r.result.n : -1))).toEqual(
      Array.from({ length: 20 }, (_, n) => n),
    );
    // 2 in flight, 3 waiting; once its requests are a second old, its limit halves to 1 and it keeps 1
    // waiting: 2 go back, and so does a sixth.
    expect(gate.waiting).toBe(3);
    clock.advance(SLOW_MS);
    expect(gate.tick()).toBe(2);
    expect(await run({ endpoint: "slow" }, async () => "never")).toEqual({
      refused: true,
      retryAfterMs: SLOW_MS,
    });
    hang.resolve();
    const settled = await Promise.all(slow);
    expect(settled.filter((r) => "result" in r)).toHaveLength(3);
    expect(settled.filter((r) => "refused" in r)).toHaveLength(2);
    expect(gate.waiting).toBe(0);
  });

  it("tells the task how long it waited at its endpoint and for its slot", async () => {
    const { clock, run } = oneSlot(3);
    const hold = deferred();
    const first = run("ep_a", () => hold.promise);
    const second = run("ep_a", async (_pass, waits) => waits);
    const other = run("ep_b", async (_pass, waits) => waits);
    await flush();
    clock.advance(40);
    hold.resolve();
    await first;
    expect(await second).toEqual({ result: { endpointMs: 40, slotMs: 0 } });
    expect(await other).toEqual({ result: { endpointMs: 0, slotMs: 40 } });
  });

  it("does not count a task's wait for a shared slot as its endpoint's slowness", async () => {
    const { clock, gate, run } = oneSlot(0);
    const hold = deferred();
    const busy = run("ep_busy", () => hold.promise);
    const queued = run("ep_a", async () => "sent");
    await flush();
    // ep_a's task is through its gate and waits for the only slot: its endpoint is not slow for that.
    clock.advance(SLOW_MS * 2);
    gate.tick();
    // Not refused: the next task waits in memory.
    let settled = false;
    const next = gate.enter("ep_a", fixed(1)).then((entry) => {
      settled = true;
      return entry;
    });
    await flush();
    expect(settled).toBe(false);
    hold.resolve();
    await busy;
    expect(await queued).toEqual({ result: "sent" });
    const admitted = await next;
    expect(admitted).not.toHaveProperty("refused");
    if ("release" in admitted) admitted.release();
  });

  it("releases the endpoint's pass when the task throws", async () => {
    const { run } = oneSlot(0);
    await expect(
      run("ep", async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await run("ep", async () => 7)).toEqual({ result: 7 });
  });
});
