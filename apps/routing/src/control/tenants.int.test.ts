import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Scope } from "@herald/contracts";
import type { TenantDocument } from "@herald/platform/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { msToDuration } from "./fields.js";
import { failure, RoutingUnderTest, statusOf } from "./routing.test-support.js";

let routing: RoutingUnderTest;
const admin = () => routing.admin();

beforeAll(async () => {
  routing = await RoutingUnderTest.start();
});

afterAll(async () => {
  await routing?.stop();
});

async function tenantKey(tenantId: string, scopes: Scope[]): Promise<string> {
  const { token } = await admin().apiKeys.createApiKey({ name: "test", tenantId, scopes });
  return token;
}

describe("TenantService", () => {
  it("refuses calls without a valid API key", async () => {
    expect(await statusOf(routing.as(undefined).tenants.listTenants({}))).toBe("Unauthenticated");
    expect(await statusOf(routing.as("not-a-key").tenants.listTenants({}))).toBe("Unauthenticated");
    const unknown = `hk_${"0".repeat(18)}_${"A".repeat(43)}`;
    expect(await statusOf(routing.as(unknown).tenants.getTenant({ tenantId: "x" }))).toBe("Unauthenticated");
  });

  it("creates tenants with a generated or a chosen id, once", async () => {
    const { tenant } = await admin().tenants.createTenant({ name: "Generated" });
    expect(tenant?.id).toMatch(/^ten_[0-9a-f]{20}$/);
    expect(tenant?.disabled).toBe(false);
    expect(tenant?.createTime).toEqual(tenant?.updateTime);

    const chosen = await admin().tenants.createTenant({
      tenantId: "acme",
      name: "Acme",
      metadata: { plan: "gold" },
      settings: {
        rateLimitPerSecond: 50,
        maxPayloadBytes: 65_536,
        retrySchedule: { delays: [msToDuration(5_000), msToDuration(3_600_000)] },
      },
    });
    expect(chosen.tenant).toMatchObject({
      id: "acme",
      name: "Acme",
      metadata: { plan: "gold" },
      settings: { rateLimitPerSecond: 50, maxPayloadBytes: 65_536 },
    });
    expect(chosen.tenant?.settings?.retrySchedule?.delays.map((d) => Number(d.seconds))).toEqual([5, 3_600]);
    const stored = await (await routing.db()).collection("tenants").findOne({ _id: "acme" as never });
    expect(stored).toMatchObject({ settings: { retry_schedule_ms: [5_000, 3_600_000] }, disabled: false });

    const again = await failure(admin().tenants.createTenant({ tenantId: "acme", name: "Again" }));
    expect(again.code).toBe(Code.AlreadyExists);
    expect(again.rawMessage).toBe('tenant "acme" already exists');
  });

  it.each([
    ["name", { name: "" }, "name: required"],
    [
      "tenant_id",
      { tenantId: "no/slash", name: "x" },
      "tenant_id: must be 1-64 characters of a-z, A-Z, 0-9, _ or -",
    ],
    ["metadata", { name: "x", metadata: { "a.b": "c" } }, 'metadata["a.b"]: keys may not contain'],
    [
      "settings.max_payload_bytes",
      { name: "x", settings: { rateLimitPerSecond: 0, maxPayloadBytes: 2_000_000 } },
      "settings.max_payload_bytes: must be at most 1048576",
    ],
    [
      "settings.retry_schedule.delays[1]",
      {
        name: "x",
        settings: {
          rateLimitPerSecond: 0,
          maxPayloadBytes: 0,
          retrySchedule: { delays: [msToDuration(1_000), msToDuration(90_000_000)] },
        },
      },
      "settings.retry_schedule.delays[1]: must be between 1s and 24h",
    ],
  ])("refuses a bad %s with INVALID_ARGUMENT naming it", async (_, request, message) => {
    const err = await failure(admin().tenants.createTenant(request));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage.startsWith(message)).toBe(true);
  });

  it("gets a tenant for an admin and for the tenant's own key of any scope, not for others", async () => {
    await admin().tenants.createTenant({ tenantId: "getme", name: "Get me" });
    await admin().tenants.createTenant({ tenantId: "other", name: "Other" });
    expect((await admin().tenants.getTenant({ tenantId: "getme" })).tenant?.name).toBe("Get me");
    const auditor = await tenantKey("getme", [Scope.AUDIT_READ]);
    expect((await routing.as(auditor).tenants.getTenant({ tenantId: "getme" })).tenant?.id).toBe("getme");
    const denied = await failure(routing.as(auditor).tenants.getTenant({ tenantId: "other" }));
    expect(denied.code).toBe(Code.PermissionDenied);
    // A foreign key cannot tell a missing tenant from another's.
    const probing = await failure(routing.as(auditor).tenants.getTenant({ tenantId: "missing" }));
    expect(probing.rawMessage).toBe(denied.rawMessage.replace("other", "missing"));
    expect((await failure(admin().tenants.getTenant({ tenantId: "missing" }))).code).toBe(Code.NotFound);
    expect((await failure(admin().tenants.getTenant({ tenantId: "" }))).rawMessage).toBe(
      "tenant_id: required",
    );
  });

  it("refuses admin-only calls to tenant keys, whatever their scopes", async () => {
    await admin().tenants.createTenant({ tenantId: "scoped", name: "Scoped" });
    const key = routing.as(
      await tenantKey("scoped", [Scope.EVENTS_PUBLISH, Scope.ENDPOINTS_MANAGE, Scope.AUDIT_READ]),
    );
    expect(await statusOf(key.tenants.createTenant({ name: "x" }))).toBe("PermissionDenied");
    expect(await statusOf(key.tenants.listTenants({}))).toBe("PermissionDenied");
    expect(await statusOf(key.tenants.updateTenant({ tenantId: "scoped", name: "x" }))).toBe(
      "PermissionDenied",
    );
    expect(await statusOf(key.tenants.disableTenant({ tenantId: "scoped" }))).toBe("PermissionDenied");
    expect(await statusOf(key.tenants.enableTenant({ tenantId: "scoped" }))).toBe("PermissionDenied");
    expect(await statusOf(key.tenants.deleteTenant({ tenantId: "scoped" }))).toBe("PermissionDenied");
  });

  it("lists every tenant in id order, a page at a time", async () => {
    for (const id of ["page-c", "page-a", "page-b"])
      await admin().tenants.createTenant({ tenantId: id, name: id });
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await admin().tenants.listTenants({ pageSize: 2, pageToken });
      expect(page.tenants.length).toBeLessThanOrEqual(2);
      seen.push(...page.tenants.map((t) => t.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(["acme", "page-a", "page-b", "page-c"]));
    expect(new Set(seen).size).toBe(seen.length);
    const all = await admin().tenants.listTenants({});
    expect(all.tenants.map((t) => t.id)).toEqual(seen);
    expect(all.nextPageToken).toBe("");
    const bad = await failure(admin().tenants.listTenants({ pageToken: "bogus!" }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toMatch(/^page_token: /);
  });

  it("updates only the fields present", async () => {
    const { tenant: created } = await admin().tenants.createTenant({
      tenantId: "upd",
      name: "Before",
      metadata: { a: "1" },
      settings: { rateLimitPerSecond: 5, maxPayloadBytes: 1_000 },
    });
    const renamed = await admin().tenants.updateTenant({ tenantId: "upd", name: "After" });
    expect(renamed.tenant).toMatchObject({
      name: "After",
      metadata: { a: "1" },
      settings: { rateLimitPerSecond: 5 },
    });
    expect(renamed.tenant?.updateTime).not.toEqual(created?.updateTime);
    const relabelled = await admin().tenants.updateTenant({
      tenantId: "upd",
      metadata: { entries: { b: "2" } },
    });
    expect(relabelled.tenant).toMatchObject({ name: "After", metadata: { b: "2" } });
    const resettled = await admin().tenants.updateTenant({
      tenantId: "upd",
      settings: {
        rateLimitPerSecond: 0,
        maxPayloadBytes: 0,
        retrySchedule: { delays: [msToDuration(2_000)] },
      },
    });
    expect(resettled.tenant?.settings).toMatchObject({ rateLimitPerSecond: 0, maxPayloadBytes: 0 });
    expect(resettled.tenant?.metadata).toEqual({ b: "2" });

    expect((await failure(admin().tenants.updateTenant({ tenantId: "nope", name: "x" }))).code).toBe(
      Code.NotFound,
    );
    const invalid = await failure(admin().tenants.updateTenant({ tenantId: "upd", name: "" }));
    expect([invalid.code, invalid.rawMessage]).toEqual([Code.InvalidArgument, "name: required"]);
  });

  it("disables and enables a tenant", async () => {
    await admin().tenants.createTenant({ tenantId: "toggle", name: "Toggle" });
    expect((await admin().tenants.disableTenant({ tenantId: "toggle" })).tenant?.disabled).toBe(true);
    expect((await admin().tenants.getTenant({ tenantId: "toggle" })).tenant?.disabled).toBe(true);
    expect((await admin().tenants.enableTenant({ tenantId: "toggle" })).tenant?.disabled).toBe(false);
    expect(await statusOf(admin().tenants.disableTenant({ tenantId: "nope" }))).toBe("NotFound");
    expect(await statusOf(admin().tenants.enableTenant({ tenantId: "nope" }))).toBe("NotFound");
  });

  it("deletes a tenant with its endpoints and API keys; its keys stop working at once", async () => {
    await admin().tenants.createTenant({ tenantId: "doomed", name: "Doomed" });
    await admin().tenants.createTenant({ tenantId: "survivor", name: "Survivor" });
    const doomedKey = await tenantKey("doomed", [Scope.ENDPOINTS_MANAGE]);
    const survivorKey = await tenantKey("survivor", [Scope.ENDPOINTS_MANAGE]);
    const url = "http://127.0.0.1:9/hook";
    await routing.as(doomedKey).endpoints.createEndpoint({ tenantId: "doomed", url });
    await routing.as(survivorKey).endpoints.createEndpoint({ tenantId: "survivor", url });
    // Cached by the authenticator now.
    expect(await statusOf(routing.as(doomedKey).tenants.getTenant({ tenantId: "doomed" }))).toBe("OK");

    await admin().tenants.deleteTenant({ tenantId: "doomed" });

    expect(await statusOf(admin().tenants.getTenant({ tenantId: "doomed" }))).toBe("NotFound");
    expect(await statusOf(routing.as(doomedKey).tenants.getTenant({ tenantId: "doomed" }))).toBe(
      "Unauthenticated",
    );
    const db = await routing.db();
    expect(await db.collection("endpoints").countDocuments({ tenant_id: "doomed" })).toBe(0);
    expect(await db.collection("api_keys").countDocuments({ tenant_id: "doomed" })).toBe(0);
    expect(await db.collection("endpoints").countDocuments({ tenant_id: "survivor" })).toBe(1);
    expect(await statusOf(routing.as(survivorKey).tenants.getTenant({ tenantId: "survivor" }))).toBe("OK");
    // Deleting again while the purge runs is a no-op that succeeds; an unknown id is not found.
    expect(await statusOf(admin().tenants.deleteTenant({ tenantId: "doomed" }))).toBe("OK");
    expect(await statusOf(admin().tenants.deleteTenant({ tenantId: "never" }))).toBe("NotFound");
  });

  it("hides a tenant being deleted and refuses its id until the purge has removed it", async () => {
    await admin().tenants.createTenant({ tenantId: "reused", name: "First" });
    await admin().tenants.deleteTenant({ tenantId: "reused" });

    const again = await failure(admin().tenants.createTenant({ tenantId: "reused", name: "Second" }));
    expect(again.code).toBe(Code.FailedPrecondition);
    expect(again.rawMessage).toMatch(/tenant "reused" was deleted and its data is still being purged/);
    const listed = (await admin().tenants.listTenants({ pageSize: 100 })).tenants.map((t) => t.id);
    expect(listed).not.toContain("reused");
    expect(await statusOf(admin().tenants.updateTenant({ tenantId: "reused", name: "x" }))).toBe("NotFound");
    expect(await statusOf(admin().tenants.enableTenant({ tenantId: "reused" }))).toBe("NotFound");
    expect(
      await statusOf(admin().endpoints.createEndpoint({ tenantId: "reused", url: "http://127.0.0.1:9/h" })),
    ).toBe("NotFound");
    expect(
      await statusOf(
        admin().apiKeys.createApiKey({ name: "k", tenantId: "reused", scopes: [Scope.EVENTS_PUBLISH] }),
      ),
    ).toBe("NotFound");
    // A taken id is still ALREADY_EXISTS.
    await admin().tenants.createTenant({ tenantId: "taken", name: "Taken" });
    expect(await statusOf(admin().tenants.createTenant({ tenantId: "taken", name: "x" }))).toBe(
      "AlreadyExists",
    );

    // The purge (audit's, tested in apps/audit) marks the tombstone purged last; then the id is free,
    // and the new tenant replaces the tombstone.
    const db = await routing.db();
    const tenants = db.collection<TenantDocument>("tenants");
    expect(await tenants.findOne({ _id: "reused" })).toMatchObject({
      delete_time: expect.any(Date),
      disabled: true,
    });
    expect(await statusOf(admin().tenants.deleteTenant({ tenantId: "reused" }))).toBe("OK");
    await tenants.updateOne({ _id: "reused" }, { $set: { purge_time: new Date() } });
    expect(await statusOf(admin().tenants.getTenant({ tenantId: "reused" }))).toBe("NotFound");
    expect(await statusOf(admin().tenants.deleteTenant({ tenantId: "reused" }))).toBe("NotFound");
    const created = await admin().tenants.createTenant({ tenantId: "reused", name: "Second" });
    expect(created.tenant).toMatchObject({ id: "reused", name: "Second", disabled: false });
    const stored = await tenants.findOne({ _id: "reused" });
    expect(stored?.delete_time).toBeUndefined();
    expect(stored?.purge_time).toBeUndefined();
    expect(await statusOf(admin().tenants.createTenant({ tenantId: "reused", name: "Third" }))).toBe(
      "AlreadyExists",
    );
  });

  it("answers a stock @grpc/grpc-js client", async () => {
    const protoDir = fileURLToPath(new URL("../../../../proto", import.meta.url));
    const definition = protoLoader.loadSync("herald/v1/tenant.proto", {
      includeDirs: [protoDir],
      keepCase: true,
      longs: String,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      herald: { v1: { TenantService: grpc.ServiceClientConstructor } };
    };
    const client = new loaded.herald.v1.TenantService(
      `127.0.0.1:${routing.port()}`,
      grpc.credentials.createInsecure(),
    );
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${routing.env.HERALD_ADMIN_KEY}`);
    type TenantReply = { tenant: { id: string; name: string } };
    type UnaryCall = (
      request: object,
      metadata: grpc.Metadata,
      callback: (err: grpc.ServiceError | null, reply: TenantReply) => void,
    ) => void;
    const call = (method: string, request: object) =>
      new Promise<TenantReply>((resolve, reject) => {
        const rpc = (client as unknown as Record<string, UnaryCall>)[method] as UnaryCall;
        rpc.call(client, request, metadata, (err, reply) => (err ? reject(err) : resolve(reply)));
      });
    try {
      const created = await call("CreateTenant", { tenant_id: "grpc-js", name: "Stock client" });
      expect(created.tenant).toMatchObject({ id: "grpc-js", name: "Stock client" });
      const missing = await call("GetTenant", { tenant_id: "nope" }).catch((err: grpc.ServiceError) => err);
      expect((missing as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });
});
