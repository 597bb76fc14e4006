import type { ServiceImpl } from "@connectrpc/connect";
import type { ApiKeyService } from "@herald/contracts";
import { NotFoundError } from "@herald/platform";
import { type ApiKeyDocument, authorizeAdmin, generateApiKey, principalOf } from "@herald/platform/model";
import { parseNewApiKey } from "./api-key-input.js";
import type { ControlPlaneDeps } from "./deps.js";
import { checkObjectId, checkTenantId } from "./fields.js";
import { apiKeyMessage } from "./messages.js";
import { pageRequest } from "./pagination.js";

/** ApiKeyService: admin keys only. A key's token is returned once, by CreateApiKey; only its hash is kept. */
export function apiKeyService(deps: ControlPlaneDeps): ServiceImpl<typeof ApiKeyService> {
  const { tenants, apiKeys, changes } = deps;

  return {
    async createApiKey(req, ctx) {
      authorizeAdmin(principalOf(ctx));
      const input = parseNewApiKey(req);
      if (input.tenantId !== undefined) await tenants.get(input.tenantId);
      const generated = generateApiKey();
      const key: ApiKeyDocument = {
        _id: generated.id,
        name: input.name,
        scopes: input.scopes,
        secret_hash: generated.secretHash,
        revoked: false,
        create_time: deps.now(),
      };
      if (input.tenantId !== undefined) key.tenant_id = input.tenantId;
      await apiKeys.insert(key);
      // No transactions: had the tenant been deleted meanwhile, its key must not outlive it.
      if (input.tenantId !== undefined && !(await tenants.find(input.tenantId))) {
        await apiKeys.delete(key._id);
        throw new NotFoundError("tenant", input.tenantId);
      }
      await changes.tenantChanged(input.tenantId ?? "");
      return { apiKey: apiKeyMessage(key), token: generated.token };
    },

    async listApiKeys(req, ctx) {
      authorizeAdmin(principalOf(ctx));
      const tenantId = req.tenantId === "" ? undefined : checkTenantId("tenant_id", req.tenantId);
      const page = await apiKeys.list(tenantId, pageRequest(req.pageSize, req.pageToken));
      return { apiKeys: page.items.map(apiKeyMessage), nextPageToken: page.nextPageToken };
    },

    async revokeApiKey(req, ctx) {
      authorizeAdmin(principalOf(ctx));
      const key = await apiKeys.revoke(checkObjectId("api_key_id", req.apiKeyId));
      await changes.apiKeyRevoked(key._id, key.tenant_id);
      return { apiKey: apiKeyMessage(key) };
    },
  };
}
