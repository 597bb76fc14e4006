import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Batcher } from "./batcher.js";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function recorder() {
  const batches: number[][] = [];
  return { batches, write: async (items: number[]) => void batches.push(items) };
}

/** Records each batch; a write ends only when `release` is called. */
function heldWrites() {
  const batches: number[][] = [];
  let resolveWrite = () => {};
  const write = (items: number[]) => {
    batches.push(items);
    return new Promise<void>((resolve) => {
      resolveWrite = resolve;
    });
  };
  return { batches, write, release: () => resolveWrite() };
}

describe("Batcher", () => {
  it("writes as soon as a batch is full", async () => {
    const { batches, write } = recorder();
    const batcher = new Batcher({ maxSize: 3, maxDelayMs: 1_000, write });
    const added = [1, 2, 3, 4].map((n) => batcher.add(n));
    await Promise.all(added.slice(0, 3));
    expect(batches).toEqual([[1, 2, 3]]);
    expect(batcher.size).toBe(1);
  });

  it("writes a partial batch after the delay, and not before", async () => {
    const { batches, write } = recorder();
    const batcher = new Batcher({ maxSize: 100, maxDelayMs: 50, write });
    let done = false;
    const added = Promise.all([batcher.add(1), batcher.add(2)]).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(49);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await added;
    expect(batches).toEqual([[1, 2]]);
  });

  it("fails every item of a batch whose write fails, and carries on", async () => {
    let fail = true;
    const batcher = new Batcher<number>({
      maxSize: 2,
      maxDelayMs: 10,
      write: async () => {
        if (fail) throw new Error("mongo down");
      },
    });
    const results = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    await expect(Promise.all([batcher.add(3), batcher.add(4)])).resolves.toBeDefined();
  });

  it("drains what is buffered and waits for writes in flight", async () => {
    const { batches, write } = recorder();
    const batcher = new Batcher({ maxSize: 10, maxDelayMs: 60_000, write });
    const added = batcher.add(7);
    await batcher.drain();
    await added;
    expect(batches).toEqual([[7]]);
  });

  it("writes one batch at a time when told, the next holding what arrived meanwhile", async () => {
    const { batches, write, release } = heldWrites();
    const batcher = new Batcher({ maxSize: 2, maxDelayMs: 10, write, maxConcurrentWrites: 1 });
    const added = [1, 2, 3, 4, 5].map((n) => batcher.add(n));
    await vi.advanceTimersByTimeAsync(20);
    expect(batches).toEqual([[1, 2]]);
    release();
    await Promise.all(added.slice(0, 2));
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    release();
    await vi.advanceTimersByTimeAsync(20);
    release();
    await Promise.all(added);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("with no size limit, writes everything of one delay together, the delay counted from the first item", async () => {
    const { batches, write } = recorder();
    const batcher = new Batcher({ maxSize: Infinity, maxDelayMs: 1_000, write });
    let written = false;
    const first = Promise.all([batcher.add(1), batcher.add(2)]).then(() => {
      written = true;
    });
    await vi.advanceTimersByTimeAsync(400);
    const second = batcher.add(3);
    await vi.advanceTimersByTimeAsync(599);
    expect(written).toBe(false);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([first, second]);
    expect(batches).toEqual([[1, 2, 3]]);

    // The next item starts a delay of its own.
    let thirdWritten = false;
    const third = batcher.add(4).then(() => {
      thirdWritten = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(thirdWritten).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await third;
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it("writes at once when flushed, or when the write slot frees, with what arrived meanwhile", async () => {
    const { batches, write, release } = heldWrites();
    const batcher = new Batcher({ maxSize: Infinity, maxDelayMs: 60_000, write, maxConcurrentWrites: 1 });
    const first = batcher.add(1);
    batcher.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1]]);

    // The slot is taken: the flush waits for the write under way, and takes what arrives before it ends.
    const second = batcher.add(2);
    batcher.flush();
    const third = batcher.add(3);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1]]);
    release();
    await first;
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1], [2, 3]]);
    release();
    await Promise.all([second, third]);
    // Nothing waits: a flush writes nothing.
    batcher.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it("with no delay, batches what is added in one turn of the event loop", async () => {
    vi.useRealTimers();
    const { batches, write } = recorder();
    const batcher = new Batcher({ maxSize: 10, maxDelayMs: 0, write });
    // As callers released by one I/O event: each adds after a few promise hops of its own.
    const hops = async (n: number, item: number) => {
      for (let i = 0; i < n; i++) await Promise.resolve();
      return batcher.add(item);
    };
    await Promise.all([hops(0, 1), hops(3, 2), hops(7, 3)]);
    // A later turn: the batch above is written (its adds resolved), so this one starts the next.
    await batcher.add(4);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it("writes a batch as soon as its weight reaches the limit, never past it, and a heavy item alone", async () => {
    const { batches, write } = recorder();
    const batcher = new Batcher({
      maxSize: 10,
      maxDelayMs: 1_000,
      maxWeight: 10,
      weight: (n: number) => n,
      write,
    });
    const heavy = [3, 4, 5, 20].map((n) => batcher.add(n));
    await Promise.all(heavy);
    expect(batches).toEqual([[3, 4], [5], [20]]);
    let lightWritten = false;
    const light = batcher.add(1).then(() => {
      lightWritten = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(lightWritten).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await light;
    expect(batches).toEqual([[3, 4], [5], [20], [1]]);
  });

  it("refuses a batch size below 1", () => {
    expect(() => new Batcher({ maxSize: 0, maxDelayMs: 1, write: async () => undefined })).toThrow(
      RangeError,
    );
  });
});
