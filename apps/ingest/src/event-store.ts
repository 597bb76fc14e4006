import { randomBytes } from "node:crypto";
import { isDuplicateKeyError } from "@herald/platform";
import { Collections, type EventDocument, eventsCollection } from "@herald/platform/model";
import { Binary, type Collection, type Db, MongoBulkWriteError, type WriteError } from "mongodb";
import { FairQueue, type WeightOf } from "./fair-queue.js";

const DUPLICATE_KEY = 11000;

export { eventIndexes } from "@herald/platform/model";

/**
 * Lists events stored but maybe not yet confirmed by RabbitMQ. The writer inserts one with each round of
 * events, before them, and removes it once every event of the round is confirmed (or turned out not to be
 * stored), so the collection holds only the rounds being published and those stranded by a crash in
 * between, which the republish sweep finds. An event whose publish failed gets a marker of its own, so
 * the sweep does not publish its whole round again. A small collection of its own rather than a filter
 * on `events`, so the sweep reads only the rounds in flight even where no index serves it (see
 * docs/storage.md); one marker per round, not per event, so a marker costs a share of a round's write.
 */
export interface UnpublishedEventsDocument {
  _id: string;
  event_ids: string[];
  create_time: Date;
  /** While in the future, one sweep is publishing the events and the others leave them alone. */
  lease_until?: Date;
}

/** Markers one deleteMany removes at most. */
const MAX_REMOVALS = 500;

/**
 * Events one round (a marker and one insertMany) writes at most. An event arriving while a round is
 * written waits for it whatever its tenant, so the round's size bounds that wait; the events waiting
 * go into rounds round robin by tenant (see {@link FairQueue}). Measured in docs/decisions/fair-delivery.md.
 */
export const DEFAULT_INSERT_BATCH = 100;

/**
 * Markers are removed together, this long after the first of them was done (or sooner when many are):
 * a delete per round of inserts would add a write to every round. Far below INGEST_REPUBLISH_AFTER, so the
 * sweep does not find the marker of a round that was published.
 */
const REMOVAL_DELAY_MS = 250;

/** Options of {@link EventStore}. */
export interface EventStoreOptions {
  /**
   * How long an insert arriving at an idle writer waits for others to join its round, in ms; 0 writes
   * at once. Inserts arriving while a round is being written always wait for it and go together in
   * the next one. Default {@link DEFAULT_GATHER_MS}.
   */
  gatherMs?: number;
  /** Events one round writes at most. Default {@link DEFAULT_INSERT_BATCH}. */
  maxBatch?: number;
  /** A tenant's weight in the rounds (its events per turn, see {@link FairQueue}); default 1 each. */
  tenantWeight?: WeightOf;
}

/**
 * One-event calls arrive one by one: without a wait, an idle writer wrote each round as soon as its
 * first event came, and at a steady 1,000 calls/s rounds held under two events. Every round costs a
 * marker insert, an insertMany, a broker message and its confirm, and a message for routing to take
 * apart; gathering for a few milliseconds puts more events in each, for a few milliseconds of latency.
 * Measured in docs/decisions/single-event-speed.md.
 */
export const DEFAULT_GATHER_MS = 5;

interface QueuedInsert {
  doc: EventDocument;
  /** Resolves with the duplicate-key error when the dedupe key is taken; rejects on any other failure. */
  resolve(duplicate: WriteError | undefined): void;
  reject(err: unknown): void;
}

/** A round of inserted events whose marker is still stored: how many of them are not settled yet. */
interface MarkedRound {
  markerId: string;
  unsettled: number;
}

/** The `events` collection and the markers of events not yet published, as ingest uses them. */
export class EventStore {
  readonly #events: Collection<EventDocument>;
  readonly #unpublished: Collection<UnpublishedEventsDocument>;
  /** Inserts waiting for a round, by tenant: a round takes them round robin across tenants. */
  readonly #queued: FairQueue<QueuedInsert>;
  /** The round of each event inserted by this instance and not yet settled. */
  readonly #rounds = new Map<string, MarkedRound>();
  /** Markers to remove. */
  #removals: string[] = [];
  /** Whether the writer's next round removes the queued markers. */
  #removalsDue = false;
  #removalTimer: NodeJS.Timeout | undefined;
  #writing = false;
  /** The writer's current run, while `#writing`. */
  #idle: Promise<void> = Promise.resolve();
  readonly #gatherMs: number;
  readonly #maxBatch: number;
  /** While set, the writer is idle and waits for more inserts to join the first one queued. */
  #gatherTimer: NodeJS.Timeout | undefined;

  constructor(db: Db, options: EventStoreOptions = {}) {
    this.#events = eventsCollection(db);
    this.#unpublished = db.collection<UnpublishedEventsDocument>(Collections.unpublishedEvents);
    this.#queued = new FairQueue(options.tenantWeight);
    this.#gatherMs = options.gatherMs ?? DEFAULT_GATHER_MS;
    this.#maxBatch = options.maxBatch ?? DEFAULT_INSERT_BATCH;
    if (!(this.#maxBatch >= 1)) throw new RangeError(`maxBatch must be ≥ 1, not ${this.#maxBatch}`);
  }

  /** Inserts the event, or returns the event already stored under the same tenant and dedupe key. */
  async insertOrGet(
    doc: EventDocument,
  ): Promise<{ inserted: true } | { inserted: false; existing: EventDocument }> {
    const duplicate = await this.#insert(doc);
    if (!duplicate) return { inserted: true };
    // Not stored: nothing of it to publish.
    this.#settle(doc._id);
    const existing = await this.#events.findOne({ tenant_id: doc.tenant_id, dedupe_key: doc.dedupe_key });
    if (!existing) throw new Error(`event ${doc._id} is a duplicate of none: ${duplicate.errmsg}`);
    return { inserted: false, existing };
  }

  /**
   * Inserts through a single writer: the events that arrive while a write is under way go together in
   * the next insertMany. One insert per event costs a round trip each, and many at once contend on a
   * server that writes one transaction at a time (see docs/storage.md). The next round takes the waiting
   * events round robin by tenant, so one tenant's thousands queued do not hold another's one back.
   */
  #insert(doc: EventDocument): Promise<WriteError | undefined> {
    return new Promise((resolve, reject) => {
      this.#queued.push(doc.tenant_id, { doc, resolve, reject });
      if (this.#writing || this.#gatherTimer) {
        // A round being written takes these next; a full one need not wait for its gathering to end.
        if (this.#gatherTimer && this.#queued.size >= this.#maxBatch) this.#write();
        return;
      }
      if (this.#gatherMs <= 0) this.#write();
      else this.#gatherTimer = setTimeout(() => this.#write(), this.#gatherMs);
    });
  }

  #write(): void {
    clearTimeout(this.#gatherTimer);
    this.#gatherTimer = undefined;
    if (this.#writing) return;
    this.#writing = true;
    this.#idle = this.#writeQueued();
  }

  /** Removals of markers that are due, then inserts of a marker and its events, until nothing is queued. */
  async #writeQueued(): Promise<void> {
    try {
      while (this.#queued.size > 0 || (this.#removalsDue && this.#removals.length > 0)) {
        if (this.#removalsDue) {
          const removals = this.#removals.splice(0, MAX_REMOVALS);
          this.#removalsDue = this.#removals.length > 0;
          // A marker left behind is found by the sweep, which publishes its events once more.
          if (removals.length > 0)
            await this.#unpublished.deleteMany({ _id: { $in: removals } }).catch(() => undefined);
        }
        const batch = this.#queued.take(this.#maxBatch);
        if (batch.length > 0) await this.#insertBatch(batch);
      }
    } finally {
      this.#writing = false;
    }
  }

  async #insertBatch(batch: QueuedInsert[]): Promise<void> {
    const first = batch[0] as QueuedInsert;
    // A suffix of its own: the same event may be inserted twice in a row (a key past its idempotency
    // window is released and the insert retried) before the first round's marker is removed.
    const round: MarkedRound = {
      markerId: `round_${first.doc._id}_${randomBytes(4).toString("hex")}`,
      unsettled: batch.length,
    };
    try {
      // The marker first: no event is stored without one, so a crash before its publish is confirmed
      // leaves it to the sweep.
      await this.#unpublished.insertOne({
        _id: round.markerId,
        event_ids: batch.map((q) => q.doc._id),
        create_time: first.doc.create_time,
      });
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    for (const q of batch) this.#rounds.set(q.doc._id, round);
    try {
      await this.#events.insertMany(
        batch.map((q) => q.doc),
        { ordered: false },
      );
      for (const q of batch) q.resolve(undefined);
    } catch (err) {
      settleFailedBatch(batch, err, (q) => {
        // Maybe stored, maybe not (the reply was lost): the marker stays for the sweep to find out.
        this.#rounds.delete(q.doc._id);
      });
    }
  }

  /** One event of its round needs nothing more; the round's marker goes once all of them are settled. */
  #settle(eventId: string): void {
    const round = this.#rounds.get(eventId);
    if (!round) return;
    this.#rounds.delete(eventId);
    round.unsettled -= 1;
    if (round.unsettled > 0) return;
    this.#removals.push(round.markerId);
    if (this.#removals.length >= MAX_REMOVALS) {
      this.#removalsDue = true;
      this.#write();
    } else {
      this.#removalTimer ??= setTimeout(() => {
        this.#removalTimer = undefined;
        this.#removalsDue = true;
        this.#write();
      }, REMOVAL_DELAY_MS).unref();
    }
  }

  /** Resolves once everything queued so far is written (or failed): before MongoDB closes. */
  async flush(): Promise<void> {
    clearTimeout(this.#removalTimer);
    this.#removalTimer = undefined;
    this.#removalsDue = true;
    this.#write();
    while (this.#writing) await this.#idle;
  }

  /**
   * Releases the event's idempotency key, so the next event with that key is stored anew: its dedupe
   * key becomes its own id, which no other event can hold.
   */
  async forgetIdempotencyKey(event: EventDocument): Promise<void> {
    await this.#events.updateOne(
      { _id: event._id, dedupe_key: event.dedupe_key },
      { $set: { dedupe_key: event._id } },
    );
  }

  async isPublished(eventId: string): Promise<boolean> {
    const doc = await this.#events.findOne({ _id: eventId }, { projection: { published: 1 } });
    return doc?.published === true;
  }

  /**
   * Records that RabbitMQ confirmed the event. An event with an idempotency key is marked in `events`,
   * where a retried call looks (awaited, so the retry sees it). Its round's marker is removed a little
   * later with others: should that fail, or the process stop first, the sweep publishes the round's
   * events once more, which receivers deduplicate by webhook-id.
   */
  async markPublished(event: Pick<EventDocument, "_id" | "idempotency_key">): Promise<void> {
    this.#settle(event._id);
    if (event.idempotency_key)
      await this.#events.updateOne({ _id: event._id }, { $set: { published: true } });
  }

  /**
   * The publish of a stored event failed: it gets a marker of its own, for the sweep, and its round is
   * settled without it. Should that write fail, the round's marker stays instead.
   */
  async markUnpublished(event: Pick<EventDocument, "_id" | "create_time">): Promise<void> {
    if (!this.#rounds.has(event._id)) return;
    try {
      await this.#unpublished.insertOne({
        _id: `event_${event._id}`,
        event_ids: [event._id],
        create_time: event.create_time,
      });
    } catch (err) {
      if (!isDuplicateKeyError(err)) {
        this.#rounds.delete(event._id);
        return;
      }
    }
    this.#settle(event._id);
  }

  /**
   * Claims up to `limit` markers created before `createdBefore` and not leased, leasing each until
   * `leaseUntil` with a conditional update, so that of several sweeps one takes each (on a server whose
   * updates are not atomic two may rarely both take one; see docs/storage.md).
   */
  async claimUnpublished(
    createdBefore: Date,
    now: Date,
    leaseUntil: Date,
    limit: number,
  ): Promise<UnpublishedEventsDocument[]> {
    const claimable = {
      create_time: { $lt: createdBefore },
      $or: [{ lease_until: { $exists: false } }, { lease_until: { $lt: now } }],
    };
    const candidates = await this.#unpublished
      .find(claimable, { projection: { _id: 1 } })
      .sort({ create_time: 1 })
      .limit(limit)
      .toArray();
    // In random order: two sweeps that run at once then rarely try the same marker at the same moment,
    // the only time both could win it where updates are not atomic.
    const claimed: UnpublishedEventsDocument[] = [];
    for (const { _id } of shuffled(candidates)) {
      const doc = await this.#unpublished.findOneAndUpdate(
        { _id, ...claimable },
        { $set: { lease_until: leaseUntil } },
        { returnDocument: "after" },
      );
      if (doc) claimed.push(doc);
    }
    return claimed;
  }

  /** The stored events among `eventIds`. */
  findEvents(eventIds: string[]): Promise<EventDocument[]> {
    return this.#events.find({ _id: { $in: eventIds } }).toArray();
  }

  /** Leaves only `eventIds` on a marker. */
  async narrowMarker(markerId: string, eventIds: string[]): Promise<void> {
    await this.#unpublished.updateOne({ _id: markerId }, { $set: { event_ids: eventIds } });
  }

  /** Removes markers the sweep is done with. */
  async removeMarkers(markerIds: string[]): Promise<void> {
    if (markerIds.length > 0) await this.#unpublished.deleteMany({ _id: { $in: markerIds } });
  }
}

/**
 * Settles each insert of a batch that failed: only the documents named in its write errors failed.
 * `onFailed` is told of each insert that is rejected.
 */
function settleFailedBatch(batch: QueuedInsert[], err: unknown, onFailed: (q: QueuedInsert) => void): void {
  const writeErrors =
    err instanceof MongoBulkWriteError && !err.writeConcernError
      ? Array.isArray(err.writeErrors)
        ? err.writeErrors
        : [err.writeErrors]
      : [];
  if (writeErrors.length === 0) {
    for (const q of batch) {
      onFailed(q);
      q.reject(err);
    }
    return;
  }
  const failed = new Map(writeErrors.map((e) => [e.index, e]));
  for (const [i, q] of batch.entries()) {
    const e = failed.get(i);
    if (!e) q.resolve(undefined);
    else if (e.code === DUPLICATE_KEY) q.resolve(e);
    else {
      onFailed(q);
      q.reject(
        Object.assign(new Error(`insert of event ${q.doc._id} failed: ${e.errmsg}`), { code: e.code }),
      );
    }
  }
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

export function toBinary(bytes: Uint8Array): Binary {
  return new Binary(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
