import { timingSafeEqual } from "node:crypto";
import { Scope } from "@herald/contracts";
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
}

export function apiKeysCollection(db: Db): Collection<ApiKeyDocument> {
  return db.collection<ApiKeyDocument>("api_keys");
}

/** Options of {@link ApiKeyAuthenticator}. */
export interface ApiKeyAuthenticatorOptions {
  /** The bootstrap admin key from the environment. */
  adminKey: string;
  /** How long a resolved key is trusted without reading MongoDB again; default 10 s. */
  cacheTtlMs?: number;
}

/**
 * Resolves bearer tokens against the bootstrap admin key and the `api_keys` collection. Resolved keys
 * are cached briefly; control notifications call {@link invalidate} so a revocation takes effect at once.
 */
export class ApiKeyAuthenticator implements Authenticator {
  readonly #keys: Collection<ApiKeyDocument>;
  readonly #adminKeyDigest: Buffer;
  /** Resolved keys by their token's SHA-256, so a cached call hashes once and no token is kept. */
  readonly #cache: LRUCache<string, Principal>;

  constructor(db: Db, options: ApiKeyAuthenticatorOptions) {
    this.#keys = apiKeysCollection(db);
    this.#adminKeyDigest = sha256(options.adminKey);
    this.#cache = new LRUCache({ max: 10_000, ttl: options.cacheTtlMs ?? 10_000 });
  }

  async authenticate(token: string): Promise<Principal | undefined> {
    // Digests compared in constant time: equal digests mean equal keys, whatever their lengths.
    const tokenDigest = sha256(token);
    if (timingSafeEqual(tokenDigest, this.#adminKeyDigest)) {
      return { keyId: "bootstrap-admin", scopes: new Set([Scope.ADMIN]) };
    }
    const cacheKey = tokenDigest.toString("base64");
    const cached = this.#cache.get(cacheKey);
    if (cached) return cached;
    const parsed = parseApiKeyToken(token);
    if (!parsed) return undefined;
    const doc = await this.#keys.findOne({ _id: parsed.id });
    if (!doc || doc.revoked || !safeEqual(doc.secret_hash, hashApiKeySecret(parsed.secret))) return undefined;
    const principal: Principal = { keyId: doc._id, tenantId: doc.tenant_id, scopes: new Set(doc.scopes) };
    this.#cache.set(cacheKey, principal);
    return principal;
  }

  /** Forgets every cached key (of one tenant, when given). */
  invalidate(tenantId?: string): void {
    if (tenantId === undefined) {
      this.#cache.clear();
      return;
    }
    for (const [key, principal] of this.#cache.entries()) {
      if (principal.tenantId === tenantId) this.#cache.delete(key);
    }
  }
}
