import { Code } from "@connectrpc/connect";
import { Scope } from "@herald/contracts";
import { type ApiKeyDocument, hashApiKeySecret } from "@herald/platform/model";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { failure, RoutingUnderTest, statusOf } from "./routing.test-support.js";

let routing: RoutingUnderTest;
const admin = () => routing.admin("grpc-web");

beforeAll(async () => {
  routing = await RoutingUnderTest.start();
  await admin().tenants.createTenant({ tenantId: "keyed", name: "Keyed" });
  await admin().tenants.createTenant({ tenantId: "other", name: "Other" });
});

afterAll(async () => {
  await routing?.stop();
});

describe("ApiKeyService", () => {
  it("creates a tenant key whose token is shown once and stored only as a hash", async () => {
    const { apiKey, token } = await admin().apiKeys.createApiKey({
      name: "publisher",
      tenantId: "keyed",
      scopes: [Scope.EVENTS_PUBLISH, Scope.ENDPOINTS_MANAGE],
    });
    expect(token).toMatch(/^hk_[0-9a-f]{18}_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({
      name: "publisher",
      tenantId: "keyed",
      scopes: [Scope.EVENTS_PUBLISH, Scope.ENDPOINTS_MANAGE],
      revoked: false,
    });
    expect(token.startsWith(`hk_${apiKey?.id}_`)).toBe(true);
    const stored = await (await routing.db())
      .collection<ApiKeyDocument>("api_keys")
      .findOne({ _id: apiKey?.id ?? "" });
    expect(stored?.secret_hash).toBe(hashApiKeySecret(token.split("_").slice(2).join("_")));
    expect(JSON.stringify(stored)).not.toContain(token.slice(-43));
    // The token works, within its tenant and scopes.
    const key = routing.as(token);
    expect(await statusOf(key.endpoints.listEndpoints({ tenantId: "keyed" }))).toBe("OK");
    expect(await statusOf(key.endpoints.listEndpoints({ tenantId: "other" }))).toBe("PermissionDenied");
  });

  it("creates admin keys that act on every tenant", async () => {
    const { apiKey, token } = await admin().apiKeys.createApiKey({ name: "ops", scopes: [Scope.ADMIN] });
    expect(apiKey).toMatchObject({ tenantId: "", scopes: [Scope.ADMIN] });
    const ops = routing.as(token);
    expect(await statusOf(ops.tenants.listTenants({}))).toBe("OK");
    expect(
      await statusOf(ops.apiKeys.createApiKey({ name: "x", tenantId: "other", scopes: [Scope.AUDIT_READ] })),
    ).toBe("OK");
  });

  it.each([
    ["name", { name: "", scopes: [Scope.ADMIN] }, "name: required"],
    ["scopes", { name: "k", tenantId: "keyed", scopes: [] }, "scopes: required"],
    [
      "scopes",
      { name: "k", tenantId: "keyed", scopes: [Scope.ADMIN] },
      "scopes: SCOPE_ADMIN must be the only scope",
    ],
    [
      "scopes[1]",
      { name: "k", tenantId: "keyed", scopes: [Scope.AUDIT_READ, Scope.UNSPECIFIED] },
      "scopes[1]: ",
    ],
    ["tenant_id", { name: "k", scopes: [Scope.AUDIT_READ] }, "tenant_id: required"],
  ])("refuses a bad %s with INVALID_ARGUMENT naming it", async (_, request, message) => {
    const err = await failure(admin().apiKeys.createApiKey(request));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage.startsWith(message)).toBe(true);
  });

  it("refuses a key for an unknown tenant with NOT_FOUND", async () => {
    const err = await failure(
      admin().apiKeys.createApiKey({ name: "k", tenantId: "ghost", scopes: [Scope.AUDIT_READ] }),
    );
    expect([err.code, err.rawMessage]).toEqual([Code.NotFound, 'tenant "ghost" not found']);
  });

  it("lists keys, all or of one tenant, a page at a time, without secrets", async () => {
    for (let i = 0; i < 3; i++) {
      await admin().apiKeys.createApiKey({
        name: `lister-${i}`,
        tenantId: "other",
        scopes: [Scope.AUDIT_READ],
      });
    }
    const ofOther: string[] = [];
    let pageToken = "";
    do {
      const page = await admin().apiKeys.listApiKeys({ tenantId: "other", pageSize: 2, pageToken });
      expect(page.apiKeys.every((k) => k.tenantId === "other")).toBe(true);
      ofOther.push(...page.apiKeys.map((k) => k.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(ofOther.length).toBeGreaterThanOrEqual(3);
    expect(ofOther).toEqual([...ofOther].sort());
    const all = await admin().apiKeys.listApiKeys({});
    expect(all.apiKeys.map((k) => k.tenantId)).toEqual(expect.arrayContaining(["", "keyed", "other"]));
    expect(all.apiKeys.length).toBeGreaterThan(ofOther.length);
    const bad = await failure(admin().apiKeys.listApiKeys({ tenantId: "no spaces" }));
    expect(bad.rawMessage).toMatch(/^tenant_id: /);
  });

  it("refuses every key call to tenant keys", async () => {
    const { token } = await admin().apiKeys.createApiKey({
      name: "all scopes",
      tenantId: "keyed",
      scopes: [Scope.EVENTS_PUBLISH, Scope.ENDPOINTS_MANAGE, Scope.AUDIT_READ],
    });
    const tenantKey = routing.as(token).apiKeys;
    expect(
      await statusOf(tenantKey.createApiKey({ name: "x", tenantId: "keyed", scopes: [Scope.AUDIT_READ] })),
    ).toBe("PermissionDenied");
    expect(await statusOf(tenantKey.listApiKeys({ tenantId: "keyed" }))).toBe("PermissionDenied");
    expect(await statusOf(tenantKey.revokeApiKey({ apiKeyId: "whatever" }))).toBe("PermissionDenied");
    expect(await statusOf(routing.as(undefined).apiKeys.listApiKeys({}))).toBe("Unauthenticated");
  });

  it("refuses a token that names a real key with another secret, even while that key is cached", async () => {
    const { token } = await admin().apiKeys.createApiKey({
      name: "real",
      tenantId: "keyed",
      scopes: [Scope.ENDPOINTS_MANAGE],
    });
    expect(await statusOf(routing.as(token).endpoints.listEndpoints({ tenantId: "keyed" }))).toBe("OK");
    const secret = token.slice(-43);
    const forged = token.slice(0, -43) + (secret[0] === "A" ? "B" : "A") + secret.slice(1);
    const err = await failure(routing.as(forged).endpoints.listEndpoints({ tenantId: "keyed" }));
    expect([err.code, err.rawMessage]).toEqual([Code.Unauthenticated, "invalid or revoked API key"]);
    expect(await statusOf(routing.as(token).endpoints.listEndpoints({ tenantId: "keyed" }))).toBe("OK");
  });

  it("revokes a key with immediate effect, also on another instance", async () => {
    const second = await routing.startInstance();
    const { apiKey, token } = await admin().apiKeys.createApiKey({
      name: "to revoke",
      tenantId: "keyed",
      scopes: [Scope.ENDPOINTS_MANAGE],
    });
    const here = routing.as(token).endpoints;
    const there = routing.as(token, "connect", second).endpoints;
    // Both instances have the key cached now.
    expect(await statusOf(here.listEndpoints({ tenantId: "keyed" }))).toBe("OK");
    expect(await statusOf(there.listEndpoints({ tenantId: "keyed" }))).toBe("OK");

    const revoked = await admin().apiKeys.revokeApiKey({ apiKeyId: apiKey?.id ?? "" });
    expect(revoked.apiKey).toMatchObject({ id: apiKey?.id, revoked: true });

    const err = await failure(here.listEndpoints({ tenantId: "keyed" }));
    expect([err.code, err.rawMessage]).toEqual([Code.Unauthenticated, "invalid or revoked API key"]);
    // Through the control notification, well before the authenticator's 10 s cache expiry.
    const startedAt = Date.now();
    await vi.waitFor(
      async () => expect(await statusOf(there.listEndpoints({ tenantId: "keyed" }))).toBe("Unauthenticated"),
      { timeout: 3_000, interval: 50 },
    );
    expect(Date.now() - startedAt).toBeLessThan(3_000);

    expect((await admin().apiKeys.revokeApiKey({ apiKeyId: apiKey?.id ?? "" })).apiKey?.revoked).toBe(true);
    const listed = await admin().apiKeys.listApiKeys({ tenantId: "keyed" });
    expect(listed.apiKeys.find((k) => k.id === apiKey?.id)?.revoked).toBe(true);
  });

  it("revokes admin keys too", async () => {
    const { apiKey, token } = await admin().apiKeys.createApiKey({
      name: "temp admin",
      scopes: [Scope.ADMIN],
    });
    expect(await statusOf(routing.as(token).tenants.listTenants({}))).toBe("OK");
    await admin().apiKeys.revokeApiKey({ apiKeyId: apiKey?.id ?? "" });
    expect(await statusOf(routing.as(token).tenants.listTenants({}))).toBe("Unauthenticated");
  });

  it("answers NOT_FOUND for an unknown key and INVALID_ARGUMENT for none", async () => {
    const unknown = await failure(admin().apiKeys.revokeApiKey({ apiKeyId: "nope" }));
    expect([unknown.code, unknown.rawMessage]).toEqual([Code.NotFound, 'API key "nope" not found']);
    const missing = await failure(admin().apiKeys.revokeApiKey({ apiKeyId: "" }));
    expect([missing.code, missing.rawMessage]).toEqual([Code.InvalidArgument, "api_key_id: required"]);
  });
});
