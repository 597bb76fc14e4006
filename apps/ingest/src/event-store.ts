import { Collections, type EventDocument, eventsCollection, type IndexPlan } from "@herald/platform";
import { Binary, type Collection, type Db, MongoBulkWriteError, type WriteError } from "mongodb";

const DUPLICATE_KEY = 11000;

export const eventIndexes: IndexPlan = {
  [Collections.events]: [
    { key: { tenant_id: 1, dedupe_key: 1 }, name: "tenant_dedupe_key", unique: true },
    { key: { tenant_id: 1, create_time: -1, _id: -1 }, name: "tenant_time" },
    // Audit's retention purge.
    { key: { create_time: 1 }, name: "create_time" },
  ],
};

/** Events one insertMany writes at most. */
const MAX_INSERT_BATCH = 500;

interface QueuedInsert {
  doc: EventDocument;
  /** Resolves with the duplicate-key error when the dedupe key is taken; rejects on any other failure. */
  resolve(duplicate: WriteError | undefined): void;
  reject(err: unknown): void;
}

/** The `events` collection, as ingest uses it. */
export class EventStore {
  readonly #events: Collection<EventDocument>;
  #queued: QueuedInsert[] = [];
  #writing = false;

  constructor(db: Db) {
    this.#events = eventsCollection(db);
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
      if (!this.#writing) void this.#writeQueued();
    });
  }

  async #writeQueued(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queued.length > 0) {
        const batch = this.#queued.splice(0, MAX_INSERT_BATCH);
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
    } finally {
      this.#writing = false;
    }
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

  async markPublished(eventId: string): Promise<void> {
    await this.#events.updateOne({ _id: eventId }, { $set: { published: true } });
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

export function toBinary(bytes: Uint8Array): Binary {
  return new Binary(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
