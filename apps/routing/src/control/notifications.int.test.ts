import type { ControlNotification } from "@herald/contracts";
import { Scope } from "@herald/contracts";
import { createLogger, topologyNames } from "@herald/platform";
import { consumeControlChanges } from "@herald/platform/model";
import { Connection, type Consumer } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { msToDuration } from "./fields.js";
import { RoutingUnderTest } from "./routing.test-support.js";

let routing: RoutingUnderTest;
let rabbit: Connection;
let consumer: Consumer;
const received: Array<{ tenantId: string; endpointId: string; apiKeyId: string }> = [];

beforeAll(async () => {
  routing = await RoutingUnderTest.start();
  rabbit = new Connection(routing.env.AMQP_URL);
  const ready = new Promise<void>((resolve) => {
    consumer = consumeControlChanges(
      rabbit,
      topologyNames(routing.env.AMQP_NAMESPACE),
      createLogger({ service: "test", level: "silent" }),
      (change: ControlNotification | undefined) => {
        if (change) {
          received.push({
            tenantId: change.tenantId,
            endpointId: change.endpointId,
            apiKeyId: change.apiKeyId,
          });
        } else resolve();
      },
    );
  });
  await ready;
});

afterAll(async () => {
  await consumer?.close();
  await rabbit?.close();
  await routing?.stop();
});

/** Runs `change` and resolves with the notifications it caused. */
async function notificationsOf(change: () => Promise<unknown>, expected: number) {
  const from = received.length;
  await change();
  await vi.waitFor(() => expect(received.length - from).toBeGreaterThanOrEqual(expected), { timeout: 3_000 });
  return received.slice(from);
}

describe("control notifications on herald.control", () => {
  it("announce every change to tenants, endpoints and API keys", async () => {
    const admin = routing.admin();
    const tenant = { tenantId: "noisy" };
    expect(await notificationsOf(() => admin.tenants.createTenant({ ...tenant, name: "Noisy" }), 1)).toEqual([
      { tenantId: "noisy", endpointId: "", apiKeyId: "" },
    ]);
    const tenantChange = [{ tenantId: "noisy", endpointId: "", apiKeyId: "" }];
    expect(await notificationsOf(() => admin.tenants.updateTenant({ ...tenant, name: "Quiet" }), 1)).toEqual(
      tenantChange,
    );
    expect(await notificationsOf(() => admin.tenants.disableTenant(tenant), 1)).toEqual(tenantChange);
    expect(await notificationsOf(() => admin.tenants.enableTenant(tenant), 1)).toEqual(tenantChange);

    let endpointId = "";
    const created = await notificationsOf(async () => {
      const { endpoint } = await admin.endpoints.createEndpoint({ ...tenant, url: "http://127.0.0.1:1/" });
      endpointId = endpoint?.id ?? "";
    }, 1);
    const endpointChange = [{ tenantId: "noisy", endpointId, apiKeyId: "" }];
    expect(created).toEqual(endpointChange);
    const endpoint = { ...tenant, endpointId };
    for (const change of [
      () => admin.endpoints.updateEndpoint({ ...endpoint, description: "changed" }),
      () => admin.endpoints.disableEndpoint(endpoint),
      () => admin.endpoints.enableEndpoint(endpoint),
      () => admin.endpoints.rotateSecret({ ...endpoint, overlap: msToDuration(0) }),
      () => admin.endpoints.deleteEndpoint(endpoint),
    ]) {
      expect(await notificationsOf(change, 1)).toEqual(endpointChange);
    }

    let keyId = "";
    expect(
      await notificationsOf(async () => {
        const { apiKey } = await admin.apiKeys.createApiKey({
          ...tenant,
          name: "k",
          scopes: [Scope.AUDIT_READ],
        });
        keyId = apiKey?.id ?? "";
      }, 1),
    ).toEqual(tenantChange);
    expect(await notificationsOf(() => admin.apiKeys.revokeApiKey({ apiKeyId: keyId }), 1)).toEqual([
      { tenantId: "noisy", endpointId: "", apiKeyId: keyId },
    ]);
    // An admin key's revocation names the key too: no tenant to match it by.
    let adminKeyId = "";
    await notificationsOf(async () => {
      const { apiKey } = await admin.apiKeys.createApiKey({ name: "ops", scopes: [Scope.ADMIN] });
      adminKeyId = apiKey?.id ?? "";
    }, 1);
    expect(await notificationsOf(() => admin.apiKeys.revokeApiKey({ apiKeyId: adminKeyId }), 1)).toEqual([
      { tenantId: "", endpointId: "", apiKeyId: adminKeyId },
    ]);
    expect(await notificationsOf(() => admin.tenants.deleteTenant(tenant), 1)).toEqual(tenantChange);
  });

  it("announce nothing for reads and refused calls", async () => {
    const admin = routing.admin();
    await admin.tenants.createTenant({ tenantId: "still", name: "Still" });
    await vi.waitFor(() => expect(received.at(-1)?.tenantId).toBe("still"));
    const from = received.length;
    await admin.tenants.getTenant({ tenantId: "still" });
    await admin.tenants.listTenants({});
    await admin.endpoints.listEndpoints({ tenantId: "still" });
    await admin.tenants.createTenant({ tenantId: "still", name: "Again" }).catch(() => undefined);
    await admin.endpoints
      .createEndpoint({ tenantId: "still", url: "https://10.0.0.1/" })
      .catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received.slice(from)).toEqual([]);
  });
});
