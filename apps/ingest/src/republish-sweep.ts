import type { Logger } from "@herald/platform";
import type { EventDocument } from "@herald/platform/model";
import type { EventStore, UnpublishedEventsDocument } from "./event-store.js";
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

/** Markers one sweep claims at most; the next sweep takes the rest. */
export const SWEEP_LIMIT = 100;

/** Events read and published together, at most (a round has up to 500): bounds the payloads in memory. */
const EVENTS_AT_ONCE = 500;

/**
 * How long a sweep holds the events it claimed: longer than a publish takes, even against a slow broker,
 * so that another sweep does not publish them too; short enough that a sweep killed meanwhile delays
 * them little.
 */
export const SWEEP_LEASE_MS = 60_000;

/**
 * A marker without its event is left this long before it is removed: the event's insert may still be
 * waiting for the database (seconds, on a server that writes one transaction at a time; see
 * docs/storage.md).
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
  // Each event once, though two markers list it (its round's and its own after a failed publish).
  const published = new Set<string>();
  for (const group of groupsOf(markers, EVENTS_AT_ONCE)) await republishGroup(deps, group, now, published);
  return published.size;
}

/** Publishes the unpublished events of some markers, then removes the markers that are done. */
async function republishGroup(
  deps: RepublishDeps,
  markers: UnpublishedEventsDocument[],
  now: Date,
  published: Set<string>,
): Promise<void> {
  const ids = [...new Set(markers.flatMap((m) => m.event_ids))];
  const events = new Map((await deps.events.findEvents(ids)).map((e) => [e._id, e]));
  const stranded = [...events.values()].filter((e) => !e.published && !published.has(e._id));
  // All at once: the publisher batches the events of one turn into few messages.
  await Promise.all(stranded.map((event) => publishStored(deps, event)));
  for (const event of stranded) published.add(event._id);
  const done: string[] = [];
  for (const marker of markers) {
    const missing = marker.event_ids.filter((id) => !events.has(id));
    const young = now.getTime() - marker.create_time.getTime() <= ORPHAN_MARKER_MS;
    // A missing event may yet be stored by an insert under way: the marker keeps it alone, for a
    // later sweep.
    if (missing.length > 0 && young) await deps.events.narrowMarker(marker._id, missing);
    else done.push(marker._id);
  }
  await deps.events.removeMarkers(done);
}

/** Consecutive groups of markers listing at most `maxEvents` events in all (or one marker). */
function groupsOf(markers: UnpublishedEventsDocument[], maxEvents: number): UnpublishedEventsDocument[][] {
  const groups: UnpublishedEventsDocument[][] = [];
  let current: UnpublishedEventsDocument[] = [];
  let count = 0;
  for (const marker of markers) {
    if (current.length > 0 && count + marker.event_ids.length > maxEvents) {
      groups.push(current);
      current = [];
      count = 0;
    }
    current.push(marker);
    count += marker.event_ids.length;
  }
  if (current.length > 0) groups.push(current);
  return groups;
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
