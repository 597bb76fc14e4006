import {
  AlreadyExistsError,
  isDuplicateKeyError,
  NotFoundError,
  type TenantDocument,
  tenantsCollection,
} from "@herald/platform";
import type { Collection, Db } from "mongodb";
import { type Page, type PageRequest, toPage } from "./pagination.js";

/** The `tenants` collection. Unknown ids throw NotFoundError. */
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
      if (isDuplicateKeyError(err)) throw new AlreadyExistsError("tenant", tenant._id);
      throw err;
    }
  }

  async find(id: string): Promise<TenantDocument | undefined> {
    return (await this.#tenants.findOne({ _id: id })) ?? undefined;
  }

  async get(id: string): Promise<TenantDocument> {
    const tenant = await this.find(id);
    if (!tenant) throw new NotFoundError("tenant", id);
    return tenant;
  }

  async list(page: PageRequest): Promise<Page<TenantDocument>> {
    const filter = page.afterId === undefined ? {} : { _id: { $gt: page.afterId } };
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
      { _id: id },
      { $set: fields },
      { returnDocument: "after" },
    );
    if (!tenant) throw new NotFoundError("tenant", id);
    return tenant;
  }

  async delete(id: string): Promise<void> {
    await this.#tenants.deleteOne({ _id: id });
  }
}
