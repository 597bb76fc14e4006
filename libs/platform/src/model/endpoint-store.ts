import type { DisabledReason } from "@herald/contracts";
import type { Collection, Db, Filter, UpdateFilter } from "mongodb";
import { NotFoundError } from "../errors.js";
import { type EndpointDocument, type EndpointSecretDocument, endpointsCollection } from "./documents.js";

type EndpointFields = Partial<Omit<EndpointDocument, "_id" | "tenant_id">>;

/**
 * The `endpoints` collection: routing's control plane manages it, and delivery records what its
 * attempts tell (a run of failures, a receiver gone). Every lookup names the tenant as well as the
 * endpoint, so an endpoint of another tenant is simply not found.
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

  /**
   * Up to `limit` endpoints of the tenant in id order, from after `afterId` when given, and only those
   * of `ids` when given (a session limited to some endpoints).
   */
  async list(
    tenantId: string,
    afterId: string | undefined,
    limit: number,
    ids?: readonly string[],
  ): Promise<EndpointDocument[]> {
    const filter: Filter<EndpointDocument> = { tenant_id: tenantId };
    if (afterId !== undefined || ids !== undefined) {
      filter._id = {
        ...(afterId !== undefined && { $gt: afterId }),
        ...(ids !== undefined && { $in: [...ids] }),
      };
    }
    return this.#endpoints.find(filter).sort({ _id: 1 }).limit(limit).toArray();
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

  /**
   * Endpoints, of every tenant, with a secret whose rotation overlap ends in (`from`, `to`]: for the
   * routing sweep that tells tenants a rotation ended.
   */
  withSecretsExpiring(from: Date, to: Date): Promise<EndpointDocument[]> {
    return this.#endpoints.find({ "secrets.expire_time": { $gt: from, $lte: to } }).toArray();
  }

  /** Ids of every endpoint of the tenant. */
  async idsOfTenant(tenantId: string): Promise<string[]> {
    const docs = await this.#endpoints.find({ tenant_id: tenantId }, { projection: { _id: 1 } }).toArray();
    return docs.map((d) => d._id);
  }

  async deleteByTenant(tenantId: string): Promise<void> {
    await this.#endpoints.deleteMany({ tenant_id: tenantId });
  }

  /**
   * Disables an enabled endpoint for `reason` (a receiver gone, or failing too long); returns whether
   * this call disabled it (false when it already was, or is gone).
   */
  async disable(endpoint: EndpointDocument, reason: DisabledReason, now: Date): Promise<boolean> {
    const { modifiedCount } = await this.#endpoints.updateOne(
      { _id: endpoint._id, disabled: false },
      { $set: { disabled: true, disabled_reason: reason, update_time: now } },
    );
    return modifiedCount > 0;
  }

  /** Marks a listen endpoint as seen at `now` (a stream is open on it), so it does not expire. */
  async touchListen(endpoint: EndpointDocument, now: Date): Promise<void> {
    await this.#endpoints.updateOne(
      { _id: endpoint._id, tenant_id: endpoint.tenant_id, listen: { $exists: true } },
      { $set: { listen_seen_time: now } },
    );
  }

  /** Up to `limit` listen endpoints no stream has been open on since `before`, oldest first. */
  async idleListenEndpoints(before: Date, limit: number): Promise<EndpointDocument[]> {
    return this.#endpoints
      .find({ listen_seen_time: { $lt: before } })
      .sort({ listen_seen_time: 1 })
      .limit(limit)
      .toArray();
  }

  /**
   * Deletes a listen endpoint if it is still idle since `before` (a stream may have opened on it since it
   * was read); true when it was deleted.
   */
  async deleteIdleListen(endpoint: EndpointDocument, before: Date): Promise<boolean> {
    const { deletedCount } = await this.#endpoints.deleteOne({
      _id: endpoint._id,
      tenant_id: endpoint.tenant_id,
      listen_seen_time: { $lt: before },
    });
    return deletedCount === 1;
  }

  /**
   * Sets (a Date) or clears (undefined) when the endpoint's current run of failed attempts began. A run
   * is begun only where none is: returns whether this call began it (always false when clearing).
   */
  async setFailingSince(endpoint: EndpointDocument, since: Date | undefined): Promise<boolean> {
    if (!since) {
      await this.#endpoints.updateOne({ _id: endpoint._id }, { $unset: { failing_since: "" } });
      return false;
    }
    const { modifiedCount } = await this.#endpoints.updateOne(
      { _id: endpoint._id, failing_since: { $exists: false } },
      { $set: { failing_since: since } },
    );
    return modifiedCount > 0;
  }
}
