import { describe, expect, it } from "vitest";
import { encodePageToken, pageRequest, toPage } from "./pagination.js";

describe("pagination", () => {
  it("defaults to 50 and caps at 100", () => {
    expect(pageRequest(0, "")).toEqual({ size: 50 });
    expect(pageRequest(7, "")).toEqual({ size: 7 });
    expect(pageRequest(1_000, "")).toEqual({ size: 100 });
  });

  it("resumes after the id in the token", () => {
    expect(pageRequest(2, encodePageToken("ten_b"))).toEqual({ afterId: "ten_b", size: 2 });
  });

  it.each(["garbage!", "Zm9v", encodePageToken("").slice(0, -1), "YWZ0ZXI6"])(
    "refuses the token %j",
    (token) => {
      expect(() => pageRequest(0, token)).toThrow(/^page_token: is not a next_page_token/);
    },
  );

  it("returns a next token only when more items follow", () => {
    const items = [{ _id: "a" }, { _id: "b" }, { _id: "c" }];
    expect(toPage(items, 3)).toEqual({ items, nextPageToken: "" });
    const page = toPage(items, 2);
    expect(page.items).toEqual(items.slice(0, 2));
    expect(pageRequest(2, page.nextPageToken).afterId).toBe("b");
  });
});
