import { PermissionDeniedError } from "@herald/platform";
import { isAdmin, type Principal } from "@herald/platform/model";

/**
 * Throws unless the principal is an admin or bound to `tenantId`, whatever its scopes: reading its own
 * tenant needs no particular scope. Same message as authorizeTenant, so keys cannot probe other tenants.
 */
export function authorizeTenantMember(principal: Principal, tenantId: string): void {
  if (isAdmin(principal) || principal.tenantId === tenantId) return;
  throw new PermissionDeniedError(`this API key may not access tenant "${tenantId}"`);
}
