import { Code } from "@connectrpc/connect";
import { Scope } from "@herald/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { msToDuration } from "./fields.js";
import { type ControlPlaneClients, failure, RoutingUnderTest } from "./routing.test-support.js";

// A key of tenant A holding every tenant scope, tried against every RPC that names tenant B or one of
// B's objects. It must be refused every time, and B must be exactly as before.

let routing: RoutingUnderTest;
/** Tenant A's key, over gRPC. */
let alice: ControlPlaneClients;
let aliceEndpointId = "";
let bobEndpointId = "";
let bobKeyId = "";
const A = "tenant-a";
const B = "tenant-b";
const url = "http://127.0.0.1:8080/hook";

beforeAll(async () => {
  routing = await RoutingUnderTest.start();
  const admin = routing.admin();
  for (const tenantId of [A, B]) await admin.tenants.createTenant({ tenantId, name: tenantId });
  const allScopes = [Scope.EVENTS_PUBLISH, Scope.ENDPOINTS_MANAGE, Scope.AUDIT_READ];
  const { token } = await admin.apiKeys.createApiKey({ name: "alice", tenantId: A, scopes: allScopes });
  alice = routing.as(token, "grpc");
  bobKeyId =
    (await admin.apiKeys.createApiKey({ name: "bob", tenantId: B, scopes: allScopes })).apiKey?.id ?? "";
  aliceEndpointId = (await alice.endpoints.createEndpoint({ tenantId: A, url })).endpoint?.id ?? "";
  bobEndpointId =
    (await admin.endpoints.createEndpoint({ tenantId: B, url, description: "bob's" })).endpoint?.id ?? "";
  await admin.eventTypes.createEventType({ tenantId: B, name: "bob.type", description: "bob's" });
});

afterAll(async () => {
  await routing?.stop();
});

type Row = [rpc: string, call: (c: ControlPlaneClients) => Promise<unknown>, refusal: Code];

const denied = Code.PermissionDenied;
const notFound = Code.NotFound;
const bob = () => ({ tenantId: B, endpointId: bobEndpointId });
/** Names A's own tenant, but B's endpoint. */
const bobsEndpointUnderA = () => ({ tenantId: A, endpointId: bobEndpointId });

const rows: Row[] = [
  ["TenantService.CreateTenant", (c) => c.tenants.createTenant({ tenantId: "tenant-c", name: "C" }), denied],
  ["TenantService.GetTenant", (c) => c.tenants.getTenant({ tenantId: B }), denied],
  ["TenantService.ListTenants", (c) => c.tenants.listTenants({}), denied],
  ["TenantService.UpdateTenant", (c) => c.tenants.updateTenant({ tenantId: B, name: "pwned" }), denied],
  ["TenantService.DisableTenant", (c) => c.tenants.disableTenant({ tenantId: B }), denied],
  ["TenantService.EnableTenant", (c) => c.tenants.enableTenant({ tenantId: B }), denied],
  ["TenantService.DeleteTenant", (c) => c.tenants.deleteTenant({ tenantId: B }), denied],
  ["EndpointService.CreateEndpoint", (c) => c.endpoints.createEndpoint({ tenantId: B, url }), denied],
  ["EndpointService.GetEndpoint", (c) => c.endpoints.getEndpoint(bob()), denied],
  ["EndpointService.ListEndpoints", (c) => c.endpoints.listEndpoints({ tenantId: B }), denied],
  [
    "EndpointService.UpdateEndpoint",
    (c) => c.endpoints.updateEndpoint({ ...bob(), url: "http://localhost:1/" }),
    denied,
  ],
  ["EndpointService.DeleteEndpoint", (c) => c.endpoints.deleteEndpoint(bob()), denied],
  ["EndpointService.EnableEndpoint", (c) => c.endpoints.enableEndpoint(bob()), denied],
  ["EndpointService.DisableEndpoint", (c) => c.endpoints.disableEndpoint(bob()), denied],
  [
    "EndpointService.RotateSecret",
    (c) => c.endpoints.rotateSecret({ ...bob(), overlap: msToDuration(0) }),
    denied,
  ],
  ["EndpointService.GetEndpointSecret", (c) => c.endpoints.getEndpointSecret(bob()), denied],
  [
    "EndpointService.GetEndpoint (B's endpoint under A)",
    (c) => c.endpoints.getEndpoint(bobsEndpointUnderA()),
    notFound,
  ],
  [
    "EndpointService.UpdateEndpoint (B's endpoint under A)",
    (c) => c.endpoints.updateEndpoint({ ...bobsEndpointUnderA(), description: "pwned" }),
    notFound,
  ],
  [
    "EndpointService.DeleteEndpoint (B's endpoint under A)",
    (c) => c.endpoints.deleteEndpoint(bobsEndpointUnderA()),
    notFound,
  ],
  [
    "EndpointService.EnableEndpoint (B's endpoint under A)",
    (c) => c.endpoints.enableEndpoint(bobsEndpointUnderA()),
    notFound,
  ],
  [
    "EndpointService.DisableEndpoint (B's endpoint under A)",
    (c) => c.endpoints.disableEndpoint(bobsEndpointUnderA()),
    notFound,
  ],
  [
    "EndpointService.RotateSecret (B's endpoint under A)",
    (c) => c.endpoints.rotateSecret({ ...bobsEndpointUnderA(), overlap: msToDuration(0) }),
    notFound,
  ],
  [
    "EndpointService.GetEndpointSecret (B's endpoint under A)",
    (c) => c.endpoints.getEndpointSecret(bobsEndpointUnderA()),
    notFound,
  ],
  [
    "ApiKeyService.CreateApiKey",
    (c) => c.apiKeys.createApiKey({ name: "x", tenantId: B, scopes: [Scope.ENDPOINTS_MANAGE] }),
    denied,
  ],
  ["ApiKeyService.ListApiKeys", (c) => c.apiKeys.listApiKeys({ tenantId: B }), denied],
  ["ApiKeyService.RevokeApiKey", (c) => c.apiKeys.revokeApiKey({ apiKeyId: bobKeyId }), denied],
  [
    "EventTypeService.CreateEventType",
    (c) => c.eventTypes.createEventType({ tenantId: B, name: "order.created" }),
    denied,
  ],
  [
    "EventTypeService.GetEventType",
    (c) => c.eventTypes.getEventType({ tenantId: B, name: "bob.type" }),
    denied,
  ],
  ["EventTypeService.ListEventTypes", (c) => c.eventTypes.listEventTypes({ tenantId: B }), denied],
  [
    "EventTypeService.UpdateEventType",
    (c) => c.eventTypes.updateEventType({ tenantId: B, name: "bob.type", description: "pwned" }),
    denied,
  ],
  [
    "EventTypeService.ArchiveEventType",
    (c) => c.eventTypes.archiveEventType({ tenantId: B, name: "bob.type" }),
    denied,
  ],
  [
    "EventTypeService.GetEventType (B's type under A)",
    (c) => c.eventTypes.getEventType({ tenantId: A, name: "bob.type" }),
    notFound,
  ],
  [
    "EventTypeService.UpdateEventType (B's type under A)",
    (c) => c.eventTypes.updateEventType({ tenantId: A, name: "bob.type", description: "pwned" }),
    notFound,
  ],
];

describe("tenant isolation: tenant A's key against tenant B", () => {
  it.each(rows)("%s is refused", async (_, call, refusal) => {
    const err = await failure(call(alice));
    expect(Code[err.code]).toBe(Code[refusal]);
    expect(err.rawMessage).not.toContain("bob's");
  });

  it("left B exactly as it was", async () => {
    const admin = routing.admin();
    expect((await admin.tenants.getTenant({ tenantId: B })).tenant).toMatchObject({
      name: B,
      disabled: false,
    });
    const { endpoint } = await admin.endpoints.getEndpoint(bob());
    expect(endpoint).toMatchObject({ url, description: "bob's", disabled: false });
    expect(endpoint?.secrets).toHaveLength(1);
    expect(endpoint?.createTime).toEqual(endpoint?.updateTime);
    const keys = await admin.apiKeys.listApiKeys({ tenantId: B });
    expect(keys.apiKeys.map((k) => [k.id, k.revoked])).toEqual([[bobKeyId, false]]);
    expect((await admin.tenants.listTenants({})).tenants.map((t) => t.id)).toEqual([A, B]);
    const { eventTypes } = await admin.eventTypes.listEventTypes({ tenantId: B, includeArchived: true });
    // B's own types (Herald's built-in "herald.*" ones left out).
    const own = eventTypes.filter((t) => !t.name.startsWith("herald."));
    expect(own.map((t) => [t.name, t.description, t.archived])).toEqual([["bob.type", "bob's", false]]);
  });

  it("lists only A's own objects to A's key", async () => {
    const { endpoints } = await alice.endpoints.listEndpoints({ tenantId: A });
    expect(endpoints.map((e) => e.id)).toEqual([aliceEndpointId]);
    expect(endpoints.every((e) => e.tenantId === A)).toBe(true);
    const everyPage = await alice.endpoints.listEndpoints({ tenantId: A, pageSize: 1 });
    expect(everyPage.nextPageToken).toBe("");
  });

  it("does not let a page token from B's list reveal B's endpoints under A", async () => {
    const bobsPage = await routing.admin().endpoints.listEndpoints({ tenantId: B, pageSize: 1 });
    expect(bobsPage.endpoints).toHaveLength(1);
    await routing.admin().endpoints.createEndpoint({ tenantId: B, url });
    const tokenOfB = (await routing.admin().endpoints.listEndpoints({ tenantId: B, pageSize: 1 }))
      .nextPageToken;
    expect(tokenOfB).not.toBe("");
    const { endpoints } = await alice.endpoints.listEndpoints({ tenantId: A, pageToken: tokenOfB });
    expect(endpoints.every((e) => e.tenantId === A)).toBe(true);
  });
});
