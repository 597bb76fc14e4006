import { InvalidArgumentError } from "@herald/platform";
import {
  type EventTypeDocument,
  eventTypeId,
  isKnownOperationalType,
  isOperationalEventType,
  OPERATIONAL_EVENT_TYPE_NAMES,
  OPERATIONAL_EVENT_TYPES,
  OPERATIONAL_TYPE_PREFIX,
} from "@herald/platform/model";
import { encodePageToken, type Page, type PageRequest } from "./pagination.js";

// Herald's operational event types (herald.*) appear in every tenant's catalog as built-in entries:
// read like the tenant's own, never stored, never changed by the tenant.

/** Dated at the epoch: a built-in type has no creation of its own. */
const BUILT_IN_TIME = new Date(0);

/** The built-in catalog entry of an operational type, as the tenant's catalog shows it. */
export function operationalEventType(tenantId: string, name: string): EventTypeDocument | undefined {
  if (!isKnownOperationalType(name)) return undefined;
  const spec = OPERATIONAL_EVENT_TYPES[name];
  return {
    _id: eventTypeId(tenantId, name),
    tenant_id: tenantId,
    name,
    description: `Built in (Herald's operational event; read-only). ${spec.description}`,
    schema: JSON.stringify(spec.schema),
    examples: [JSON.stringify(spec.example)],
    deprecated: false,
    archived: false,
    validate_payloads: false,
    schema_version: 1,
    create_time: BUILT_IN_TIME,
    update_time: BUILT_IN_TIME,
  };
}

/** Refuses a change to a name in the reserved namespace: the built-in types are Herald's. */
export function checkNotOperational(field: string, name: string): string {
  if (isOperationalEventType(name))
    throw new InvalidArgumentError(
      field,
      `"${OPERATIONAL_TYPE_PREFIX}*" is reserved for Herald's operational events, which are built in and read-only`,
    );
  return name;
}

/**
 * A page of the tenant's stored types with the built-in ones merged in, in name order (ids sort as
 * names within a tenant). The stored page holds the first `size` stored types after the cursor, so the
 * first `size` of the merge are the first of both; a next page follows when either list goes on.
 */
export function withOperationalTypes(
  tenantId: string,
  page: PageRequest,
  stored: Page<EventTypeDocument>,
): Page<EventTypeDocument> {
  const builtIn = OPERATIONAL_EVENT_TYPE_NAMES.map((name) => operationalEventType(tenantId, name)).filter(
    (type): type is EventTypeDocument =>
      type !== undefined && (page.afterId === undefined || type._id > page.afterId),
  );
  const merged = [...stored.items, ...builtIn].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  const items = merged.slice(0, page.size);
  const more = merged.length > page.size || stored.nextPageToken !== "";
  const last = items.at(-1);
  return { items, nextPageToken: more && last ? encodePageToken(last._id) : "" };
}
