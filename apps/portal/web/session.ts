import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createApi, errorText } from "./api.js";

/** A portal session as kept in this tab (sessionStorage): gone when the tab closes. */
export interface Session {
  token: string;
  tenantId: string;
  endpointIds: string[];
  readOnly: boolean;
  expiresAt: number;
}

const storageKey = (tenantId: string) => `herald-portal:${tenantId}`;

/** The tenant of a portal path /t/<tenant>/…, and the rest of the path. */
export function tenantPath(pathname: string): { tenantId: string; rest: string } | undefined {
  const match = /^\/t\/([a-zA-Z0-9_-]{1,64})(\/.*)?$/.exec(pathname);
  if (!match?.[1]) return undefined;
  return { tenantId: match[1], rest: match[2] ?? "/" };
}

/**
 * The session of this tab: a link's code (in the URL's fragment, which no server sees) is exchanged once
 * and dropped from the address bar; after that the tab's stored session is used until it expires.
 */
export async function startSession(tenantId: string): Promise<Session | { error: string }> {
  const code = new URLSearchParams(location.hash.slice(1)).get("code");
  if (code) {
    history.replaceState(null, "", location.pathname + location.search);
    try {
      const res = await createApi(undefined).portal.exchangePortalLink({ code });
      if (res.tenantId !== tenantId) return { error: "This link belongs to another portal." };
      const session: Session = {
        token: res.token,
        tenantId: res.tenantId,
        endpointIds: res.endpointIds,
        readOnly: res.readOnly,
        expiresAt: res.expireTime ? timestampMs(res.expireTime) : Date.now(),
      };
      sessionStorage.setItem(storageKey(tenantId), JSON.stringify(session));
      return session;
    } catch (err) {
      return { error: errorText(err) };
    }
  }
  const stored = sessionStorage.getItem(storageKey(tenantId));
  if (stored) {
    const session = JSON.parse(stored) as Session;
    if (session.expiresAt > Date.now()) return session;
    sessionStorage.removeItem(storageKey(tenantId));
    return { error: "Your session has ended. Open the portal again from your application." };
  }
  return { error: "No session. Open the portal from your application to get a new link." };
}
