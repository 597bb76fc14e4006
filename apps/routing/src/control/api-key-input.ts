import { type CreateApiKeyRequest, Scope } from "@herald/contracts";
import { InvalidArgumentError } from "@herald/platform";
import { checkTenantId, checkText } from "./fields.js";

export const MAX_API_KEY_NAME = 200;

/** Scopes a tenant-bound key may hold. */
export const TENANT_SCOPES: ReadonlySet<Scope> = new Set([
  Scope.EVENTS_PUBLISH,
  Scope.ENDPOINTS_MANAGE,
  Scope.AUDIT_READ,
]);

/** A checked CreateApiKey request: an admin key (no tenant, scopes [ADMIN]) or a tenant-bound key. */
export interface NewApiKey {
  name: string;
  tenantId?: string;
  scopes: Scope[];
}

export function parseNewApiKey(req: CreateApiKeyRequest): NewApiKey {
  const name = checkText("name", req.name, { max: MAX_API_KEY_NAME, required: true });
  if (req.scopes.length === 0) {
    throw new InvalidArgumentError(
      "scopes",
      "required: SCOPE_ADMIN alone, or tenant scopes with a tenant_id",
    );
  }
  if (req.scopes.includes(Scope.ADMIN)) {
    if (req.scopes.length !== 1 || req.tenantId !== "") {
      throw new InvalidArgumentError(
        "scopes",
        "SCOPE_ADMIN must be the only scope and comes without a tenant_id (admin keys act on every tenant)",
      );
    }
    return { name, scopes: [Scope.ADMIN] };
  }
  req.scopes.forEach((scope, i) => {
    if (!TENANT_SCOPES.has(scope)) {
      throw new InvalidArgumentError(
        `scopes[${i}]`,
        "must be SCOPE_EVENTS_PUBLISH, SCOPE_ENDPOINTS_MANAGE or SCOPE_AUDIT_READ",
      );
    }
  });
  const tenantId = checkTenantId("tenant_id", req.tenantId);
  return { name, tenantId, scopes: [...new Set(req.scopes)] };
}
