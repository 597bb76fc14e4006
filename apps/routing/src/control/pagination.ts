import { InvalidArgumentError } from "@herald/platform";

// Lists are sorted by _id and resumed after the last id of the previous page, so pages stay consistent
// while objects are added or removed. The token is opaque to callers so its format may change.

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

/** Where a page starts and how long it is. */
export interface PageRequest {
  /** Only ids greater than this; unset for the first page. */
  afterId?: string;
  size: number;
}

const TOKEN_PREFIX = "after:";

export function encodePageToken(lastId: string): string {
  return Buffer.from(TOKEN_PREFIX + lastId, "utf8").toString("base64url");
}

/** The page a request asks for: size 0 means 50, more than 100 means 100 (AIP-158). */
export function pageRequest(pageSize: number, pageToken: string): PageRequest {
  const size = pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(pageSize, MAX_PAGE_SIZE);
  if (pageToken === "") return { size };
  const decoded = /^[A-Za-z0-9_-]+$/.test(pageToken)
    ? Buffer.from(pageToken, "base64url").toString("utf8")
    : "";
  if (!decoded.startsWith(TOKEN_PREFIX) || decoded.length === TOKEN_PREFIX.length) {
    throw new InvalidArgumentError("page_token", "is not a next_page_token from an earlier response");
  }
  return { afterId: decoded.slice(TOKEN_PREFIX.length), size };
}

/** One page of results; `nextPageToken` is empty on the last page. */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/**
 * Turns up to `size + 1` items read in id order into a page: the extra item only tells that another
 * page follows.
 */
export function toPage<T extends { _id: string }>(items: T[], size: number): Page<T> {
  if (items.length <= size) return { items, nextPageToken: "" };
  const page = items.slice(0, size);
  return { items: page, nextPageToken: encodePageToken((page[page.length - 1] as T)._id) };
}
