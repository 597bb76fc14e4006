import { Collections, type EventDocument, eventsCollection, type IndexPlan } from "@herald/platform";
import { Binary, type Collection, type Db, MongoBulkWriteError, type WriteError } from "mongodb";

const DUPLICATE_KEY = 11000;

export const eventIndexes: IndexPlan = {
  [Collections.events]: [
    { key: { tenant_id: 1, dedupe_key: 1 }, name: "tenant_dedupe_key", unique: true },
    { key: { tenant_id: 1, create_time: -1, _id: -1 }, name: "tenant_time" },
  ],
  [Collections.unpublishedEvents]: [{ key: { create_time: 1 }, name: "create_time" }],
};

/**
 * Marks an event stored but not yet confirmed by RabbitMQ; `_id` is the event id. Written before the
 * event and removed once it is confirmed, so the collection holds only the events being published (and
 * those stranded by a crash in between, which the republish sweep finds). A small collection of its own
 * rather than a filter on `events`: FerretDB scans a collection for any filter but one on `_id`.
 */
export interface UnpublishedEventDocument {
  _id: string;
  tenant_id: string;
  create_time: Date;
  /** While in the future, one sweep is publishing the event and the others leave it alone. */
  lease_until?: Date;
}

/** Events one insertMany writes at most. */
const MAX_INSERT_BATCH = 500;

interface QueuedInsert {
  doc: EventDocument;
  /** Resolves with the duplicate-key error when the dedupe key is taken; rejects on any other failure. */
  resolve(duplicate: WriteError | undefined): void;
  reject(err: unknown): void;
}

interface QueuedRemoval {
  eventId: string;
  resolve(): void;
  reject(err: unknown): void;
}

/** The `events` collection and the markers of events not yet published, as ingest uses them. */
export class EventStore {
  readonly #events: Collection<EventDocument>;
  readonly #unpublished: Collection<UnpublishedEventDocument>;
  #queued: QueuedInsert[] = [];
  #removals: QueuedRemoval[] = [];
  #writing = false;
  /** The writer's current run, while `#writing`. */
  #idle: Promise<void> = Promise.resolve();

  constructor(db: Db) {
    this.#events = eventsCollection(db);
    this.#unpublished = db.collection<UnpublishedEventDocument>(Collections.unpublishedEvents);
  }

  /** Inserts the event, or returns the event already stored under the same tenant and dedupe key. */
  async insertOrGet(
    doc: EventDocument,
  ): Promise<{ inserted: true } | { inserted: false; existing: EventDocument }> {
    const duplicate = await this.#insert(doc);
    if (!duplicate) return { inserted: true };
    const existing = await this.#events.findOne({ tenant_id: doc.tenant_id, dedupe_key: doc.dedupe_key });
    if (!existing) throw new Error(`event ${doc._id} is a duplicate of none: ${duplicate.errmsg}`);
    return { inserted: false, existing };
  }

  /**
   * Inserts through a single writer: the events that arrive while a write is under way go together in
   * the next insertMany. One insert per event, many at once, costs MongoDB a round trip each and makes
   * FerretDB's SQLite connections fight over its one write lock (each backs off and retries), which
   * on a small machine cut ingest to a few dozen events per second.
   */
  #insert(doc: EventDocument): Promise<WriteError | undefined> {
    return new Promise((resolve, reject) => {
      this.#queued.push({ doc, resolve, reject });
      this.#write();
    });
  }

  #write(): void {
    if (this.#writing) return;
    this.#writing = true;
    this.#idle = this.#writeQueued();
  }

  /** Removals of markers, then inserts of markers and events, until nothing is queued. */
  async #writeQueued(): Promise<void> {
    try {
      while (this.#queued.length > 0 || this.#removals.length > 0) {
        const removals = this.#removals.splice(0, MAX_INSERT_BATCH);
        if (removals.length > 0) {
          try {
            await this.#unpublished.deleteMany({ _id: { $in: removals.map((r) => r.eventId) } });
            for (const r of removals) r.resolve();
          } catch (err) {
            for (const r of removals) r.reject(err);
          }
        }
        const batch = this.#queued.splice(0, MAX_INSERT_BATCH);
        if (batch.length > 0) await this.#insertBatch(batch);
      }
    } finally {
      this.#writing = false;
    }
  }

  async #insertBatch(batch: QueuedInsert[]): Promise<void> {
    try {
      // The markers first: an event is never stored without one, so a crash before its publish is
      // confirmed leaves it to the sweep. A marker whose event was not stored is removed by the sweep.
      await this.#unpublished.insertMany(
        batch.map((q) => ({ _id: q.doc._id, tenant_id: q.doc.tenant_id, create_time: q.doc.create_time })),
        { ordered: false },
      );
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    try {
      await this.#events.insertMany(
        batch.map((q) => q.doc),
        { ordered: false },
      );
      for (const q of batch) q.resolve(undefined);
    } catch (err) {
      settleFailedBatch(batch, err);
    }
  }

  /**
   * Removes the marker of a published event. Queued for the single writer, whose next round removes
   * every marker queued meanwhile in one delete.
   */
  #removeMarker(eventId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#removals.push({ eventId, resolve, reject });
      this.#write();
    });
  }

  /** Resolves once everything queued so far is written (or failed): before MongoDB closes. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#idle;
  }

  /**
   * Forgets the marker of an event that was not stored after all: its idempotency key was taken. Not
   * awaited by the call, which answers with the event stored first; a marker left behind is removed by
   * the sweep.
   */
  forgetMarker(eventId: string): void {
    this.#removeMarker(eventId).catch(() => undefined);
  }

  async isPublished(eventId: string): Promise<boolean> {
    const doc = await this.#events.findOne({ _id: eventId }, { projection: { published: 1 } });
    return doc?.published === true;
  }

  /**
   * Records that RabbitMQ confirmed the event. An event with an idempotency key is marked in `events`,
   * where a retried call looks (awaited, so the retry sees it); the marker's removal is not awaited by
   * the call: should it fail, or the process stop first, the sweep publishes the event once more, which
   * receivers deduplicate by its webhook-id.
   */
  async markPublished(event: Pick<EventDocument, "_id" | "idempotency_key">): Promise<void> {
    this.#removeMarker(event._id).catch(() => undefined);
    if (event.idempotency_key)
      await this.#events.updateOne({ _id: event._id }, { $set: { published: true } });
  }

  /**
   * Claims up to `limit` markers created before `createdBefore` and not leased, leasing each until
   * `leaseUntil` with a conditional update, so that of several sweeps one takes each (on MongoDB; on
   * FerretDB, which checks a filter and writes in separate steps, two may rarely both take one).
   */
  async claimUnpublished(
    createdBefore: Date,
    now: Date,
    leaseUntil: Date,
    limit: number,
  ): Promise<UnpublishedEventDocument[]> {
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
    // which on FerretDB is when both could win it.
    const claimed: UnpublishedEventDocument[] = [];
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

  /** Removes markers at once, awaited: for the sweep, which has no caller waiting. */
  async removeMarkers(eventIds: string[]): Promise<void> {
    await Promise.all(eventIds.map((id) => this.#removeMarker(id)));
  }
}

/** Settles each insert of a batch that failed: only the documents named in its write errors failed. */
function settleFailedBatch(batch: QueuedInsert[], err: unknown): void {
  const writeErrors =
    err instanceof MongoBulkWriteError && !err.writeConcernError
      ? Array.isArray(err.writeErrors)
        ? err.writeErrors
        : [err.writeErrors]
      : [];
  if (writeErrors.length === 0) {
    for (const q of batch) q.reject(err);
    return;
  }
  const failed = new Map(writeErrors.map((e) => [e.index, e]));
  for (const [i, q] of batch.entries()) {
    const e = failed.get(i);
    if (!e) q.resolve(undefined);
    else if (e.code === DUPLICATE_KEY) q.resolve(e);
    else
      q.reject(
        Object.assign(new Error(`insert of event ${q.doc._id} failed: ${e.errmsg}`), { code: e.code }),
      );
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
