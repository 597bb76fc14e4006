import { FailedPreconditionError, InvalidArgumentError } from "@herald/platform";
import {
  type ControlPlaneCache,
  describeViolation,
  type EventSchemaCache,
  type TenantDocument,
} from "@herald/platform/model";
import type { ValidEvent } from "./validate.js";

/** What checking events against a tenant's catalog needs. */
export interface CatalogDeps {
  cache: Pick<ControlPlaneCache, "eventType">;
  schemas: EventSchemaCache;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Checks an event against its tenant's event type catalog before anything is stored: a tenant that
 * refuses unknown types refuses types it has not catalogued (or archived), FAILED_PRECONDITION; a type
 * whose payloads are checked (its own flag, or the tenant's) refuses a payload that is not JSON or fails
 * its schema, INVALID_ARGUMENT naming the JSON path and the rule. `field` is the event's, e.g. "event".
 */
export async function checkAgainstCatalog(
  deps: CatalogDeps,
  tenant: TenantDocument,
  event: ValidEvent,
  field: string,
): Promise<void> {
  const type = await deps.cache.eventType(tenant._id, event.eventType);
  if ((!type || type.archived) && tenant.settings.refuse_unknown_event_types) {
    throw new FailedPreconditionError(
      `${field}.event_type: "${event.eventType}" is ${type ? "archived in" : "not in"} tenant "${tenant._id}"'s event type catalog, and the tenant refuses unknown types; ${type ? "restore it" : "create it"} (herald event-types ${type ? "update --archived=false" : "create"}) or publish a catalogued type`,
    );
  }
  if (!type || type.schema === "") return;
  if (!type.validate_payloads && !tenant.settings.validate_payloads) return;
  let payload: unknown;
  try {
    payload = JSON.parse(utf8.decode(event.payload));
  } catch {
    throw new InvalidArgumentError(
      `${field}.payload`,
      `is not JSON, and event type "${type.name}" checks payloads against its JSON Schema`,
    );
  }
  const violation = deps.schemas.check(tenant._id, type.name, type.schema_version, type.schema)(payload);
  if (violation) {
    throw new InvalidArgumentError(
      `${field}.payload`,
      `fails the schema of event type "${type.name}" (version ${type.schema_version}) ${describeViolation(violation)}`,
    );
  }
}
