import { create } from "@bufbuild/protobuf";
import { TenantSettingsSchema } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import { portalLinkUrl } from "./portal.js";
import { mergeSettings } from "./tenants.js";

describe("portalLinkUrl", () => {
  it("puts the tenant in the path and the code in the fragment", () => {
    expect(portalLinkUrl("https://portal.example.com/", "acme", "hpl_x_y")).toBe(
      "https://portal.example.com/t/acme/#code=hpl_x_y",
    );
  });
});

describe("mergeSettings", () => {
  const current = create(TenantSettingsSchema, {
    rateLimitPerSecond: 5,
    portal: { frameAncestors: ["https://a.example"], brandColor: "#112233", logoUrl: "" },
  });

  it("keeps the portal settings when another setting changes", () => {
    expect(mergeSettings(current, { rateLimit: 7 }).portal).toMatchObject({
      frameAncestors: ["https://a.example"],
      brandColor: "#112233",
    });
  });

  it("replaces frame ancestors from a comma-separated list, and clears them with an empty one", () => {
    expect(
      mergeSettings(current, { portalFrameAncestors: "https://b.example, https://c.example" }).portal
        ?.frameAncestors,
    ).toEqual(["https://b.example", "https://c.example"]);
    expect(mergeSettings(current, { portalFrameAncestors: "" }).portal?.frameAncestors).toEqual([]);
  });
});
