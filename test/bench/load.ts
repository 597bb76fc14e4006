// The load generator: publishes to ingest (over gRPC with the stock @grpc/grpc-js client of the e2e suite
// unless a scenario names another client), either batches (PublishEvents) as fast as the service takes
// them, or single events (PublishEvent) at a fixed rate whatever the answers (open loop). Every payload
// carries a sequence number and its send time.
import { type GrpcIngestClient, grpcIngestClient } from "../e2e/support/clients.js";
import { connectGrpcIngestClient } from "./connect-grpc-client.js";
import { connectJsonIngestClient } from "./connect-json-client.js";
import {
  encodeFilteredPayload,
  encodeFilteredWarmUpPayload,
  filteredChannels,
  warmUpChannels,
} from "./filters.js";
import { http2GrpcIngestClient } from "./http2-grpc-client.js";
import { encodePayload, encodeWarmUpPayload } from "./receivers.js";
import { nowMs, Samples, sleep } from "./system.js";

export interface Publisher {
  tenantId: string;
  token: string;
}

/**
 * The gRPC client of a load run: stock @grpc/grpc-js (the default), connect-es's Node transport, or
 * calls written on node:http2 directly ("http2", the leanest: http2-grpc-client.ts).
 */
export type GrpcClientKind = "grpc-js" | "connect-es" | "http2";

/** How ingest is called: over gRPC (HTTP/2, see {@link GrpcClientKind}) or Connect JSON (undici, HTTP/1.1). */
export type IngestTarget =
  | { protocol: "grpc"; address: string; clients: number; client?: GrpcClientKind }
  | { protocol: "connect-json"; baseUrl: string; connections: number };

/** The clients a load generator calls `target` with: `clients` gRPC clients, or one pool of connections. */
export function ingestClients(target: IngestTarget): GrpcIngestClient[] {
  if (target.protocol === "connect-json")
    return [connectJsonIngestClient(target.baseUrl, target.connections)];
  const { address, client } = target;
  return Array.from({ length: target.clients }, () =>
    client === "connect-es"
      ? connectGrpcIngestClient(`http://${address}`)
      : client === "http2"
        ? http2GrpcIngestClient(`http://${address}`)
        : grpcIngestClient(address),
  );
}

const noChannels = (): string[] => [];

/**
 * What events carry, by name so a load run's options stay plain data (a worker thread takes them):
 * the payload of event `seq` sent at `t`, and its channels.
 */
const EVENT_SHAPES = {
  /** Measured events, no channels. */
  measured: { payload: encodePayload, channels: noChannels },
  /** Warm-up events (receivers count them apart), no channels. */
  "warm-up": { payload: encodeWarmUpPayload, channels: noChannels },
  /** Measured events with the fields and channels the filter scenarios read (filters.ts). */
  filtered: { payload: encodeFilteredPayload, channels: filteredChannels },
  /** Warm-up events matching every filter and channel. */
  "filtered-warm-up": { payload: encodeFilteredWarmUpPayload, channels: warmUpChannels },
} satisfies Record<string, EventShape>;

interface EventShape {
  payload(seq: number, t: number): Buffer;
  channels(seq: number): string[];
}

export type EventShapeName = keyof typeof EVENT_SHAPES;

/** What every load run is given besides its shape. */
interface LoadOptions {
  clients: GrpcIngestClient[];
  publishers: Publisher[];
  /** What the events carry; default "measured". */
  events?: EventShapeName;
  /** True once the run is interrupted. */
  stop(): boolean;
}

/** What a load run did. */
export class LoadStats {
  /** Events sent in requests so far. */
  sent = 0;
  /** Events Herald accepted (an event id came back). */
  accepted = 0;
  /** Events refused or lost, by gRPC code or batch error code. */
  readonly errors: Record<string, number> = {};
  /** Latency of each PublishEvent or PublishEvents call that succeeded, ms. */
  readonly callLatencyMs = new Samples();
  startedAt = 0;
  endedAt = 0;
  /** Largest lag of the open-loop sender behind its schedule, ms. */
  maxScheduleLagMs = 0;
  /** Events the open-loop sender never sent: it fell too far behind its schedule. */
  unsent = 0;
  /** Calls still unanswered when the sender stopped waiting for them. */
  unanswered = 0;

  error(code: string, count = 1): void {
    this.errors[code] = (this.errors[code] ?? 0) + count;
  }

  /** The figures as plain data, to cross from a worker thread. */
  record(): LoadStatsRecord {
    const { sent, accepted, errors, startedAt, endedAt, maxScheduleLagMs, unsent, unanswered } = this;
    const callLatencyMs = this.callLatencyMs.values();
    return {
      sent,
      accepted,
      errors,
      callLatencyMs,
      startedAt,
      endedAt,
      maxScheduleLagMs,
      unsent,
      unanswered,
    };
  }

  /** Takes on the figures of a run recorded elsewhere (a worker thread). */
  assign(record: LoadStatsRecord): void {
    const { callLatencyMs, errors, ...counts } = record;
    Object.assign(this, counts);
    Object.assign(this.errors, errors);
    for (const latency of callLatencyMs) this.callLatencyMs.push(latency);
  }

  /** Accepted events per second over the sending period. */
  get acceptedPerSecond(): number {
    const seconds = (this.endedAt - this.startedAt) / 1000;
    return seconds > 0 ? this.accepted / seconds : 0;
  }
}

/** {@link LoadStats} as plain data. */
export interface LoadStatsRecord {
  sent: number;
  accepted: number;
  errors: Record<string, number>;
  callLatencyMs: Float64Array;
  startedAt: number;
  endedAt: number;
  maxScheduleLagMs: number;
  unsent: number;
  unanswered: number;
}

/** A failed call's code: a gRPC status number, or a Connect error code name. */
function grpcCode(err: unknown): string {
  const e = err as { code?: number | string; details?: string };
  const protocol = typeof e.code === "string" ? "connect" : "grpc";
  return e.code !== undefined
    ? `${protocol} ${e.code}${e.details ? ` (${e.details.slice(0, 60)})` : ""}`
    : String(err);
}

/** One event's answer: its id, or why it was refused. */
interface EventResult {
  event_id: string;
  error_code: string;
}

/**
 * Publishes events `first`…`first + count - 1`, sent at `t`, in one call: PublishEvent when `single`,
 * else PublishEvents.
 */
async function publishCall(
  client: GrpcIngestClient,
  publisher: Publisher,
  { payload, channels }: EventShape,
  call: { first: number; count: number; t: number; single: boolean },
): Promise<EventResult[]> {
  if (call.single) {
    const res = await client.publishEvent(
      {
        tenant_id: publisher.tenantId,
        event: {
          event_type: "bench.event",
          payload: payload(call.first, call.t),
          channels: channels(call.first),
        },
      },
      publisher.token,
    );
    return [{ event_id: res.event_id, error_code: "" }];
  }
  const events = Array.from({ length: call.count }, (_, i) => ({
    event_type: "bench.event",
    payload: payload(call.first + i, call.t),
    channels: channels(call.first + i),
  }));
  const { results } = await client.publishEvents({ tenant_id: publisher.tenantId, events }, publisher.token);
  return results;
}

/** Counts a call's answer: its latency, and each event accepted or refused. */
function countAnswer(stats: LoadStats, t: number, results: EventResult[]): void {
  stats.callLatencyMs.push(nowMs() - t);
  for (const result of results) {
    if (result.event_id) stats.accepted++;
    else stats.error(result.error_code || "no event id");
  }
}

export interface MaxRateOptions extends LoadOptions {
  /** Stop after this many events… */
  maxEvents: number;
  /** …or after this long, whichever comes first. */
  maxMs: number;
  /** Events per PublishEvents call (≤ 100); 1 sends PublishEvent calls, one event each. */
  batchSize: number;
  /** Calls in flight at once. */
  concurrency: number;
}

/**
 * Publishes PublishEvents batches (or, with `batchSize` 1, single PublishEvent calls) back to back from
 * `concurrency` loops, each call for the next tenant in turn, until `maxEvents` are sent or `maxMs` passed.
 */
export async function publishAsFastAsPossible(options: MaxRateOptions, stats: LoadStats): Promise<void> {
  const deadline = nowMs() + options.maxMs;
  const events = EVENT_SHAPES[options.events ?? "measured"];
  let seq = 0;
  let turn = 0;
  stats.startedAt = nowMs();
  const loop = async (loopIndex: number) => {
    const client = options.clients[loopIndex % options.clients.length] as GrpcIngestClient;
    while (seq < options.maxEvents && nowMs() < deadline && !options.stop()) {
      const publisher = options.publishers[turn++ % options.publishers.length] as Publisher;
      const count = Math.min(options.batchSize, options.maxEvents - seq);
      const first = seq;
      seq += count;
      const t = nowMs();
      stats.sent += count;
      try {
        countAnswer(
          stats,
          t,
          await publishCall(client, publisher, events, { first, count, t, single: options.batchSize === 1 }),
        );
      } catch (err) {
        stats.error(grpcCode(err), count);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => loop(i)));
  stats.endedAt = nowMs();
}

export interface FixedRateOptions extends LoadOptions {
  /** Events per second. */
  ratePerSecond: number;
  /** Events per call: 1 (the default) sends PublishEvent calls, more send PublishEvents batches (≤ 100). */
  batchSize?: number;
  durationMs: number;
  /** Calls allowed in flight before the sender waits (it then falls behind its schedule). */
  maxInFlight: number;
  /** How long to wait for answers after the last call was sent. */
  answerWaitMs: number;
}

/**
 * Sends calls on a fixed schedule, not waiting for answers (open loop): single events (PublishEvent) or,
 * with `batchSize` > 1, batches (PublishEvents) as often as the rate asks. When Herald answers too
 * slowly, at most `maxInFlight` calls wait and the sender falls behind; what is not sent within the
 * duration (plus a second) is counted as unsent.
 */
export async function publishAtFixedRate(options: FixedRateOptions, stats: LoadStats): Promise<void> {
  const total = Math.round((options.ratePerSecond * options.durationMs) / 1000);
  const batchSize = options.batchSize ?? 1;
  const interval = (1000 * batchSize) / options.ratePerSecond;
  const events = EVENT_SHAPES[options.events ?? "measured"];
  // A count and one waiter, not Promise.race over the calls in flight: each race adds a reaction to
  // every pending call, and thousands of them blocked the sender's event loop for seconds.
  let inFlight = 0;
  let settled: (() => void) | undefined;
  const callSettled = () => new Promise<void>((resolve) => (settled = resolve));
  stats.startedAt = nowMs();
  const lastSend = stats.startedAt + options.durationMs + 1000;
  for (let call = 0, first = 0; first < total; call++, first += batchSize) {
    const due = stats.startedAt + call * interval;
    const wait = due - nowMs();
    if (wait > 1) await sleep(wait);
    while (inFlight >= options.maxInFlight && nowMs() < lastSend && !options.stop()) {
      await Promise.race([callSettled(), sleep(50)]);
    }
    if (nowMs() >= lastSend || options.stop()) {
      stats.unsent = total - first;
      break;
    }
    stats.maxScheduleLagMs = Math.max(stats.maxScheduleLagMs, nowMs() - due);
    const publisher = options.publishers[call % options.publishers.length] as Publisher;
    const client = options.clients[call % options.clients.length] as GrpcIngestClient;
    const count = Math.min(batchSize, total - first);
    const t = nowMs();
    stats.sent += count;
    inFlight++;
    void publishCall(client, publisher, events, { first, count, t, single: batchSize === 1 })
      .then(
        (results) => countAnswer(stats, t, results),
        (err: unknown) => stats.error(grpcCode(err), count),
      )
      .finally(() => {
        inFlight--;
        settled?.();
      });
  }
  const answersBy = nowMs() + options.answerWaitMs;
  while (inFlight > 0 && nowMs() < answersBy && !options.stop()) {
    await Promise.race([callSettled(), sleep(100)]);
  }
  stats.unanswered = inFlight;
  stats.endedAt = nowMs();
}

/** A load run's options, without the clients: the generator holds those. */
export type MaxRateRun = Omit<MaxRateOptions, "clients">;
export type FixedRateRun = Omit<FixedRateOptions, "clients">;

/**
 * Publishes load runs to one ingest, through clients of its own: in this thread ({@link loadInThisThread})
 * or in a worker thread of its own (load-thread.ts). Runs may overlap (a flood beside the measured load).
 */
export interface LoadGenerator {
  /** {@link publishAsFastAsPossible} */
  asFastAsPossible(options: MaxRateRun, stats: LoadStats): Promise<void>;
  /** {@link publishAtFixedRate} */
  atFixedRate(options: FixedRateRun, stats: LoadStats): Promise<void>;
  /** Closes the clients. */
  close(): Promise<void>;
}

/** A load generator whose clients share this thread's event loop (with the receivers, in the bench). */
export function loadInThisThread(target: IngestTarget): LoadGenerator {
  const clients = ingestClients(target);
  return {
    asFastAsPossible: (options, stats) => publishAsFastAsPossible({ ...options, clients }, stats),
    atFixedRate: (options, stats) => publishAtFixedRate({ ...options, clients }, stats),
    close: async () => {
      for (const client of clients) client.close();
    },
  };
}
