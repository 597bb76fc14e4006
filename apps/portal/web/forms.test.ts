import { describe, expect, it } from "vitest";
import { parseHeaders, splitList, urlHint } from "./forms.js";

describe("the endpoint form's helpers", () => {
  it("splits event types on commas and spaces", () => {
    expect(splitList(" invoice.paid, user.*  order.created ")).toEqual([
      "invoice.paid",
      "user.*",
      "order.created",
    ]);
  });

  it("reads headers line by line and names a bad line", () => {
    expect(parseHeaders("X-A: 1\n\nX-B:two: parts")).toEqual({
      headers: { "X-A": "1", "X-B": "two: parts" },
    });
    expect(parseHeaders("no colon")).toEqual({ bad: "no colon" });
  });

  it("answers as a URL is typed", () => {
    expect(urlHint("")).toBeUndefined();
    expect(urlHint("https://")?.ok).toBe(false);
    expect(urlHint("ftp://x.example")?.ok).toBe(false);
    expect(urlHint("https://u:p@x.example")?.ok).toBe(false);
    expect(urlHint("https://192.168.1.4/h")?.text).toContain("private");
    expect(urlHint("http://x.example/h")?.ok).toBe(false);
    expect(urlHint("https://hooks.example.com/in")?.ok).toBe(true);
  });
});
