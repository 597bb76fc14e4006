import type { Duration } from "@bufbuild/protobuf/wkt";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { PortalService } from "@herald/contracts";
import { InvalidArgumentError, isDuplicateKeyError } from "@herald/platform";
import { authorizeAdmin, generateApiKey, principalOf } from "@herald/platform/model";
import type { ControlPlaneDeps } from "./deps.js";
import { checkObjectId, checkTenantId, durationToMs } from "./fields.js";
import {
  DEFAULT_LINK_TTL_MS,
  DEFAULT_SESSION_TTL_MS,
  linkSecretMatches,
  MAX_LINK_TTL_MS,
  MAX_SESSION_ENDPOINTS,
  MAX_SESSION_TTL_MS,
  mintPortalLink,
  parsePortalLinkCode,
  sessionKeyOf,
} from "./portal-links.js";

/** One answer for every link that cannot be exchanged, so a guess learns nothing. */
const refused = () =>
  new ConnectError("the portal link is unknown, used or expired; ask for a new one", Code.Unauthenticated);

function ttl(field: string, value: Duration | undefined, def: number, max: number) {
  if (!value) return def;
  const ms = durationToMs(field, value);
  if (ms < 1_000 || ms > max) {
    throw new InvalidArgumentError(field, `must be between 1s and ${max / 1000}s`);
  }
  return ms;
}

/**
 * PortalService. CreatePortalLink: admin keys. ExchangePortalLink: no key (the code is the credential);
 * the session key's id is the link's, so a link exchanged twice, even at once by two instances, inserts
 * that key twice and the second insert is refused: the one-time use is a unique insert (docs/storage.md §5).
 */
export function portalService(deps: ControlPlaneDeps): ServiceImpl<typeof PortalService> {
  const { tenants, endpoints, apiKeys, portalLinks } = deps;

  return {
    async createPortalLink(req, ctx) {
      authorizeAdmin(principalOf(ctx));
      const tenantId = checkTenantId("tenant_id", req.tenantId);
      const endpointIds = [
        ...new Set(req.endpointIds.map((id, i) => checkObjectId(`endpoint_ids[${i}]`, id))),
      ];
      if (endpointIds.length > MAX_SESSION_ENDPOINTS) {
        throw new InvalidArgumentError("endpoint_ids", `at most ${MAX_SESSION_ENDPOINTS}`);
      }
      await tenants.get(tenantId);
      // Each must be the tenant's: NOT_FOUND otherwise.
      for (const id of endpointIds) await endpoints.get(tenantId, id);
      const now = deps.now();
      const linkTtlMs = ttl("link_ttl", req.linkTtl, DEFAULT_LINK_TTL_MS, MAX_LINK_TTL_MS);
      const { code, link } = mintPortalLink({
        tenant_id: tenantId,
        endpoint_ids: endpointIds,
        read_only: req.readOnly,
        session_ttl_ms: ttl("session_ttl", req.sessionTtl, DEFAULT_SESSION_TTL_MS, MAX_SESSION_TTL_MS),
        expire_time: new Date(now.getTime() + linkTtlMs),
        create_time: now,
      });
      await portalLinks.insert(link);
      return { code, expireTime: timestampFromDate(link.expire_time), sessionId: link._id };
    },

    async exchangePortalLink(req) {
      const { id, secret } = parsePortalLinkCode(req.code);
      const now = deps.now();
      const link = await portalLinks.find(id);
      if (!link || link.expire_time <= now || !linkSecretMatches(link, secret)) {
        throw refused();
      }
      // A tenant deleted since has no sessions.
      if (!(await tenants.find(link.tenant_id))) throw refused();
      const generated = generateApiKey(link._id);
      const key = sessionKeyOf(link, generated.secretHash, now);
      try {
        await apiKeys.insert(key);
      } catch (err) {
        if (isDuplicateKeyError(err)) throw refused();
        throw err;
      }
      await portalLinks.forget(link._id, now);
      return {
        token: generated.token,
        tenantId: link.tenant_id,
        endpointIds: link.endpoint_ids,
        readOnly: link.read_only,
        expireTime: timestampFromDate(key.expire_time ?? now),
      };
    },
  };
}
