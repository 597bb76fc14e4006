import { hash, randomBytes, timingSafeEqual } from "node:crypto";
import type { HandlerContext } from "@connectrpc/connect";
import { Scope } from "@herald/contracts";
import { PermissionDeniedError, UnauthenticatedError } from "../errors.js";
import { principalKey, type Authenticator as RuntimeAuthenticator } from "../rpc/authentication.js";

/** Who is calling: resolved from the bearer API key by the auth interceptor. */
export interface Principal {
  keyId: string;
  /** Unset for admin keys. */
  tenantId?: string;
  scopes: ReadonlySet<Scope>;
  /** A portal session limited to these endpoints of its tenant; unset: every endpoint. */
  endpointIds?: ReadonlySet<string>;
  /** A read-only portal session: no changes, secret reveals or replays. */
  readOnly?: boolean;
  /** When the key stops working (portal sessions), in ms since the epoch. */
  expiresAt?: number;
}

/** Resolves a bearer token to a principal, or undefined when the token is unknown or revoked. */
export type Authenticator = RuntimeAuthenticator<Principal>;

/** The caller of an authenticated RPC. */
export function principalOf(ctx: HandlerContext): Principal {
  // The auth interceptor stores what this service's Authenticator returned: a Principal.
  const principal = ctx.values.get(principalKey) as Principal | undefined;
  if (!principal) throw new UnauthenticatedError();
  return principal;
}

export function isAdmin(principal: Principal): boolean {
  return principal.scopes.has(Scope.ADMIN);
}

/**
 * Throws unless the principal may act with `scope` on `tenantId`. The same message is used whether or
 * not the tenant exists, so a key cannot probe for other tenants.
 */
export function authorizeTenant(principal: Principal, tenantId: string, scope: Scope): void {
  if (isAdmin(principal)) return;
  if (principal.tenantId !== tenantId) {
    throw new PermissionDeniedError(`this API key may not access tenant "${tenantId}"`);
  }
  if (!principal.scopes.has(scope)) {
    throw new PermissionDeniedError(`this API key lacks the ${scopeName(scope)} scope`);
  }
}

/** Throws unless the principal may change things (a read-only portal session may not). */
export function authorizeWrite(principal: Principal): void {
  if (principal.readOnly) throw new PermissionDeniedError("this session is read-only");
}

/**
 * Throws unless the principal may see `endpointId`: a portal session limited to some endpoints sees no
 * other, and is told so in the same words whether or not the endpoint exists.
 */
export function authorizeEndpoint(principal: Principal, endpointId: string): void {
  if (principal.endpointIds && !principal.endpointIds.has(endpointId)) {
    throw new PermissionDeniedError(`this session may not access endpoint "${endpointId}"`);
  }
}

/** The endpoints a principal is limited to, or undefined when it sees every endpoint of its tenant. */
export function visibleEndpoints(principal: Principal): readonly string[] | undefined {
  return principal.endpointIds ? [...principal.endpointIds] : undefined;
}

export function authorizeAdmin(principal: Principal): void {
  if (!isAdmin(principal)) throw new PermissionDeniedError("this call needs an admin API key");
}

const SCOPE_NAMES: Record<Scope, string> = {
  [Scope.UNSPECIFIED]: "unspecified",
  [Scope.ADMIN]: "admin",
  [Scope.EVENTS_PUBLISH]: "events:publish",
  [Scope.ENDPOINTS_MANAGE]: "endpoints:manage",
  [Scope.AUDIT_READ]: "audit:read",
};

export function scopeName(scope: Scope): string {
  return SCOPE_NAMES[scope] ?? String(scope);
}

const TOKEN_PREFIX = "hk_";

/** A freshly generated API key: `token` is shown to the user once; only `secretHash` is stored. */
export interface GeneratedApiKey {
  id: string;
  token: string;
  secretHash: string;
}

/**
 * Makes a new API key `hk_<id>_<secret>`. The secret has 256 bits of entropy, so a plain SHA-256 is
 * enough to store it (no password hashing needed, and lookups stay fast).
 */
export function generateApiKey(id = newApiKeyId()): GeneratedApiKey {
  const secret = randomBytes(32).toString("base64url");
  return { id, token: `${TOKEN_PREFIX}${id}_${secret}`, secretHash: hashApiKeySecret(secret) };
}

/** A fresh API key id: 18 hex digits. */
export function newApiKeyId(): string {
  return randomBytes(9).toString("hex");
}

export function hashApiKeySecret(secret: string): string {
  return sha256(secret).toString("hex");
}

/**
 * The SHA-256 digest of a string's UTF-8 bytes. One-shot `hash` rather than a Hash object: every call
 * authenticates with it, and the object's set-up was a fifth of the digest's cost.
 */
export function sha256(text: string): Buffer {
  return hash("sha256", text, "buffer");
}

/** Splits a token into id and secret, or returns undefined when it is not shaped like one. */
export function parseApiKeyToken(token: string): { id: string; secret: string } | undefined {
  const match = /^hk_([0-9a-f]{18})_([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return undefined;
  return { id: match[1] as string, secret: match[2] as string };
}

/** Constant-time comparison of two strings of possibly different length. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b)) && a.length === b.length;
}
