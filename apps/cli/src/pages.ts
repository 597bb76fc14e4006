import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { Context } from "./context.js";

/** One page of a list call: its items and the token of the next page ("" on the last). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** The API's largest page for the control plane; audit allows 200. */
export const MAX_PAGE_SIZE = 100;

/**
 * Follows `next_page_token` until the list ends or `limit` items arrived. Each request asks for no more
 * than is still wanted, up to `maxPageSize`. Returns the items and the token to continue from ("" when
 * the list ended), so `--json` output can say there is more.
 */
export async function collectPages<T>(
  fetchPage: (pageSize: number, pageToken: string) => Promise<Page<T>>,
  options: { limit?: number; maxPageSize?: number } = {},
): Promise<Page<T>> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const maxPageSize = options.maxPageSize ?? MAX_PAGE_SIZE;
  const items: T[] = [];
  let token = "";
  do {
    const pageSize = Math.min(maxPageSize, limit - items.length);
    const page = await fetchPage(pageSize, token);
    items.push(...page.items.slice(0, limit - items.length));
    token = page.nextPageToken;
    // A server that returns an empty page with a token would loop forever; stop instead.
    if (page.items.length === 0) break;
  } while (token !== "" && items.length < limit);
  return { items, nextPageToken: items.length >= limit ? token : "" };
}

/** A list command's call and its two ways of printing what it collected. */
export interface ListPrinting<Desc extends DescMessage, Res extends { nextPageToken: string }, T> {
  /** One page of the list call. */
  call: (paging: { pageSize: number; pageToken: string }) => Promise<Res>;
  items: (res: Res) => T[];
  /** At most this many items (a `--limit`); unset: the whole list. */
  limit?: number;
  maxPageSize?: number;
  /** The response message printed with `--json`. */
  schema: Desc;
  response: (page: Page<T>) => MessageShape<Desc>;
  /** The text printed otherwise: `empty` for no items, else their `rows`. */
  empty: string;
  rows: (items: T[]) => string;
}

/**
 * Collects a list's pages ({@link collectPages}) and prints them; a list cut at its limit is noted
 * outside `--json` (whose response carries the token to continue from).
 */
export async function printList<Desc extends DescMessage, Res extends { nextPageToken: string }, T>(
  ctx: Context,
  list: ListPrinting<Desc, Res, T>,
): Promise<void> {
  const page = await collectPages(
    async (pageSize, pageToken) => {
      const res = await list.call({ pageSize, pageToken });
      return { items: list.items(res), nextPageToken: res.nextPageToken };
    },
    { limit: list.limit, maxPageSize: list.maxPageSize },
  );
  ctx.output(list.schema, list.response(page), () =>
    page.items.length === 0 ? list.empty : list.rows(page.items),
  );
  if (!ctx.json && page.nextPageToken !== "") ctx.note(`(more than ${list.limit}; raise --limit)`);
}
