import type { Registry } from "prom-client";
import { Gauge } from "./metrics.js";

/** What a passive queue declare tells about one queue. */
export interface QueueStats {
  messageCount: number;
  consumerCount: number;
}

/** Options of {@link watchQueueDepths}. */
export interface QueueDepthOptions {
  /** Passively declares one queue (throws if it is missing or the broker is unreachable). */
  inspect(queue: string): Promise<QueueStats>;
  /** The queues to read, by the label each is reported under. */
  queues: ReadonlyMap<string, string>;
  registry: Registry;
  /** How often the queues are read. */
  intervalMs: number;
  /** A read that takes longer counts as failed. */
  timeoutMs: number;
  /** Told when a queue could not be read; must not throw. */
  onError(queue: string, err: unknown): void;
}

/**
 * Exports the depth and consumer count of each queue a service owns, read by a passive declare on a
 * timer rather than on scrape: a scrape never waits on RabbitMQ (a broker outage must not look like the
 * service is down), and the broker sees one declare per queue per interval whatever the number of
 * scrapers. A queue that cannot be read loses its series until it can, so no stale figure lingers.
 * The first read runs at once; `refresh` reads again now (e.g. when a consumer attaches).
 */
export function watchQueueDepths(options: QueueDepthOptions): { refresh(): Promise<void>; stop(): void } {
  const ready = new Gauge({
    name: "herald_queue_messages_ready",
    help: "Messages waiting in a queue this service consumes (or owns), read by a passive declare every few seconds",
    labelNames: ["queue"],
    registers: [options.registry],
  });
  const consumers = new Gauge({
    name: "herald_queue_consumers",
    help: "Consumers attached to a queue this service consumes (or owns); 0 on a work queue means nobody is draining it",
    labelNames: ["queue"],
    registers: [options.registry],
  });
  let running: Promise<void> | undefined;
  let again = false;
  const readOne = async (label: string, queue: string) => {
    try {
      const stats = await withTimeout(options.inspect(queue), options.timeoutMs);
      ready.set({ queue: label }, stats.messageCount);
      consumers.set({ queue: label }, stats.consumerCount);
    } catch (err) {
      ready.remove({ queue: label });
      consumers.remove({ queue: label });
      options.onError(queue, err);
    }
  };
  // A refresh asked for during a read runs once more after it, so what changed meanwhile (a consumer
  // that just attached) is read.
  const refresh = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        for (const [label, queue] of options.queues) await readOne(label, queue);
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  void refresh();
  const timer = setInterval(() => void refresh(), options.intervalMs);
  timer.unref();
  return { refresh, stop: () => clearInterval(timer) };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
