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

  it("words the URL policy's answer for the hint", () => {
    expect(urlHint({ state: "empty" }).ok).toBeUndefined();
    expect(urlHint({ state: "checking" }).ok).toBeUndefined();
    expect(urlHint({ state: "allowed" })).toEqual({ ok: true, text: "Herald may deliver to this URL." });
    expect(urlHint({ state: "refused", reason: 'url: host "10.0.0.1" is a private address' })).toEqual({
      ok: false,
      text: 'Refused: host "10.0.0.1" is a private address',
    });
    expect(urlHint({ state: "failed", reason: "unavailable" }).text).toContain("could not be checked");
  });
});
