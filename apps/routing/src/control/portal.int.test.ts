import { setTimeout as sleep } from "node:timers/promises";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, RoutingUnderTest, statusOf } from "./routing.test-support.js";

let routing: RoutingUnderTest;
const admin = () => routing.admin();
const anonymous = () => routing.as(undefined);
let mine: string;
let theirs: string;
let second: string;

beforeAll(async () => {
  routing = await RoutingUnderTest.start();
  await admin().tenants.createTenant({ tenantId: "portal-a", name: "A" });
  await admin().tenants.createTenant({ tenantId: "portal-b", name: "B" });
  const create = async (tenantId: string) =>
    (await admin().endpoints.createEndpoint({ tenantId, url: "https://127.0.0.1:9/hook" })).endpoint?.id ??
    "";
  mine = await create("portal-a");
  second = await create("portal-a");
  theirs = await create("portal-b");
});

afterAll(async () => {
  await routing?.stop();
});

async function session(request: Parameters<ReturnType<typeof admin>["portal"]["createPortalLink"]>[0]) {
  const link = await admin().portal.createPortalLink(request);
  const exchanged = await anonymous().portal.exchangePortalLink({ code: link.code });
  return { link, exchanged, clients: routing.as(exchanged.token) };
}

describe("PortalService", () => {
  it("mints a one-time link that becomes a session of its tenant", async () => {
    const link = await admin().portal.createPortalLink({ tenantId: "portal-a" });
    expect(link.code).toMatch(/^hpl_[0-9a-f]{18}_[A-Za-z0-9_-]{43}$/);
    const stored = await (await routing.db())
      .collection("portal_links")
      .findOne({ _id: link.sessionId } as never);
    expect(JSON.stringify(stored)).not.toContain(link.code.slice(-43));

    const exchanged = await anonymous().portal.exchangePortalLink({ code: link.code });
    expect(exchanged).toMatchObject({ tenantId: "portal-a", readOnly: false, endpointIds: [] });
    expect(exchanged.token.startsWith(`hk_${link.sessionId}_`)).toBe(true);
    const key = routing.as(exchanged.token);
    const listed = await key.endpoints.listEndpoints({ tenantId: "portal-a" });
    expect(listed.endpoints.map((e) => e.id).sort()).toEqual([mine, second].sort());
    expect(await statusOf(key.tenants.getTenant({ tenantId: "portal-a" }))).toBe("OK");

    // One time only, also when sent again at once.
    expect((await failure(anonymous().portal.exchangePortalLink({ code: link.code }))).rawMessage).toMatch(
      /unknown, used or expired/,
    );
    // The session is an API key the platform can list and revoke.
    const keys = await admin().apiKeys.listApiKeys({ tenantId: "portal-a" });
    const listedKey = keys.apiKeys.find((k) => k.id === link.sessionId);
    expect(listedKey?.name).toBe("portal session");
    expect(listedKey?.expireTime).toBeDefined();
    await admin().apiKeys.revokeApiKey({ apiKeyId: link.sessionId });
    expect(await statusOf(key.endpoints.listEndpoints({ tenantId: "portal-a" }))).toBe("Unauthenticated");
  });

  it("exchanges a link once when two exchanges race", async () => {
    const link = await admin().portal.createPortalLink({ tenantId: "portal-a" });
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => anonymous().portal.exchangePortalLink({ code: link.code })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  it("refuses the other tenant's ids", async () => {
    const { clients } = await session({ tenantId: "portal-a" });
    expect(await statusOf(clients.endpoints.listEndpoints({ tenantId: "portal-b" }))).toBe(
      "PermissionDenied",
    );
    expect(await statusOf(clients.endpoints.getEndpoint({ tenantId: "portal-a", endpointId: theirs }))).toBe(
      "NotFound",
    );
    expect(await statusOf(clients.tenants.getTenant({ tenantId: "portal-b" }))).toBe("PermissionDenied");
    expect(await statusOf(clients.portal.createPortalLink({ tenantId: "portal-a" }))).toBe(
      "PermissionDenied",
    );
    expect(await statusOf(clients.apiKeys.listApiKeys({}))).toBe("PermissionDenied");
  });

  it("limits a session to its endpoints and, read-only, to reading", async () => {
    const { clients, exchanged } = await session({
      tenantId: "portal-a",
      endpointIds: [mine],
      readOnly: true,
    });
    expect(exchanged).toMatchObject({ endpointIds: [mine], readOnly: true });
    const listed = await clients.endpoints.listEndpoints({ tenantId: "portal-a" });
    expect(listed.endpoints.map((e) => e.id)).toEqual([mine]);
    expect(await statusOf(clients.endpoints.getEndpoint({ tenantId: "portal-a", endpointId: mine }))).toBe(
      "OK",
    );
    expect(await statusOf(clients.endpoints.getEndpoint({ tenantId: "portal-a", endpointId: second }))).toBe(
      "PermissionDenied",
    );
    for (const call of [
      clients.endpoints.disableEndpoint({ tenantId: "portal-a", endpointId: mine }),
      clients.endpoints.rotateSecret({ tenantId: "portal-a", endpointId: mine }),
      clients.endpoints.getEndpointSecret({ tenantId: "portal-a", endpointId: mine }),
      clients.endpoints.deleteEndpoint({ tenantId: "portal-a", endpointId: mine }),
      clients.endpoints.createEndpoint({ tenantId: "portal-a", url: "https://127.0.0.1:9/x" }),
    ]) {
      expect(await statusOf(call)).toBe("PermissionDenied");
    }
    const writer = await session({ tenantId: "portal-a", endpointIds: [mine] });
    expect(
      await statusOf(writer.clients.endpoints.disableEndpoint({ tenantId: "portal-a", endpointId: second })),
    ).toBe("PermissionDenied");
    expect(
      await statusOf(
        writer.clients.endpoints.createEndpoint({ tenantId: "portal-a", url: "https://127.0.0.1:9/x" }),
      ),
    ).toBe("PermissionDenied");
    expect(
      await statusOf(writer.clients.endpoints.getEndpointSecret({ tenantId: "portal-a", endpointId: mine })),
    ).toBe("OK");
  });

  it("ends a session when its time is up", async () => {
    const { clients } = await session({ tenantId: "portal-a", sessionTtl: durationFromMs(1_000) });
    expect(await statusOf(clients.endpoints.listEndpoints({ tenantId: "portal-a" }))).toBe("OK");
    await sleep(1_100);
    expect(await statusOf(clients.endpoints.listEndpoints({ tenantId: "portal-a" }))).toBe("Unauthenticated");
  });

  it("refuses an expired link, a wrong secret and bad requests", async () => {
    const link = await admin().portal.createPortalLink({
      tenantId: "portal-a",
      linkTtl: durationFromMs(1_000),
    });
    const forged = `${link.code.slice(0, -1)}${link.code.endsWith("A") ? "B" : "A"}`;
    expect(await statusOf(anonymous().portal.exchangePortalLink({ code: forged }))).toBe("Unauthenticated");
    await sleep(1_100);
    expect(await statusOf(anonymous().portal.exchangePortalLink({ code: link.code }))).toBe(
      "Unauthenticated",
    );
    expect(await statusOf(anonymous().portal.exchangePortalLink({ code: "nope" }))).toBe("InvalidArgument");
    expect(
      await statusOf(admin().portal.createPortalLink({ tenantId: "portal-a", endpointIds: [theirs] })),
    ).toBe("NotFound");
    expect(await statusOf(admin().portal.createPortalLink({ tenantId: "nobody" }))).toBe("NotFound");
    expect(
      await statusOf(
        admin().portal.createPortalLink({ tenantId: "portal-a", sessionTtl: durationFromMs(2 * 86_400_000) }),
      ),
    ).toBe("InvalidArgument");
    expect(await statusOf(anonymous().portal.createPortalLink({ tenantId: "portal-a" }))).toBe(
      "Unauthenticated",
    );
  });

  it("keeps the tenant's portal settings, checked", async () => {
    const portal = {
      frameAncestors: ["https://app.example.com"],
      brandColor: "#0a7d5a",
      logoUrl: "https://x.example/l.png",
    };
    const updated = await admin().tenants.updateTenant({ tenantId: "portal-b", settings: { portal } });
    expect(updated.tenant?.settings?.portal).toMatchObject(portal);
    for (const bad of [
      { frameAncestors: ["https://x.example/path"] },
      { brandColor: "red;" },
      { logoUrl: "javascript:alert(1)" },
    ]) {
      expect(
        await statusOf(admin().tenants.updateTenant({ tenantId: "portal-b", settings: { portal: bad } })),
      ).toBe("InvalidArgument");
    }
  });
});
