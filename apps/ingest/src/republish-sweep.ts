import type { EventDocument, Logger } from "@herald/platform";
import type { EventStore } from "./event-store.js";
import { publishStored } from "./publish-event.js";

/** What the republish sweep needs. */
export interface RepublishDeps {
  events: Pick<
    EventStore,
    "claimUnpublished" | "findEvents" | "narrowMarker" | "removeMarkers" | "markPublished"
  >;
  /** Publishes to herald.events and resolves once RabbitMQ confirmed it. */
  publish(event: EventDocument): Promise<void>;
  /** An event stored this long ago and still not confirmed is published by the sweep. */
  afterMs: number;
  now(): Date;
}

/** Events one sweep publishes at most; the next sweep takes the rest. */
export const SWEEP_LIMIT = 500;

/**
 * How long a sweep holds the events it claimed: longer than a publish takes, even against a slow broker,
 * so that another sweep does not publish them too; short enough that a sweep killed meanwhile delays
 * them little.
 */
export const SWEEP_LEASE_MS = 60_000;

/**
 * A marker without its event is left this long before it is removed: the event's insert may still be
 * under way (FerretDB waits up to 10 s for its write lock).
 */
const ORPHAN_MARKER_MS = 60_000;

/**
 * Publishes the events stored but left unconfirmed for `afterMs` (ingest stopped between its MongoDB
 * insert and RabbitMQ's confirm, and no call was retried with the same idempotency key), the way a
 * retried call does, and removes their markers. Returns how many events it published.
 */
export async function republishStranded(deps: RepublishDeps): Promise<number> {
  const now = deps.now();
  const markers = await deps.events.claimUnpublished(
    new Date(now.getTime() - deps.afterMs),
    now,
    new Date(now.getTime() + SWEEP_LEASE_MS),
    SWEEP_LIMIT,
  );
  if (markers.length === 0) return 0;
  const ids = [...new Set(markers.flatMap((m) => m.event_ids))];
  const events = new Map((await deps.events.findEvents(ids)).map((e) => [e._id, e]));
  // Each event once, though two markers list it (its round's and its own after a failed publish).
  const publishing = new Map<string, Promise<void>>();
  const publish = (event: EventDocument) => {
    let done = publishing.get(event._id);
    if (!done) {
      done = publishStored(deps, event);
      publishing.set(event._id, done);
    }
    return done;
  };
  // All at once: the publisher batches the events of one turn into few messages.
  const outcomes = await Promise.allSettled(
    markers.map(async (marker) => {
      const young = now.getTime() - marker.create_time.getTime() <= ORPHAN_MARKER_MS;
      const missing = marker.event_ids.filter((id) => !events.has(id));
      await Promise.all(
        marker.event_ids.flatMap((id) => {
          const event = events.get(id);
          return event && !event.published ? [publish(event)] : [];
        }),
      );
      if (missing.length === 0 || !young) return marker._id;
      // A missing event may yet be stored by an insert under way: the marker keeps it alone, for a
      // later sweep.
      await deps.events.narrowMarker(marker._id, missing);
      return undefined;
    }),
  );
  const done = outcomes.flatMap((o) => (o.status === "fulfilled" && o.value ? [o.value] : []));
  await deps.events.removeMarkers(done);
  const failed = outcomes.find((o) => o.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return publishing.size;
}

/** Options of {@link startRepublishSweep}. */
export interface RepublishSweepOptions extends RepublishDeps {
  logger: Logger;
  /** Time between sweeps, in ms (each is jittered by ±20%, so the sweeps of several instances spread out). */
  intervalMs: number;
  /** Told how many events a sweep published, when it published any. */
  onPublished?(count: number): void;
}

/** Runs {@link republishStranded} every `intervalMs` until stopped; `stop` waits for a sweep under way. */
export function startRepublishSweep(options: RepublishSweepOptions): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    const delay = options.intervalMs * (0.8 + Math.random() * 0.4);
    timer = setTimeout(() => {
      running = republishStranded(options).then(
        (published) => {
          if (published === 0) return;
          options.onPublished?.(published);
          options.logger.warn({ published }, "published events left unconfirmed");
        },
        (err: unknown) => options.logger.warn({ err }, "republish sweep failed; trying again later"),
      );
      void running.then(schedule);
    }, delay);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
