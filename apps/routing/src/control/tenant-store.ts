import {
  AlreadyExistsError,
  FailedPreconditionError,
  isDuplicateKeyError,
  NotFoundError,
} from "@herald/platform";
import { isLiveTenant, type TenantDocument, tenantsCollection } from "@herald/platform/model";
import type { Collection, Db } from "mongodb";
import { type Page, type PageRequest, toPage } from "./pagination.js";

/** Not deleted: a tenant being deleted or purged (a tombstone) is absent for all but CreateTenant. */
const LIVE = { delete_time: { $exists: false } } as const;

/**
 * The `tenants` collection. Unknown ids, and deleted tenants, throw NotFoundError; CreateTenant of an id
 * being deleted throws FailedPreconditionError until the purge has finished, then replaces the tombstone.
 */
export class TenantStore {
  readonly #tenants: Collection<TenantDocument>;

  constructor(db: Db) {
    this.#tenants = tenantsCollection(db);
  }

  /** Throws AlreadyExistsError when the id is taken. */
  async insert(tenant: TenantDocument): Promise<void> {
    try {
      await this.#tenants.insertOne(tenant);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const existing = await this.#tenants.findOne(
        { _id: tenant._id },
        { projection: { delete_time: 1, purge_time: 1 } },
      );
      if (existing?.purge_time) {
        // The tombstone of a deleted tenant whose data is gone: the id is free.
        const replaced = await this.#tenants.replaceOne(
          { _id: tenant._id, purge_time: { $exists: true } },
          tenant,
        );
        if (replaced.matchedCount === 1) return;
      } else if (existing?.delete_time) {
        throw new FailedPreconditionError(
          `tenant "${tenant._id}" was deleted and its data is still being purged; create it again once the purge has finished (usually within minutes)`,
        );
      }
      throw new AlreadyExistsError("tenant", tenant._id);
    }
  }

  async find(id: string): Promise<TenantDocument | undefined> {
    const tenant = await this.#tenants.findOne({ _id: id });
    return isLiveTenant(tenant) ? tenant : undefined;
  }

  async get(id: string): Promise<TenantDocument> {
    const tenant = await this.find(id);
    if (!tenant) throw new NotFoundError("tenant", id);
    return tenant;
  }

  async list(page: PageRequest): Promise<Page<TenantDocument>> {
    const filter = page.afterId === undefined ? LIVE : { ...LIVE, _id: { $gt: page.afterId } };
    const tenants = await this.#tenants
      .find(filter)
      .sort({ _id: 1 })
      .limit(page.size + 1)
      .toArray();
    return toPage(tenants, page.size);
  }

  /** Replaces the given fields and returns the tenant as updated. */
  async update(id: string, fields: Partial<Omit<TenantDocument, "_id">>): Promise<TenantDocument> {
    const tenant = await this.#tenants.findOneAndUpdate(
      { _id: id, ...LIVE },
      { $set: fields },
      { returnDocument: "after" },
    );
    if (!tenant) throw new NotFoundError("tenant", id);
    return tenant;
  }

  /**
   * Marks the tenant as being deleted, recording the endpoints about to be removed; the purge marks it
   * purged once the tenant's data is gone. Returns false when there is no live tenant `id`.
   */
  async markDeleting(id: string, endpointIds: string[], now: Date): Promise<boolean> {
    const result = await this.#tenants.updateOne(
      { _id: id, ...LIVE },
      { $set: { delete_time: now, deleted_endpoint_ids: endpointIds, disabled: true, update_time: now } },
    );
    return result.matchedCount === 1;
  }

  /** Whether a tenant `id` was deleted and its purge has not finished. */
  async isDeleting(id: string): Promise<boolean> {
    const tenant = await this.#tenants.findOne(
      { _id: id },
      { projection: { delete_time: 1, purge_time: 1 } },
    );
    return tenant?.delete_time !== undefined && tenant.purge_time === undefined;
  }
}
