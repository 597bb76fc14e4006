import { randomBytes } from "node:crypto";
import { Scope } from "@herald/contracts";
import { InvalidArgumentError } from "@herald/platform";
import {
  type ApiKeyDocument,
  Collections,
  hashApiKeySecret,
  newApiKeyId,
  safeEqual,
} from "@herald/platform/model";
import type { Collection, Db } from "mongodb";

/** A one-time portal link as stored in `portal_links`: the code's secret only as a hash. */
export interface PortalLinkDocument {
  /** Also the id of the session's API key, so exchanging the link twice inserts that key twice: refused. */
  _id: string;
  tenant_id: string;
  secret_hash: string;
  /** Empty: every endpoint of the tenant. */
  endpoint_ids: string[];
  read_only: boolean;
  session_ttl_ms: number;
  expire_time: Date;
  create_time: Date;
}

export const DEFAULT_SESSION_TTL_MS = 60 * 60_000;
export const MAX_SESSION_TTL_MS = 24 * 60 * 60_000;
export const DEFAULT_LINK_TTL_MS = 10 * 60_000;
export const MAX_LINK_TTL_MS = 24 * 60 * 60_000;
export const MAX_SESSION_ENDPOINTS = 100;

const CODE_PREFIX = "hpl_";

/** A freshly minted link: `code` is shown once; the document keeps its hash. */
export function mintPortalLink(input: Omit<PortalLinkDocument, "_id" | "secret_hash">): {
  code: string;
  link: PortalLinkDocument;
} {
  const id = newApiKeyId();
  const secret = randomBytes(32).toString("base64url");
  return {
    code: `${CODE_PREFIX}${id}_${secret}`,
    link: { _id: id, secret_hash: hashApiKeySecret(secret), ...input },
  };
}

/** Splits a link code into id and secret; a malformed code is INVALID_ARGUMENT. */
export function parsePortalLinkCode(code: string): { id: string; secret: string } {
  const match = /^hpl_([0-9a-f]{18})_([A-Za-z0-9_-]{43})$/.exec(code);
  if (!match) throw new InvalidArgumentError("code", "is not a portal link code");
  return { id: match[1] as string, secret: match[2] as string };
}

/** Whether `secret` is the link's. */
export function linkSecretMatches(link: PortalLinkDocument, secret: string): boolean {
  return safeEqual(link.secret_hash, hashApiKeySecret(secret));
}

/**
 * The session a link becomes: an API key of the link's tenant with the portal's scopes, an expiry, and
 * the link's endpoint and read-only limits, which every handler enforces (authorizeEndpoint, authorizeWrite).
 */
export function sessionKeyOf(link: PortalLinkDocument, secretHash: string, now: Date): ApiKeyDocument {
  const key: ApiKeyDocument = {
    _id: link._id,
    name: "portal session",
    tenant_id: link.tenant_id,
    scopes: [Scope.ENDPOINTS_MANAGE, Scope.AUDIT_READ],
    secret_hash: secretHash,
    revoked: false,
    create_time: now,
    expire_time: new Date(now.getTime() + link.session_ttl_ms),
  };
  if (link.endpoint_ids.length > 0) key.endpoint_ids = link.endpoint_ids;
  if (link.read_only) key.read_only = true;
  return key;
}

/** The `portal_links` collection. */
export class PortalLinkStore {
  readonly #links: Collection<PortalLinkDocument>;

  constructor(db: Db) {
    this.#links = db.collection<PortalLinkDocument>(Collections.portalLinks);
  }

  async insert(link: PortalLinkDocument): Promise<void> {
    await this.#links.insertOne(link);
  }

  async find(id: string): Promise<PortalLinkDocument | null> {
    return this.#links.findOne({ _id: id });
  }

  /** Drops a link once used, and every link that expired before `now` (they can never be used). */
  async forget(id: string, now: Date): Promise<void> {
    await this.#links.deleteMany({ $or: [{ _id: id }, { expire_time: { $lte: now } }] });
  }
}
