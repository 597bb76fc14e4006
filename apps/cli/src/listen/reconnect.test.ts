import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ListenResponse, ListenResponseSchema } from "@herald/contracts";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Backoff, isFatal, listenWithReconnect } from "./reconnect.js";

const ready = create(ListenResponseSchema, { message: { case: "ready", value: {} } });
const delivery = (eventId: string) =>
  create(ListenResponseSchema, { message: { case: "delivery", value: { eventId } } });

describe("Backoff", () => {
  it("doubles from the first wait up to the most, and starts over after a reset", () => {
    const backoff = new Backoff({ initialMs: 500, maxMs: 3_000, jitter: 0 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([
      500, 1_000, 2_000, 3_000, 3_000,
    ]);
    backoff.reset();
    expect(backoff.next()).toBe(500);
  });

  it("adds up to its jitter share at random", () => {
    expect(new Backoff({ initialMs: 1_000, jitter: 0.2, random: () => 1 }).next()).toBe(1_200);
  });
});

describe("isFatal", () => {
  it("gives up on what a reconnect cannot cure, and retries the rest", () => {
    expect(isFatal(new ConnectError("no", Code.PermissionDenied))).toBe(true);
    expect(isFatal(new ConnectError("no", Code.NotFound))).toBe(true);
    expect(isFatal(new ConnectError("a newer stream took over", Code.Aborted))).toBe(true);
    expect(isFatal(new ConnectError("gone", Code.Unavailable))).toBe(false);
    expect(isFatal(new ConnectError("reset", Code.Internal))).toBe(false);
    expect(isFatal(new Error("socket hang up"))).toBe(false);
  });
});

describe("listenWithReconnect", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("reopens a lost stream after a growing wait, reset by each ready, until stopped", async () => {
    const stop = new AbortController();
    const opened: number[] = [];
    const waits: number[] = [];
    const got: string[] = [];
    // 1: fails at once; 2: fails at once; 3: ready, a delivery, then drops; 4: ready and stays open.
    const streams: Array<(signal: AbortSignal) => AsyncIterable<ListenResponse>> = [
      async function* () {
        yield* [];
        throw new ConnectError("refused", Code.Unavailable);
      },
      async function* () {
        yield* [];
        throw new ConnectError("refused", Code.Unavailable);
      },
      async function* () {
        yield ready;
        yield delivery("evt_1");
        throw new ConnectError("reset", Code.Unavailable);
      },
      async function* (signal) {
        yield ready;
        yield delivery("evt_2");
        // Open until stopped, then failing as an aborted call does.
        await new Promise((resolve) => signal.addEventListener("abort", resolve));
        throw new ConnectError("aborted", Code.Canceled);
      },
    ];
    const loop = listenWithReconnect({
      open: (signal) => {
        opened.push(Date.now());
        const stream = streams.shift();
        if (!stream) throw new Error("too many opens");
        return stream(signal);
      },
      onMessage: (m) => {
        if (m.message.case === "delivery") got.push(m.message.value.eventId);
      },
      onDisconnect: (_err, waitMs) => waits.push(waitMs),
      signal: stop.signal,
      backoff: new Backoff({ initialMs: 100, jitter: 0 }),
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(waits).toEqual([100, 200, 100]);
    expect(got).toEqual(["evt_1", "evt_2"]);
    expect(opened).toHaveLength(4);
    stop.abort();
    await expect(loop).resolves.toBeUndefined();
    expect(opened).toHaveLength(4);
  });

  it("rejects with an error a reconnect cannot cure, without retrying", async () => {
    const open = vi.fn(async function* (): AsyncGenerator<ListenResponse> {
      yield* [];
      throw new ConnectError("belongs to another API key", Code.PermissionDenied);
    });
    await expect(
      listenWithReconnect({
        open,
        onMessage: () => undefined,
        onDisconnect: () => undefined,
        signal: new AbortController().signal,
      }),
    ).rejects.toMatchObject({ code: Code.PermissionDenied });
    expect(open).toHaveBeenCalledTimes(1);
  });

  it("returns without reconnecting when stopped while waiting", async () => {
    const stop = new AbortController();
    const open = vi.fn(async function* (): AsyncGenerator<ListenResponse> {
      yield* [];
      throw new ConnectError("refused", Code.Unavailable);
    });
    const loop = listenWithReconnect({
      open,
      onMessage: () => undefined,
      onDisconnect: () => stop.abort(),
      signal: stop.signal,
      backoff: new Backoff({ initialMs: 60_000, jitter: 0 }),
    });
    await expect(loop).resolves.toBeUndefined();
    expect(open).toHaveBeenCalledTimes(1);
  });
});
