import { type IndexPlan, isDuplicateKeyError } from "@herald/platform";
import { Collections } from "@herald/platform/model";
import type { Collection, Db } from "mongodb";
import type { RateBudgetStore } from "./rate-limiter.js";

/**
 * One claimed chunk of a tenant's budget for one second: `_id` is "<tenant>:<second>:<chunk>", so the
 * insert that claims it succeeds once; an insert of a unique `_id` is atomic on every server, where an
 * `$inc` need not be (see docs/storage.md). `tenant_id` lets a tenant's deletion purge them.
 */
interface RateBudgetDocument {
  _id: string;
  tenant_id: string;
  expires_at: Date;
}

/** Claims are only read within their second; the sweep deletes them a while later. */
const CLAIM_RETENTION_MS = 10_000;

export const rateBudgetIndexes: IndexPlan = {
  [Collections.tenantRateBudget]: [
    { key: { expires_at: 1 }, name: "expires_at" },
    { key: { tenant_id: 1 }, name: "tenant" },
  ],
};

/** {@link RateBudgetStore} on MongoDB, shared by every ingest instance. */
export class MongoRateBudgetStore implements RateBudgetStore {
  readonly #claims: Collection<RateBudgetDocument>;
  readonly #now: () => number;

  constructor(db: Db, now: () => number = Date.now) {
    this.#claims = db.collection<RateBudgetDocument>(Collections.tenantRateBudget);
    this.#now = now;
  }

  async claim(tenantId: string, second: number, index: number): Promise<boolean> {
    try {
      await this.#claims.insertOne({
        _id: `${tenantId}:${second}:${index}`,
        tenant_id: tenantId,
        expires_at: new Date(second * 1000 + CLAIM_RETENTION_MS),
      });
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** Deletes claims too old to matter: a sweep rather than a TTL index (see docs/storage.md). */
  async sweep(): Promise<void> {
    await this.#claims.deleteMany({ expires_at: { $lt: new Date(this.#now()) } });
  }
}
