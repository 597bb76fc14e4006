import { createHash } from "node:crypto";
import { InvalidArgumentError } from "@herald/platform";

/** Where a page ended: the sort key (time, id) of its last item. */
export interface PageCursor {
  time: Date;
  id: string;
}

interface TokenBody {
  /** Time in ms since the epoch. */
  t: number;
  i: string;
  /** Fingerprint of the query the token belongs to. */
  q: string;
}

/**
 * A short digest of a query's filters. A page token carries it, so a token cannot be replayed against
 * a different query, where it would silently skip or repeat items.
 */
export function queryFingerprint(parts: readonly unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 16);
}

/** The opaque token of the page after `cursor`. */
export function encodePageToken(cursor: PageCursor, fingerprint: string): string {
  const body: TokenBody = { t: cursor.time.getTime(), i: cursor.id, q: fingerprint };
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

/** Reads a token made by {@link encodePageToken} for the same query; INVALID_ARGUMENT otherwise. */
export function decodePageToken(token: string, fingerprint: string): PageCursor {
  let body: Partial<TokenBody> | null;
  try {
    body = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Partial<TokenBody> | null;
  } catch {
    throw new InvalidArgumentError("page_token", "malformed; pass next_page_token of the previous page");
  }
  if (
    typeof body !== "object" ||
    body === null ||
    typeof body.t !== "number" ||
    !Number.isFinite(body.t) ||
    typeof body.i !== "string" ||
    typeof body.q !== "string"
  ) {
    throw new InvalidArgumentError("page_token", "malformed; pass next_page_token of the previous page");
  }
  if (body.q !== fingerprint) {
    throw new InvalidArgumentError("page_token", "belongs to a query with other filters");
  }
  return { time: new Date(body.t), id: body.i };
}
