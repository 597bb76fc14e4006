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
