import { NotFoundError } from "@herald/platform";
import {
  type EndpointDocument,
  type EndpointSecretDocument,
  endpointsCollection,
} from "@herald/platform/model";
import type { Collection, Db, Filter, UpdateFilter } from "mongodb";
import { type Page, type PageRequest, toPage } from "./pagination.js";

type EndpointFields = Partial<Omit<EndpointDocument, "_id" | "tenant_id">>;

/**
 * The `endpoints` collection. Every lookup names the tenant as well as the endpoint, so an endpoint of
 * another tenant is simply not found.
 */
export class EndpointStore {
  readonly #endpoints: Collection<EndpointDocument>;

  constructor(db: Db) {
    this.#endpoints = endpointsCollection(db);
  }

  async insert(endpoint: EndpointDocument): Promise<void> {
    await this.#endpoints.insertOne(endpoint);
  }

  async get(tenantId: string, id: string): Promise<EndpointDocument> {
    const endpoint = await this.#endpoints.findOne({ _id: id, tenant_id: tenantId });
    if (!endpoint) throw new NotFoundError("endpoint", id);
    return endpoint;
  }

  /** The tenant's endpoints, or only those of `ids` when given. */
  async list(tenantId: string, page: PageRequest, ids?: readonly string[]): Promise<Page<EndpointDocument>> {
    const filter: Filter<EndpointDocument> = { tenant_id: tenantId };
    if (page.afterId !== undefined || ids !== undefined) {
      filter._id = {
        ...(page.afterId !== undefined && { $gt: page.afterId }),
        ...(ids !== undefined && { $in: [...ids] }),
      };
    }
    const endpoints = await this.#endpoints
      .find(filter)
      .sort({ _id: 1 })
      .limit(page.size + 1)
      .toArray();
    return toPage(endpoints, page.size);
  }

  /** Replaces `set` and removes `unset`, returning the endpoint as updated. */
  async update(
    tenantId: string,
    id: string,
    set: EndpointFields,
    unset: Array<keyof EndpointDocument> = [],
  ): Promise<EndpointDocument> {
    const update: UpdateFilter<EndpointDocument> = { $set: set };
    if (unset.length > 0) update.$unset = Object.fromEntries(unset.map((field) => [field, ""] as const));
    const endpoint = await this.#endpoints.findOneAndUpdate({ _id: id, tenant_id: tenantId }, update, {
      returnDocument: "after",
    });
    if (!endpoint) throw new NotFoundError("endpoint", id);
    return endpoint;
  }

  /**
   * Writes a new secret list computed from `current`, only if nobody changed the endpoint since it was
   * read (its update_time is unchanged): read-modify-write without transactions or positional updates.
   * Resolves undefined on such a conflict; the caller reads again and retries.
   */
  async replaceSecrets(
    current: EndpointDocument,
    secrets: EndpointSecretDocument[],
    now: Date,
  ): Promise<EndpointDocument | undefined> {
    // Strictly later than the one read, so a second writer that read the same version always misses.
    const updateTime = new Date(Math.max(now.getTime(), current.update_time.getTime() + 1));
    const endpoint = await this.#endpoints.findOneAndUpdate(
      { _id: current._id, tenant_id: current.tenant_id, update_time: current.update_time },
      { $set: { secrets, update_time: updateTime } },
      { returnDocument: "after" },
    );
    return endpoint ?? undefined;
  }

  async delete(tenantId: string, id: string): Promise<void> {
    const { deletedCount } = await this.#endpoints.deleteOne({ _id: id, tenant_id: tenantId });
    if (deletedCount === 0) throw new NotFoundError("endpoint", id);
  }

  /** Ids of every endpoint of the tenant. */
  async idsOfTenant(tenantId: string): Promise<string[]> {
    const docs = await this.#endpoints.find({ tenant_id: tenantId }, { projection: { _id: 1 } }).toArray();
    return docs.map((d) => d._id);
  }

  async deleteByTenant(tenantId: string): Promise<void> {
    await this.#endpoints.deleteMany({ tenant_id: tenantId });
  }
}
