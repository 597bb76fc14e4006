import { AttemptTrigger, ErrorClass } from "@herald/contracts";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AttemptDocument } from "./documents.js";
import { RollupBuffer, type RollupSink } from "./rollup-buffer.js";

function attempt(id: string, endpointId: string): AttemptDocument {
  return {
    _id: id,
    tenant_id: "t1",
    event_id: id,
    endpoint_id: endpointId,
    attempt_number: 1,
    trigger: AttemptTrigger.UNSPECIFIED,
    success: true,
    response_status: 204,
    response_body: "",
    latency_ms: 5,
    error_class: ErrorClass.NONE,
    error_message: "",
    attempt_time: new Date(0),
    url: "",
  };
}

/** Records each write; the next `failures` writes of rollups fail. */
class RecordingSink implements RollupSink {
  readonly adds: string[][] = [];
  readonly marks: string[][] = [];
  failures = 0;
  /** Resolves the rollup write under way, when `hold` is set. */
  release: (() => void) | undefined;
  hold = false;

  async add(attempts: readonly AttemptDocument[]): Promise<void> {
    this.adds.push(attempts.map((a) => a._id));
    if (this.hold) await new Promise<void>((resolve) => (this.release = resolve));
    if (this.failures > 0) {
      this.failures--;
      throw new Error("injected rollup write failure");
    }
  }

  async markCounted(batches: readonly string[]): Promise<void> {
    this.marks.push([...batches]);
  }
}

/** Whether `promise` has settled, after letting pending callbacks run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe("RollupBuffer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("writes every write of its interval in one rollup write and one marker insert", async () => {
    const sink = new RecordingSink();
    const buffer = new RollupBuffer(sink, { intervalMs: 1_000 });
    const first = buffer.add("b1", [attempt("a1", "ep1"), attempt("a2", "ep2")]);
    await vi.advanceTimersByTimeAsync(400);
    const second = buffer.add("b2", [attempt("a3", "ep1")]);
    expect(buffer.size).toBe(2);
    await vi.advanceTimersByTimeAsync(599);
    expect(sink.adds).toEqual([]);
    expect(await settled(first)).toBe(false);

    // The interval runs from the first write waiting, not the last.
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([first, second]);
    expect(sink.adds).toEqual([["a1", "a2", "a3"]]);
    expect(sink.marks).toEqual([["b1", "b2"]]);
    expect(buffer.size).toBe(0);

    // The next write starts a new interval.
    const third = buffer.add("b3", [attempt("a4", "ep1")]);
    await vi.advanceTimersByTimeAsync(999);
    expect(await settled(third)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await third;
    expect(sink.marks).toEqual([["b1", "b2"], ["b3"]]);
  });

  it("writes at once when flushed, and resolves a flush of nothing when the write under way ends", async () => {
    const sink = new RecordingSink();
    const buffer = new RollupBuffer(sink, { intervalMs: 60_000 });
    const written = buffer.add("b1", [attempt("a1", "ep1")]);
    await buffer.flush();
    await written;
    expect(sink.marks).toEqual([["b1"]]);

    sink.hold = true;
    const held = buffer.add("b2", [attempt("a2", "ep1")]);
    const flushing = buffer.flush();
    const nothingMore = buffer.flush();
    expect(await settled(nothingMore)).toBe(false);
    sink.release?.();
    await Promise.all([held, flushing, nothingMore]);
    expect(sink.marks).toEqual([["b1"], ["b2"]]);
  });

  it("writes one flush at a time, in order", async () => {
    const sink = new RecordingSink();
    sink.hold = true;
    const buffer = new RollupBuffer(sink, { intervalMs: 60_000 });
    const first = buffer.add("b1", [attempt("a1", "ep1")]);
    void buffer.flush();
    const second = buffer.add("b2", [attempt("a2", "ep1")]);
    void buffer.flush();
    await vi.advanceTimersByTimeAsync(0);
    // The second flush waits for the first's rollups before it writes its own.
    expect(sink.adds).toEqual([["a1"]]);
    sink.release?.();
    await first;
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.adds).toEqual([["a1"], ["a2"]]);
    sink.release?.();
    await second;
    expect(sink.marks).toEqual([["b1"], ["b2"]]);
  });

  it("fails every write of a failed flush without marking any, and writes the next flush", async () => {
    const sink = new RecordingSink();
    sink.failures = 1;
    const buffer = new RollupBuffer(sink, { intervalMs: 100 });
    const first = buffer.add("b1", [attempt("a1", "ep1")]);
    const second = buffer.add("b2", [attempt("a2", "ep2")]);
    const failed = Promise.allSettled([first, second]);
    await vi.advanceTimersByTimeAsync(100);
    expect((await failed).map((r) => r.status)).toEqual(["rejected", "rejected"]);
    await expect(first).rejects.toThrow("injected rollup write failure");
    expect(sink.marks).toEqual([]);

    const third = buffer.add("b3", [attempt("a1", "ep1")]);
    await vi.advanceTimersByTimeAsync(100);
    await third;
    expect(sink.marks).toEqual([["b3"]]);
  });
});
