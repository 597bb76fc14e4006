import type { ClaimResult, DedupeStore } from "./store.js";

/** One record of the dedupe collection. */
export interface MongoDedupeDocument {
  /** The webhook id. */
  _id: string;
  /** `in_progress` while a delivery holds the lease, `done` once the handler succeeded. */
  state: "in_progress" | "done";
  /** Owner of an in-progress lease. */
  token?: string;
  /** When the lease or the record lapses; checked on every claim, and by the TTL index where there is one. */
  expiresAt: Date;
}

/**
 * The driver's `Collection` methods this store calls (mongodb driver v6+), so the package does not import
 * the driver: pass `db.collection<MongoDedupeDocument>("webhook_dedupe")`.
 */
export interface MongoCollectionLike {
  insertOne(document: MongoDedupeDocument): Promise<unknown>;
  findOneAndUpdate(
    filter: object,
    update: object,
    options: { returnDocument: "after"; includeResultMetadata: false },
  ): Promise<unknown>;
  findOne(filter: object): Promise<unknown>;
  updateOne(filter: object, update: object, options: { upsert: boolean }): Promise<unknown>;
  deleteOne(filter: object): Promise<unknown>;
  createIndex(keys: { expiresAt: 1 }, options: { expireAfterSeconds: number }): Promise<unknown>;
}

/** Options of {@link MongoStore}. */
export interface MongoStoreOptions {
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

const DUPLICATE_KEY = 11000;
// Wire-compatible servers that do not implement TTL indexes answer NotImplemented or CommandNotSupported.
const NOT_SUPPORTED = new Set<unknown>([238, 115]);

/**
 * Shared dedupe in MongoDB (or a wire-compatible server). A claim inserts `{_id: id}` (the unique `_id`
 * makes it atomic), or takes over a record whose `expiresAt` has passed with a conditional
 * findOneAndUpdate. Expiry is checked on read, so correctness never depends on the TTL monitor, which
 * only deletes old records (see {@link MongoStore.ensureTtlIndex}).
 */
export class MongoStore implements DedupeStore {
  readonly #collection: MongoCollectionLike;
  readonly #now: () => number;

  constructor(collection: MongoCollectionLike, options: MongoStoreOptions = {}) {
    this.#collection = collection;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Creates the TTL index on `expiresAt` so the server deletes lapsed records. Resolves false if the
   * server does not implement TTL indexes: dedupe stays correct, lapsed records just stay until reclaimed.
   */
  async ensureTtlIndex(): Promise<boolean> {
    try {
      await this.#collection.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
      return true;
    } catch (error) {
      if (NOT_SUPPORTED.has(errorCode(error))) return false;
      throw error;
    }
  }

  async claim(id: string, token: string, leaseMs: number): Promise<ClaimResult> {
    // Two tries: the record that blocked the insert may be released before we read it.
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = this.#now();
      const lease = { state: "in_progress" as const, token, expiresAt: new Date(now + leaseMs) };
      try {
        await this.#collection.insertOne({ _id: id, ...lease });
        return "claimed";
      } catch (error) {
        if (errorCode(error) !== DUPLICATE_KEY) throw error;
      }
      const takenOver = await this.#collection.findOneAndUpdate(
        { _id: id, expiresAt: { $lte: new Date(now) } },
        { $set: lease },
        { returnDocument: "after", includeResultMetadata: false },
      );
      if (takenOver !== null) return "claimed";
      const current = (await this.#collection.findOne({ _id: id })) as Partial<MongoDedupeDocument> | null;
      if (current?.state === "done") return "done";
      if (current !== null) return "in_progress";
    }
    return "in_progress";
  }

  async complete(id: string, ttlMs: number): Promise<void> {
    await this.#collection.updateOne(
      { _id: id },
      { $set: { state: "done", expiresAt: new Date(this.#now() + ttlMs) }, $unset: { token: "" } },
      { upsert: true },
    );
  }

  async release(id: string, token: string): Promise<void> {
    await this.#collection.deleteOne({ _id: id, token });
  }
}

function errorCode(error: unknown): unknown {
  return typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
}
