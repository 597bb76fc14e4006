import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { type AuditRecord, type AuditService, Scope } from "@herald/contracts";
import { NotFoundError } from "@herald/platform";
import {
  authorizeTenant,
  eventIdTime,
  principalOf,
  type TenantDocument,
  tenantOwnsEvent,
} from "@herald/platform/model";

/** Reads a tenant document, tombstones included (a cache in the service). */
export type TenantLookup = (tenantId: string) => Promise<TenantDocument | null>;

/**
 * Whether a record about an event created at `eventTime` belongs to a deleted tenant: one being purged
 * or purged (the event predates the end of the deletion's grace period), or an earlier tenant of an id
 * created again (the event predates the tenant). Such a record, written after the purge, would show the
 * old tenant's deliveries to the new one. Records of unknown tenants, or of events whose time cannot be
 * read, are not judged here.
 */
export function isRecordOfDeletedTenant(
  tenant: TenantDocument | null,
  eventTime: Date | undefined,
  graceMs: number,
): boolean {
  if (!tenant || !eventTime) return false;
  if (tenant.delete_time) return eventTime.getTime() < tenant.delete_time.getTime() + graceMs;
  return !tenantOwnsEvent(tenant, eventTime);
}

/** The records of `records` to store: those of deleted tenants are dropped. */
export function dropRecordsOfDeletedTenants(lookup: TenantLookup, graceMs: number) {
  return async (records: AuditRecord[]): Promise<AuditRecord[]> => {
    const tenantIds = [...new Set(records.map((r) => r.record.value?.tenantId ?? ""))];
    const tenants = new Map(await Promise.all(tenantIds.map(async (id) => [id, await lookup(id)] as const)));
    return records.filter((r) => {
      const value = r.record.value;
      if (!value) return true;
      return !isRecordOfDeletedTenant(
        tenants.get(value.tenantId) ?? null,
        eventIdTime(value.eventId),
        graceMs,
      );
    });
  };
}

/**
 * The AuditService with every call about a deleted tenant (being purged, or purged) answered NOT_FOUND,
 * as the control plane answers, so its events are unreachable from the deletion on, for admin keys too.
 * The caller's right to the tenant is checked first, so a deletion is told only to those who may know.
 * Tenants without a document are left to the handlers.
 */
export function refuseDeletedTenants(
  handlers: ServiceImpl<typeof AuditService>,
  lookup: TenantLookup,
): ServiceImpl<typeof AuditService> {
  const guarded: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(handlers)) {
    const call = handler as (req: { tenantId: string }, ctx: HandlerContext) => Promise<unknown>;
    guarded[name] = async (req: { tenantId: string }, ctx: HandlerContext) => {
      if (req.tenantId) {
        authorizeTenant(principalOf(ctx), req.tenantId, Scope.AUDIT_READ);
        if ((await lookup(req.tenantId))?.delete_time) throw new NotFoundError("tenant", req.tenantId);
      }
      return call(req, ctx);
    };
  }
  return guarded as ServiceImpl<typeof AuditService>;
}
