import { NotFoundError } from "@herald/platform";
import { type ApiKeyDocument, apiKeysCollection } from "@herald/platform/model";
import type { Collection, Db, Filter } from "mongodb";
import { type Page, type PageRequest, toPage } from "./pagination.js";

/** The `api_keys` collection: key metadata and secret hashes, never tokens. */
export class ApiKeyStore {
  readonly #keys: Collection<ApiKeyDocument>;

  constructor(db: Db) {
    this.#keys = apiKeysCollection(db);
  }

  async insert(key: ApiKeyDocument): Promise<void> {
    await this.#keys.insertOne(key);
  }

  /** Keys of one tenant, or every key when `tenantId` is unset. */
  async list(tenantId: string | undefined, page: PageRequest): Promise<Page<ApiKeyDocument>> {
    const filter: Filter<ApiKeyDocument> = {};
    if (tenantId !== undefined) filter.tenant_id = tenantId;
    if (page.afterId !== undefined) filter._id = { $gt: page.afterId };
    const keys = await this.#keys
      .find(filter)
      .sort({ _id: 1 })
      .limit(page.size + 1)
      .toArray();
    return toPage(keys, page.size);
  }

  /** Marks the key revoked (idempotent) and returns it. */
  async revoke(id: string): Promise<ApiKeyDocument> {
    const key = await this.#keys.findOneAndUpdate(
      { _id: id },
      { $set: { revoked: true } },
      { returnDocument: "after" },
    );
    if (!key) throw new NotFoundError("API key", id);
    return key;
  }

  async delete(id: string): Promise<void> {
    await this.#keys.deleteOne({ _id: id });
  }

  async deleteByTenant(tenantId: string): Promise<void> {
    await this.#keys.deleteMany({ tenant_id: tenantId });
  }
}
