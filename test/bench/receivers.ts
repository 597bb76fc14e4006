// Webhook receivers of the benchmark and what they measure. Fast and failing receivers are the e2e
// suite's (test/e2e/support/receiver.ts) with an answer hook that records latency and keeps no request;
// a slow receiver answers after a delay, which that one cannot do.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type Receiver, startReceiver } from "../e2e/support/receiver.js";
import { nowMs, Samples } from "./system.js";

/** What the load generator puts in every payload: its sequence number and when it was sent. */
export interface BenchPayload {
  seq: number;
  /** Send time, ms since the epoch ({@link nowMs}). */
  t: number;
}

export function encodePayload(seq: number, t: number): Buffer {
  return Buffer.from(`{"seq":${seq},"t":${t.toFixed(3)}}`);
}

/** The payload of a warm-up event, as big as a measured one: received and counted apart, never measured. */
export function encodeWarmUpPayload(seq: number, t: number): Buffer {
  return Buffer.from(`{"warmUp":true,"seq":${seq},"t":${t.toFixed(3)}}`);
}

/** Deliveries one group of endpoints received: counts, unique events and publish→received latency. */
export class Recorder {
  readonly name: string;
  received = 0;
  /** Requests for an event this recorder already had (at-least-once duplicates). */
  duplicates = 0;
  firstAt = 0;
  lastAt = 0;
  readonly latencyMs = new Samples();
  /** When each event of `latencyMs` was sent (ms since the epoch), in the same order. */
  readonly sentAt = new Samples();
  /** Warm-up requests, kept out of every other figure. */
  warmUps = 0;
  #seen = new Uint8Array(1024);

  constructor(name: string) {
    this.name = name;
  }

  get unique(): number {
    return this.received - this.duplicates;
  }

  record(body: Buffer, at: number): void {
    let payload: BenchPayload | { warmUp: true };
    try {
      payload = JSON.parse(body.toString("utf8")) as BenchPayload | { warmUp: true };
    } catch {
      return;
    }
    if ("warmUp" in payload) {
      this.warmUps++;
      return;
    }
    this.received++;
    if (this.firstAt === 0) this.firstAt = at;
    this.lastAt = at;
    if (payload.seq >= this.#seen.length) {
      const bigger = new Uint8Array(Math.max(payload.seq + 1, this.#seen.length * 2));
      bigger.set(this.#seen);
      this.#seen = bigger;
    }
    if (this.#seen[payload.seq]) {
      this.duplicates++;
      return;
    }
    this.#seen[payload.seq] = 1;
    this.latencyMs.push(at - payload.t);
    this.sentAt.push(payload.t);
  }
}

/**
 * How a receiver answers: at once (fast), 500 (failing), after 200 ms (slow), after
 * {@link STALLED_DELAY_MS} (stalled), or never (hanging). Failing, stalled and hanging receivers answer
 * 204 at once through the warm-up and misbehave from the measured load on.
 */
export type ReceiverKind = "fast" | "failing" | "slow" | "stalled" | "hanging";

/** Receivers whose deliveries are measured: they answer 2xx in a healthy time. */
export function isHealthy(kind: ReceiverKind): boolean {
  return kind === "fast" || kind === "slow";
}

/** A stalled receiver's answer time: within the default request timeout (15 s), far over a healthy one. */
export const STALLED_DELAY_MS = 10_000;

/** One receiver server: its URL, the recorder of what it got, and how it answers. */
export interface BenchReceiver {
  url: string;
  kind: ReceiverKind;
  recorder: Recorder;
  /** Changes how it answers from now on (slow receivers stay slow). */
  setKind(kind: "fast" | "failing"): void;
  /** A stalled or hanging receiver stops answering at once (see {@link ReceiverKind}); others ignore it. */
  misbehave(): void;
  close(): Promise<void>;
}

/** A receiver answering 204 at once ("fast") or 500 ("failing"). */
export async function startBenchReceiver(
  kind: "fast" | "failing",
  recorder: Recorder,
): Promise<BenchReceiver> {
  const receiver: Receiver = await startReceiver();
  let status = kind === "fast" ? 204 : 500;
  receiver.reply = (request) => {
    recorder.record(request.body, nowMs());
    // Keep nothing: a run receives hundreds of thousands of requests.
    receiver.requests.length = 0;
    return { status };
  };
  const bench: BenchReceiver = {
    url: receiver.url,
    kind,
    recorder,
    setKind(next) {
      bench.kind = next;
      status = next === "fast" ? 204 : 500;
    },
    misbehave() {},
    close: () => receiver.close(),
  };
  return bench;
}

/**
 * A receiver that answers 204 after 200 ms ("slow"), or that answers at once until it is told to
 * misbehave and then after {@link STALLED_DELAY_MS} ("stalled") or never ("hanging").
 */
export async function startDelayedReceiver(
  kind: "slow" | "stalled" | "hanging",
  recorder: Recorder,
): Promise<BenchReceiver> {
  let delayMs = kind === "slow" ? 200 : 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      recorder.record(Buffer.concat(chunks), nowMs());
      if (delayMs === Number.POSITIVE_INFINITY) return;
      if (delayMs === 0) res.writeHead(204).end();
      else setTimeout(() => res.writeHead(204).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`,
    kind,
    recorder,
    setKind() {},
    misbehave() {
      if (kind === "stalled") delayMs = STALLED_DELAY_MS;
      if (kind === "hanging") delayMs = Number.POSITIVE_INFINITY;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
