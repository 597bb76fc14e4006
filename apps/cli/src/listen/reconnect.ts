import { Code, ConnectError } from "@connectrpc/connect";
import type { ListenResponse } from "@herald/contracts";

/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** The first wait; default 500 ms. */
  initialMs?: number;
  /** Waits double up to this; default 30 s. */
  maxMs?: number;
  /** A share of each wait added at random, so many clients do not come back at once; default 0.2. */
  jitter?: number;
  random?: () => number;
}

/** Waits between reconnects: doubling from `initialMs` to `maxMs`, back to the start after a success. */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 500;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#jitter = options.jitter ?? 0.2;
    this.#random = options.random ?? Math.random;
  }

  /** The wait before the next try. */
  next(): number {
    const base = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#failures);
    this.#failures += 1;
    return Math.round(base * (1 + this.#jitter * this.#random()));
  }

  reset(): void {
    this.#failures = 0;
  }
}

/**
 * Errors a reconnect cannot cure: the key, the tenant or the endpoint is wrong (or gone), the request is,
 * or another `herald listen` took the endpoint over (ABORTED). Any other (the connection dropped, Herald
 * restarting, unavailable) is worth another try.
 */
export function isFatal(err: unknown): boolean {
  if (!(err instanceof ConnectError)) return false;
  return [
    Code.Unauthenticated,
    Code.PermissionDenied,
    Code.NotFound,
    Code.InvalidArgument,
    Code.FailedPrecondition,
    Code.Unimplemented,
    Code.Aborted,
  ].includes(err.code);
}

/** Options of {@link listenWithReconnect}. */
export interface ListenLoopOptions {
  /** Opens one stream; it ends (or throws) when the connection does. */
  open(signal: AbortSignal): AsyncIterable<ListenResponse>;
  /** Called with each message; must not throw. */
  onMessage(message: ListenResponse): void;
  /** Told of each lost stream and the wait before the next try. */
  onDisconnect(err: unknown, waitMs: number): void;
  /** Stops the loop: it resolves. */
  signal: AbortSignal;
  backoff?: Backoff;
  /** Default a timer, cut short by `signal`. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Waits `ms`, or less if `signal` aborts first. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/**
 * Keeps a Listen stream open until `signal` aborts: when it ends or fails, waits (backing off, reset once
 * a stream is `ready` again) and opens another on the same endpoint, whose queue kept every delivery
 * meanwhile. Rejects with the first error a reconnect cannot cure (see {@link isFatal}).
 */
export async function listenWithReconnect(options: ListenLoopOptions): Promise<void> {
  const backoff = options.backoff ?? new Backoff();
  const sleep = options.sleep ?? abortableSleep;
  const { signal } = options;
  while (!signal.aborted) {
    let lost: unknown;
    try {
      for await (const message of options.open(signal)) {
        if (message.message.case === "ready") backoff.reset();
        options.onMessage(message);
      }
      lost = new ConnectError("the stream ended", Code.Unavailable);
    } catch (err) {
      if (signal.aborted) return;
      if (isFatal(err)) throw err;
      lost = err;
    }
    if (signal.aborted) return;
    const waitMs = backoff.next();
    options.onDisconnect(lost, waitMs);
    await sleep(waitMs, signal);
  }
}
