import { AlreadyExistsError, isDuplicateKeyError, NotFoundError } from "@herald/platform";
import { type EventTypeDocument, eventTypeId, eventTypesCollection } from "@herald/platform/model";
import type { Collection, Db, Filter, UpdateFilter } from "mongodb";
import { type Page, type PageRequest, toPage } from "./pagination.js";

type EventTypeFields = Partial<Omit<EventTypeDocument, "_id" | "tenant_id" | "name">>;

/** The `_id` range of a tenant's types: "<tenant>:" up to "<tenant>;" (";" follows ":"). */
function tenantRange(tenantId: string): { $gte: string; $lt: string } {
  return { $gte: eventTypeId(tenantId, ""), $lt: `${tenantId};` };
}

/**
 * The `event_types` collection, keyed `<tenant>:<name>`: every read is by `_id`, or by `tenant_id` and an
 * `_id` range (the `{tenant_id, _id}` index), so a type of another tenant is simply not found.
 */
export class EventTypeStore {
  readonly #types: Collection<EventTypeDocument>;

  constructor(db: Db) {
    this.#types = eventTypesCollection(db);
  }

  /** Throws AlreadyExistsError when the tenant has a type of that name. */
  async insert(type: EventTypeDocument): Promise<void> {
    try {
      await this.#types.insertOne(type);
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new AlreadyExistsError("event type", type.name);
      throw err;
    }
  }

  async get(tenantId: string, name: string): Promise<EventTypeDocument> {
    const type = await this.#types.findOne({ _id: eventTypeId(tenantId, name) });
    if (!type) throw new NotFoundError("event type", name);
    return type;
  }

  async list(
    tenantId: string,
    page: PageRequest,
    includeArchived: boolean,
  ): Promise<Page<EventTypeDocument>> {
    const range = tenantRange(tenantId);
    // A token is only ever followed within the tenant's range, whatever id it carries.
    const after = page.afterId;
    const filter: Filter<EventTypeDocument> = {
      tenant_id: tenantId,
      _id: after === undefined || after < range.$gte ? range : { $gt: after, $lt: range.$lt },
    };
    if (!includeArchived) filter.archived = false;
    const types = await this.#types
      .find(filter)
      .sort({ _id: 1 })
      .limit(page.size + 1)
      .toArray();
    return toPage(types, page.size);
  }

  /**
   * Replaces `set` (the schema version grows by one when `schemaChanged`) and returns the type as
   * updated.
   */
  async update(
    tenantId: string,
    name: string,
    set: EventTypeFields,
    schemaChanged: boolean,
  ): Promise<EventTypeDocument> {
    const update: UpdateFilter<EventTypeDocument> = { $set: set };
    if (schemaChanged) update.$inc = { schema_version: 1 };
    const type = await this.#types.findOneAndUpdate({ _id: eventTypeId(tenantId, name) }, update, {
      returnDocument: "after",
    });
    if (!type) throw new NotFoundError("event type", name);
    return type;
  }

  async deleteByTenant(tenantId: string): Promise<void> {
    await this.#types.deleteMany({ tenant_id: tenantId, _id: tenantRange(tenantId) });
  }
}
