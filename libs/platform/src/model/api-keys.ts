import { timingSafeEqual } from "node:crypto";
import { type ControlNotification, Scope } from "@herald/contracts";
import { LRUCache } from "lru-cache";
import type { Collection, Db } from "mongodb";
import {
  type Authenticator,
  hashApiKeySecret,
  type Principal,
  parseApiKeyToken,
  safeEqual,
  sha256,
} from "./auth.js";

/** An API key as stored in the `api_keys` collection: the secret only as a hash. */
export interface ApiKeyDocument {
  _id: string;
  name: string;
  tenant_id?: string;
  scopes: Scope[];
  secret_hash: string;
  revoked: boolean;
  create_time: Date;
  /** Portal sessions: refused from then on. */
  expire_time?: Date;
  /** Portal sessions limited to some endpoints of the tenant. */
  endpoint_ids?: string[];
  /** Read-only portal sessions. */
  read_only?: boolean;
}

export function apiKeysCollection(db: Db): Collection<ApiKeyDocument> {
  return db.collection<ApiKeyDocument>("api_keys");
}

/** Options of {@link ApiKeyAuthenticator}. */
export interface ApiKeyAuthenticatorOptions {
  /** The bootstrap admin key from the environment. */
  adminKey: string;
  /**
   * How long a key read from MongoDB is trusted before it is read again; default (and most) 1 s. This
   * bounds how long a revoked key keeps working on an instance that missed the revocation's notification.
   */
  cacheTtlMs?: number;
  /** Monotonic clock in milliseconds; tests pass their own. */
  now?: () => number;
  /** Wall clock in ms since the epoch, for keys that expire; tests pass their own. */
  wallClock?: () => number;
}

/** The longest a cached key is trusted: revocation must hold within 1 s even where no notification arrives. */
export const MAX_API_KEY_CACHE_TTL_MS = 1_000;

interface CachedKey {
  principal: Principal;
  /** When the MongoDB read that produced it started. */
  readAt: number;
}

/**
 * Resolves bearer tokens against the bootstrap admin key and the `api_keys` collection, caching resolved
 * keys so a busy caller costs one MongoDB read per key and second, not one per call.
 *
 * What revocation guarantees (RevokeApiKey, DeleteTenant; docs/decisions/revocation-acknowledgements.md):
 * - the routing instance that serves the call forgets the key before it answers;
 * - every other instance forgets it when the call's control notification reaches it
 *   ({@link onControlChange}, wired for every service by `apiKeyAuthentication`) and then acknowledges
 *   it. The call answers once every instance registered as live has acknowledged, so a connected
 *   instance refuses the key before the call returns;
 * - an instance that does not acknowledge within 1 s of the revocation being saved (disconnected from
 *   RabbitMQ, not yet aware that its connection died, or too busy) trusts a cached key at most
 *   `cacheTtlMs` (<= 1 s) after the read that produced it began, and the call then answers only at that
 *   bound: the key is refused there too by the time the call returns, within 1 s of the revocation;
 * - an instance that starts meanwhile reads the key after it was revoked.
 * The bound assumes the instances' clocks run at the same rate (not that they agree), and MongoDB reads
 * that see the revocation once it was saved (the default read concern on a single node or the primary).
 */
export class ApiKeyAuthenticator implements Authenticator {
  readonly #keys: Collection<ApiKeyDocument>;
  readonly #adminKeyDigest: Buffer;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #wallClock: () => number;
  /** Resolved keys by their token's SHA-256, so a cached call hashes once and no token is kept. */
  readonly #cache = new LRUCache<string, CachedKey>({ max: 10_000 });
  /** Reads under way by token digest: a burst of calls with one key reads MongoDB once. */
  readonly #reading = new Map<string, { principal: Promise<Principal | undefined>; startedAt: number }>();
  /** Counts invalidations, so a read that an invalidation overtook is not cached. */
  #generation = 0;

  constructor(db: Db, options: ApiKeyAuthenticatorOptions) {
    this.#keys = apiKeysCollection(db);
    this.#adminKeyDigest = sha256(options.adminKey);
    this.#ttlMs = Math.min(options.cacheTtlMs ?? MAX_API_KEY_CACHE_TTL_MS, MAX_API_KEY_CACHE_TTL_MS);
    this.#now = options.now ?? (() => performance.now());
    this.#wallClock = options.wallClock ?? Date.now;
  }

  async authenticate(token: string): Promise<Principal | undefined> {
    // Digests compared in constant time: equal digests mean equal keys, whatever their lengths.
    const tokenDigest = sha256(token);
    if (timingSafeEqual(tokenDigest, this.#adminKeyDigest)) {
      return { keyId: "bootstrap-admin", scopes: new Set([Scope.ADMIN]) };
    }
    const cacheKey = tokenDigest.toString("base64");
    const cached = this.#cache.get(cacheKey);
    if (cached && this.#now() - cached.readAt < this.#ttlMs) return this.#unexpired(cached.principal);
    const parsed = parseApiKeyToken(token);
    if (!parsed) return undefined;
    // A read under way is joined only while its answer could still be cached: one that began longer ago
    // than the cache's bound may predate a revocation that no notification told this instance of.
    const pending = this.#reading.get(cacheKey);
    if (pending && this.#now() - pending.startedAt < this.#ttlMs) return pending.principal;
    const startedAt = this.#now();
    const read = this.#read(cacheKey, parsed.id, parsed.secret);
    const reading = { principal: read, startedAt };
    this.#reading.set(cacheKey, reading);
    const forget = () => {
      if (this.#reading.get(cacheKey) === reading) this.#reading.delete(cacheKey);
    };
    read.then(forget, forget);
    return read.then((principal) => principal && this.#unexpired(principal));
  }

  #unexpired(principal: Principal): Principal | undefined {
    return principal.expiresAt !== undefined && principal.expiresAt <= this.#wallClock()
      ? undefined
      : principal;
  }

  async #read(cacheKey: string, id: string, secret: string): Promise<Principal | undefined> {
    const generation = this.#generation;
    const readAt = this.#now();
    const doc = await this.#keys.findOne({ _id: id });
    if (!doc || doc.revoked || !safeEqual(doc.secret_hash, hashApiKeySecret(secret))) return undefined;
    const principal: Principal = { keyId: doc._id, tenantId: doc.tenant_id, scopes: new Set(doc.scopes) };
    if (doc.expire_time) principal.expiresAt = doc.expire_time.getTime();
    if (doc.endpoint_ids) principal.endpointIds = new Set(doc.endpoint_ids);
    if (doc.read_only) principal.readOnly = true;
    if (generation === this.#generation) this.#cache.set(cacheKey, { principal, readAt });
    return principal;
  }

  /** Forgets every cached key (of one tenant, when given). */
  invalidate(tenantId?: string): void {
    this.#forget(tenantId === undefined ? undefined : (principal) => principal.tenantId === tenantId);
  }

  /** Forgets one key, whichever tenant (or none) it belongs to. */
  forgetKey(keyId: string): void {
    this.#forget((principal) => principal.keyId === keyId);
  }

  /**
   * Applies a control notification: a revoked key (`api_key_id`) is forgotten; a tenant-wide change may
   * be the tenant's deletion, so its keys go (an endpoint's or event type's change leaves them); `undefined` (notifications may have been missed while
   * disconnected) forgets everything. A tenant-wide change without a tenant is an admin key's revocation
   * announced by an older routing instance, which did not name the key: everything goes too.
   */
  onControlChange(change: ControlNotification | undefined): void {
    if (change === undefined) this.invalidate();
    else if (change.apiKeyId !== "") this.forgetKey(change.apiKeyId);
    else if (change.endpointId === "" && change.eventType === "")
      this.invalidate(change.tenantId || undefined);
  }

  #forget(matches?: (principal: Principal) => boolean): void {
    this.#generation++;
    this.#reading.clear();
    if (matches === undefined) {
      this.#cache.clear();
      return;
    }
    for (const [key, cached] of this.#cache.entries()) {
      if (matches(cached.principal)) this.#cache.delete(key);
    }
  }
}
