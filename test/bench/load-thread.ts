// The load generator in a worker thread of its own: its clients encode, send and await calls on an event
// loop the receivers do not share, as a separate load-generating process would (the peers' comparison
// ran theirs so). The bench process's CPU reading still counts it: a worker is part of the process.
import { type MessagePort, Worker } from "node:worker_threads";
import {
  type FixedRateRun,
  type IngestTarget,
  ingestClients,
  type LoadGenerator,
  LoadStats,
  type LoadStatsRecord,
  type MaxRateRun,
  publishAsFastAsPossible,
  publishAtFixedRate,
} from "./load.js";

/** Plain-data options of a run: `stop` stays in the calling thread, which relays it. */
type RunOptions = Omit<MaxRateRun, "stop"> | Omit<FixedRateRun, "stop">;

type ToWorker =
  | { type: "run"; id: number; kind: "max" | "fixed"; options: RunOptions }
  | { type: "stop"; id: number }
  | { type: "close" };

type FromWorker =
  | { type: "progress"; id: number; sent: number; accepted: number }
  | { type: "done"; id: number; stats: LoadStatsRecord }
  | { type: "failed"; id: number; message: string }
  | { type: "closed" };

/** How often a running load reports its counts, so the bench's progress line moves. */
const PROGRESS_MS = 250;
/** How often the calling thread checks whether its run was interrupted. */
const STOP_POLL_MS = 100;

/** A load generator publishing from a worker thread with its own clients to `target`. */
export function loadInWorkerThread(target: IngestTarget): LoadGenerator {
  // No inherited flags: under vitest they hold the "development" condition, which would load the
  // workspace's TypeScript sources (enums included) where plain node loads their built dist.
  const worker = new Worker(new URL("./load-worker.ts", import.meta.url), {
    workerData: target,
    execArgv: [],
  });
  const runs = new Map<number, { stats: LoadStats; settle(error?: Error): void }>();
  let nextId = 0;
  let closed: (() => void) | undefined;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure = error;
    for (const run of runs.values()) run.settle(error);
    runs.clear();
  };
  worker.on("message", (message: FromWorker) => {
    if (message.type === "closed") {
      closed?.();
      void worker.terminate();
      return;
    }
    const run = runs.get(message.id);
    if (!run) return;
    if (message.type === "progress") {
      run.stats.sent = message.sent;
      run.stats.accepted = message.accepted;
      return;
    }
    runs.delete(message.id);
    if (message.type === "done") {
      run.stats.assign(message.stats);
      run.settle();
    } else run.settle(new Error(`load worker: ${message.message}`));
  });
  worker.on("error", (err) => failAll(err));
  worker.on("exit", (code) => {
    closed?.();
    failAll(new Error(`load worker exited (code ${code})`));
  });
  // The bench ends when its work does, whatever this thread still holds.
  worker.unref();

  const run = (kind: "max" | "fixed", { stop, ...options }: MaxRateRun | FixedRateRun, stats: LoadStats) =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      const poll = setInterval(() => {
        if (stop()) worker.postMessage({ type: "stop", id } satisfies ToWorker);
      }, STOP_POLL_MS);
      runs.set(id, {
        stats,
        settle: (error) => {
          clearInterval(poll);
          if (error) reject(error);
          else resolve();
        },
      });
      worker.postMessage({ type: "run", id, kind, options } satisfies ToWorker);
    });

  return {
    asFastAsPossible: (options, stats) => run("max", options, stats),
    atFixedRate: (options, stats) => run("fixed", options, stats),
    close: () =>
      new Promise<void>((resolve) => {
        if (failure) return resolve();
        closed = resolve;
        worker.postMessage({ type: "close" } satisfies ToWorker);
        // A client that will not close must not hold the bench up.
        setTimeout(() => void worker.terminate(), 5_000).unref();
      }),
  };
}

/** The worker's side: runs what `port` asks with clients to `target`, reporting as it goes. */
export function serveLoad(port: MessagePort, target: IngestTarget): void {
  const clients = ingestClients(target);
  const stopped = new Set<number>();
  const post = (message: FromWorker) => port.postMessage(message);
  port.on("message", (message: ToWorker) => {
    if (message.type === "stop") stopped.add(message.id);
    else if (message.type === "close") {
      for (const client of clients) client.close();
      post({ type: "closed" });
    } else {
      const { id, kind, options } = message;
      const stats = new LoadStats();
      const progress = setInterval(
        () => post({ type: "progress", id, sent: stats.sent, accepted: stats.accepted }),
        PROGRESS_MS,
      );
      const stop = () => stopped.has(id);
      const running =
        kind === "max"
          ? publishAsFastAsPossible({ ...(options as MaxRateRun), clients, stop }, stats)
          : publishAtFixedRate({ ...(options as FixedRateRun), clients, stop }, stats);
      running
        .then(
          () => post({ type: "done", id, stats: stats.record() }),
          (err: unknown) =>
            post({ type: "failed", id, message: err instanceof Error ? err.message : String(err) }),
        )
        .finally(() => {
          clearInterval(progress);
          stopped.delete(id);
        });
    }
  });
}
