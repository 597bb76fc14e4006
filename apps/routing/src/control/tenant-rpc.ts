import type { ServiceImpl } from "@connectrpc/connect";
import type { TenantService } from "@herald/contracts";
import { NotFoundError } from "@herald/platform";
import { authorizeAdmin, principalOf, type TenantDocument } from "@herald/platform/model";
import { authorizeTenantMember } from "./authz.js";
import type { ControlPlaneDeps } from "./deps.js";
import { checkTenantId, newId } from "./fields.js";
import { tenantMessage } from "./messages.js";
import { pageRequest } from "./pagination.js";
import { parseNewTenant, parseTenantPatch } from "./tenant-input.js";

/** TenantService: admin keys only, except GetTenant, which the tenant's own keys may call. */
export function tenantService(deps: ControlPlaneDeps): ServiceImpl<typeof TenantService> {
  const { tenants, endpoints, apiKeys, eventTypes, changes } = deps;

  async function setDisabled(tenantId: string, disabled: boolean) {
    const id = checkTenantId("tenant_id", tenantId);
    const tenant = await tenants.update(id, { disabled, update_time: deps.now() });
    await changes.tenantChanged(id);
    return { tenant: tenantMessage(tenant) };
  }

  return {
    async createTenant(req, ctx) {
      authorizeAdmin(principalOf(ctx));
      const input = parseNewTenant(req);
      const now = deps.now();
      const tenant: TenantDocument = {
        _id: input.id ?? newId("ten"),
        name: input.name,
        metadata: input.metadata,
        disabled: false,
        settings: input.settings,
        create_time: now,
        update_time: now,
      };
      await tenants.insert(tenant);
      await changes.tenantChanged(tenant._id);
      return { tenant: tenantMessage(tenant) };
    },

    async getTenant(req, ctx) {
      authorizeTenantMember(principalOf(ctx), req.tenantId);
      const tenant = await tenants.get(checkTenantId("tenant_id", req.tenantId));
      return { tenant: tenantMessage(tenant) };
    },

    async listTenants(req, ctx) {
      authorizeAdmin(principalOf(ctx));
      const page = await tenants.list(pageRequest(req.pageSize, req.pageToken));
      return { tenants: page.items.map(tenantMessage), nextPageToken: page.nextPageToken };
    },

    async updateTenant(req, ctx) {
      authorizeAdmin(principalOf(ctx));
      const id = checkTenantId("tenant_id", req.tenantId);
      const patch = parseTenantPatch(req);
      const tenant = await tenants.update(id, { ...patch, update_time: deps.now() });
      await changes.tenantChanged(id);
      return { tenant: tenantMessage(tenant) };
    },

    async disableTenant(req, ctx) {
      authorizeAdmin(principalOf(ctx));
      return setDisabled(req.tenantId, true);
    },

    async enableTenant(req, ctx) {
      authorizeAdmin(principalOf(ctx));
      return setDisabled(req.tenantId, false);
    },

    async deleteTenant(req, ctx) {
      authorizeAdmin(principalOf(ctx));
      const id = checkTenantId("tenant_id", req.tenantId);
      // Deleting again while the purge runs finishes what an interrupted call left (keys, endpoints).
      const deleting = await tenants.isDeleting(id);
      if (!deleting) {
        await tenants.get(id);
        // Marked first, so ingest refuses the tenant's events from the moment its cache hears of it;
        // the purge (audit's tenant purge) later removes the events, deliveries and attempts, catching
        // events a racing publish stored, then marks the tenant purged, which frees the id.
        const endpointIds = await endpoints.idsOfTenant(id);
        if (!(await tenants.markDeleting(id, endpointIds, deps.now()))) throw new NotFoundError("tenant", id);
      }
      await apiKeys.deleteByTenant(id);
      await endpoints.deleteByTenant(id);
      await eventTypes.deleteByTenant(id);
      await changes.tenantDeleted(id);
      return {};
    },
  };
}
