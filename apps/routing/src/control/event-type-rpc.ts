import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { type EventTypeService, Scope } from "@herald/contracts";
import { NotFoundError } from "@herald/platform";
import { authorizeTenant, type EventTypeDocument, eventTypeId, principalOf } from "@herald/platform/model";
import { authorizeTenantMember } from "./authz.js";
import type { ControlPlaneDeps } from "./deps.js";
import { checkEventTypeName, parseEventTypePatch, parseNewEventType } from "./event-type-input.js";
import { checkTenantId } from "./fields.js";
import { eventTypeMessage } from "./messages.js";
import { checkNotOperational, operationalEventType, withOperationalTypes } from "./operational-catalog.js";
import { pageRequest } from "./pagination.js";

/**
 * The tenant a change names, once the caller may manage it: permission comes first, so a key of another
 * tenant learns nothing, not even whether the tenant or type exists.
 */
function managedTenant(ctx: HandlerContext, tenantId: string): string {
  authorizeTenant(principalOf(ctx), tenantId, Scope.ENDPOINTS_MANAGE);
  return checkTenantId("tenant_id", tenantId);
}

/** Any key of the tenant may read its catalog: publishers and subscribers alike need it. */
function readableTenant(ctx: HandlerContext, tenantId: string): string {
  authorizeTenantMember(principalOf(ctx), tenantId);
  return checkTenantId("tenant_id", tenantId);
}

/** EventTypeService: reads by any key of the tenant; changes by keys with endpoints:manage, or admins. */
export function eventTypeService(deps: ControlPlaneDeps): ServiceImpl<typeof EventTypeService> {
  const { tenants, eventTypes, changes } = deps;

  async function changed(type: EventTypeDocument) {
    await changes.eventTypeChanged(type.tenant_id, type.name);
    return { eventType: eventTypeMessage(type) };
  }

  return {
    async createEventType(req, ctx) {
      const tenantId = managedTenant(ctx, req.tenantId);
      checkNotOperational("name", req.name);
      const input = parseNewEventType(req);
      await tenants.get(tenantId);
      const now = deps.now();
      const type: EventTypeDocument = {
        _id: eventTypeId(tenantId, input.name),
        tenant_id: tenantId,
        ...input,
        archived: false,
        schema_version: 1,
        create_time: now,
        update_time: now,
      };
      await eventTypes.insert(type);
      // No transactions: had the tenant been deleted meanwhile, take the type back out.
      if (!(await tenants.find(tenantId))) {
        await eventTypes.deleteByTenant(tenantId).catch(() => undefined);
        throw new NotFoundError("tenant", tenantId);
      }
      return changed(type);
    },

    async getEventType(req, ctx) {
      const tenantId = readableTenant(ctx, req.tenantId);
      const name = checkEventTypeName("name", req.name);
      const type = operationalEventType(tenantId, name) ?? (await eventTypes.get(tenantId, name));
      return { eventType: eventTypeMessage(type) };
    },

    async listEventTypes(req, ctx) {
      const tenantId = readableTenant(ctx, req.tenantId);
      const request = pageRequest(req.pageSize, req.pageToken);
      const page = withOperationalTypes(
        tenantId,
        request,
        await eventTypes.list(tenantId, request, req.includeArchived),
      );
      return { eventTypes: page.items.map(eventTypeMessage), nextPageToken: page.nextPageToken };
    },

    async updateEventType(req, ctx) {
      const tenantId = managedTenant(ctx, req.tenantId);
      const name = checkNotOperational("name", checkEventTypeName("name", req.name));
      const stored = await eventTypes.get(tenantId, name);
      const patch = parseEventTypePatch(req, stored);
      const schemaChanged = patch.schema !== undefined && patch.schema !== stored.schema;
      return changed(
        await eventTypes.update(tenantId, name, { ...patch, update_time: deps.now() }, schemaChanged),
      );
    },

    async archiveEventType(req, ctx) {
      const tenantId = managedTenant(ctx, req.tenantId);
      const name = checkNotOperational("name", checkEventTypeName("name", req.name));
      return changed(
        await eventTypes.update(tenantId, name, { archived: true, update_time: deps.now() }, false),
      );
    },
  };
}
