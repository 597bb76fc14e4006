import type { EndpointDocument } from "@herald/platform/model";
import { describe, expect, it, vi } from "vitest";
import { expireIdleListenEndpoints } from "./listen-expiry.js";

const endpoint = (id: string) => ({ _id: id, tenant_id: "acme" }) as EndpointDocument;

describe("expireIdleListenEndpoints", () => {
  it("deletes the endpoints idle past the expiry and announces each, skipping one a stream took meanwhile", async () => {
    const idleListenEndpoints = vi.fn(async () => [endpoint("ep_1"), endpoint("ep_2")]);
    const deleteIdleListen = vi.fn(async (e: EndpointDocument) => e._id === "ep_1");
    const announce = vi.fn(async () => undefined);
    const deleted = await expireIdleListenEndpoints({
      endpoints: { idleListenEndpoints, deleteIdleListen },
      expiryMs: 60_000,
      announce,
      now: () => 1_000_000,
    });
    expect(deleted).toBe(1);
    expect(idleListenEndpoints).toHaveBeenCalledWith(new Date(940_000), 100);
    expect(deleteIdleListen).toHaveBeenCalledWith(endpoint("ep_2"), new Date(940_000));
    expect(announce.mock.calls).toEqual([[endpoint("ep_1")]]);
  });
});
