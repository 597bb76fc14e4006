import { describe, expect, it } from "vitest";
import { collectPages, type Page } from "./pages.js";

/** A server listing 0..total-1 with tokens that are the next offset. */
function server(total: number, serverMax = 100) {
  const calls: Array<{ pageSize: number; pageToken: string }> = [];
  const fetch = async (pageSize: number, pageToken: string): Promise<Page<number>> => {
    calls.push({ pageSize, pageToken });
    const from = pageToken === "" ? 0 : Number(pageToken);
    const size = Math.min(pageSize === 0 ? 50 : pageSize, serverMax);
    const items = Array.from({ length: Math.max(0, Math.min(size, total - from)) }, (_, i) => from + i);
    const next = from + items.length;
    return { items, nextPageToken: next < total ? String(next) : "" };
  };
  return { calls, fetch };
}

describe("collectPages", () => {
  it("follows next_page_token to the end without a limit", async () => {
    const { calls, fetch } = server(250);
    const page = await collectPages(fetch);
    expect(page.items).toHaveLength(250);
    expect(page.items.at(-1)).toBe(249);
    expect(page.nextPageToken).toBe("");
    expect(calls.map((c) => c.pageToken)).toEqual(["", "100", "200"]);
  });

  it("stops at the limit, asks for no more than it needs and returns the token to go on", async () => {
    const { calls, fetch } = server(500, 200);
    const page = await collectPages(fetch, { limit: 250, maxPageSize: 200 });
    expect(page.items).toHaveLength(250);
    expect(calls.map((c) => c.pageSize)).toEqual([200, 50]);
    expect(page.nextPageToken).toBe("250");
  });

  it("returns an empty token when the list ended exactly at the limit", async () => {
    const { fetch } = server(20);
    const page = await collectPages(fetch, { limit: 20 });
    expect(page.items).toHaveLength(20);
    expect(page.nextPageToken).toBe("");
  });

  it("cuts a page larger than asked for", async () => {
    const page = await collectPages(async () => ({ items: [1, 2, 3, 4], nextPageToken: "x" }), { limit: 2 });
    expect(page).toEqual({ items: [1, 2], nextPageToken: "x" });
  });

  it("stops on an empty page that still has a token", async () => {
    let calls = 0;
    const page = await collectPages(async () => {
      calls += 1;
      return { items: [], nextPageToken: "again" };
    });
    expect(calls).toBe(1);
    expect(page.items).toEqual([]);
  });
});
