import type { ControlNotification } from "@herald/contracts";
import type { EndpointDocument, TenantDocument } from "@herald/platform/model";

/** What {@link deletedEndpointsOf} reads, fresh (the change already dropped them from the caches). */
export interface DeletedEndpointsDeps {
  /** The endpoint of the tenant, or undefined when there is none. */
  endpoint(tenantId: string, endpointId: string): Promise<EndpointDocument | undefined>;
  tenant(tenantId: string): Promise<TenantDocument | null>;
}

/**
 * The endpoints a control change says were deleted, whose listen queues are then useless: the endpoint
 * it names when that endpoint is gone (DeleteEndpoint, the idle sweep), or every endpoint DeleteTenant
 * recorded when it names a tenant being deleted. Ids of ordinary endpoints are among them: once deleted,
 * nothing tells which endpoint listened, and deleting a queue that does not exist changes nothing.
 */
export async function deletedEndpointsOf(
  change: ControlNotification | undefined,
  deps: DeletedEndpointsDeps,
): Promise<string[]> {
  // A reconnection (undefined), a revoked key or an event type deletes no endpoint.
  if (!change || change.apiKeyId || change.eventType) return [];
  if (change.endpointId) {
    return (await deps.endpoint(change.tenantId, change.endpointId)) ? [] : [change.endpointId];
  }
  const tenant = await deps.tenant(change.tenantId);
  // Deleted (not live) but not yet purged: the purge drops the ids with the tenant's data.
  if (tenant === null || tenant.delete_time === undefined) return [];
  return tenant.deleted_endpoint_ids ?? [];
}
