import { create } from "@bufbuild/protobuf";
import { ControlNotificationSchema } from "@herald/contracts";
import type { EndpointDocument, TenantDocument } from "@herald/platform/model";
import { describe, expect, it } from "vitest";
import { type DeletedEndpointsDeps, deletedEndpointsOf } from "./listen-cleanup.js";

const change = (init: { tenantId: string; endpointId?: string; apiKeyId?: string; eventType?: string }) =>
  create(ControlNotificationSchema, init);

function deps(endpoints: string[], tenants: Record<string, Partial<TenantDocument>>): DeletedEndpointsDeps {
  return {
    endpoint: async (tenantId, id) =>
      endpoints.includes(`${tenantId}/${id}`)
        ? ({ _id: id, tenant_id: tenantId } as EndpointDocument)
        : undefined,
    tenant: async (id) => (tenants[id] ? ({ _id: id, ...tenants[id] } as TenantDocument) : null),
  };
}

describe("deletedEndpointsOf", () => {
  const world = deps(["acme/ep_live"], {
    acme: {},
    gone: { delete_time: new Date(0), deleted_endpoint_ids: ["ep_a", "ep_b"] },
    purged: { delete_time: new Date(0) },
  });

  it("names an endpoint the change is about once it is gone, and none while it exists", async () => {
    expect(await deletedEndpointsOf(change({ tenantId: "acme", endpointId: "ep_old" }), world)).toEqual([
      "ep_old",
    ]);
    expect(await deletedEndpointsOf(change({ tenantId: "acme", endpointId: "ep_live" }), world)).toEqual([]);
    // Another tenant's endpoint of that id is not this tenant's: gone for this change.
    expect(await deletedEndpointsOf(change({ tenantId: "globex", endpointId: "ep_live" }), world)).toEqual([
      "ep_live",
    ]);
  });

  it("names every endpoint DeleteTenant recorded when the tenant is being deleted", async () => {
    expect(await deletedEndpointsOf(change({ tenantId: "gone" }), world)).toEqual(["ep_a", "ep_b"]);
    // Purged (the ids are dropped with the data), live, or never there: nothing to delete.
    expect(await deletedEndpointsOf(change({ tenantId: "purged" }), world)).toEqual([]);
    expect(await deletedEndpointsOf(change({ tenantId: "acme" }), world)).toEqual([]);
    expect(await deletedEndpointsOf(change({ tenantId: "nobody" }), world)).toEqual([]);
  });

  it("names none for a reconnection, a revoked key or an event type", async () => {
    expect(await deletedEndpointsOf(undefined, world)).toEqual([]);
    expect(await deletedEndpointsOf(change({ tenantId: "gone", apiKeyId: "key_1" }), world)).toEqual([]);
    expect(
      await deletedEndpointsOf(change({ tenantId: "acme", endpointId: "ep_old", eventType: "a.b" }), world),
    ).toEqual([]);
  });
});
