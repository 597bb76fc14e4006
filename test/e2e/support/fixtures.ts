import { Scope } from "@herald/contracts";
import { TEST_ADMIN_KEY } from "@herald/platform/testing";
import { connectClients, type HeraldClients } from "./clients.js";
import type { Stack } from "./stack.js";

/** A tenant with a publish key and an all-scopes key. */
export interface TestTenant {
  id: string;
  publishKey: string;
  /** events:publish, endpoints:manage and audit:read. */
  fullKey: string;
  clients: HeraldClients;
}

export function adminClients(stack: Stack): HeraldClients {
  return connectClients(stack, TEST_ADMIN_KEY);
}

export async function createTenant(stack: Stack, id: string, settings: object = {}): Promise<TestTenant> {
  const admin = adminClients(stack);
  await admin.tenants.createTenant({ tenantId: id, name: `Tenant ${id}`, settings });
  const publish = await admin.apiKeys.createApiKey({
    name: `${id} publisher`,
    tenantId: id,
    scopes: [Scope.EVENTS_PUBLISH],
  });
  const full = await admin.apiKeys.createApiKey({
    name: `${id} all`,
    tenantId: id,
    scopes: [Scope.EVENTS_PUBLISH, Scope.ENDPOINTS_MANAGE, Scope.AUDIT_READ],
  });
  return { id, publishKey: publish.token, fullKey: full.token, clients: connectClients(stack, full.token) };
}

/** Creates an endpoint and returns its id and current signing secret. */
export async function createEndpoint(
  tenant: TestTenant,
  url: string,
  options: {
    eventTypes?: string[];
    channels?: string[];
    retrySchedule?: number[];
    headers?: Record<string, string>;
    /** A CEL filter (see Endpoint.filter). */
    filter?: string;
  } = {},
): Promise<{ id: string; secret: string }> {
  const { endpoint } = await tenant.clients.endpoints.createEndpoint({
    tenantId: tenant.id,
    url,
    eventTypes: options.eventTypes ?? [],
    channels: options.channels ?? [],
    headers: options.headers ?? {},
    ...(options.filter ? { filter: options.filter } : {}),
    retrySchedule: options.retrySchedule
      ? {
          delays: options.retrySchedule.map((ms) => ({
            seconds: BigInt(Math.floor(ms / 1000)),
            nanos: (ms % 1000) * 1e6,
          })),
        }
      : undefined,
  });
  const id = endpoint?.id ?? "";
  const { secrets } = await tenant.clients.endpoints.getEndpointSecret({
    tenantId: tenant.id,
    endpointId: id,
  });
  return { id, secret: secrets[0]?.secret ?? "" };
}

/** Polls `probe` until it returns a value that is not undefined. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} not reached in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ""}`);
}
