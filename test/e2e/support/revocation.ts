import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import type { Scope } from "@herald/contracts";
import { connectClients, grpcIngestClient } from "./clients.js";
import { adminClients } from "./fixtures.js";
import type { Stack } from "./stack.js";

/** The services that authenticate callers with API keys, as a revoked key's holder would call them. */
export const KEY_SERVICES = ["ingest", "routing", "audit"] as const;

/** One call per service with `token`, each answering "ok" or the gRPC status code it was refused with. */
function probes(stack: Stack, token: string, tenantId: string) {
  const clients = connectClients(stack, token);
  const ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
  const calls: Record<(typeof KEY_SERVICES)[number], () => Promise<unknown>> = {
    ingest: () =>
      ingest
        .publishEvent(
          { tenant_id: tenantId, event: { event_type: "revoked.probe", payload: Buffer.from("{}") } },
          token,
        )
        .then(
          () => "ok",
          (err: grpc.ServiceError) => err.code,
        ),
    routing: () =>
      clients.endpoints.listEndpoints({ tenantId }).then(
        () => "ok",
        (err) => ConnectError.from(err).code,
      ),
    audit: () =>
      clients.audit.listAttempts({ tenantId }).then(
        () => "ok",
        (err) => ConnectError.from(err).code,
      ),
  };
  return { calls, close: () => ingest.close() };
}

/** Calls `probe` until it is refused as unauthenticated, for at most 1 s: whether it was. */
async function refusedWithinOneSecond(probe: () => Promise<unknown>): Promise<boolean> {
  const deadline = Date.now() + 1_000;
  do {
    const answer = await probe();
    if (answer === Code.Unauthenticated || answer === grpc.status.UNAUTHENTICATED) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  } while (Date.now() < deadline);
  return false;
}

/**
 * Creates a key, uses it on ingest, routing and audit (so each has it cached), then calls `meanwhile`
 * (e.g. to cut RabbitMQ), revokes it through ApiKeyService and counts the services that refuse it within
 * 1 s of RevokeApiKey returning. `before` is what each service answered before the revocation.
 */
export async function revokeAndCount(
  stack: Stack,
  key: { name: string; tenantId?: string; scopes: Scope[] },
  probeTenantId: string,
  meanwhile: () => Promise<void> = async () => undefined,
): Promise<{ before: unknown[]; refused: number }> {
  const admin = adminClients(stack);
  const { apiKey, token } = await admin.apiKeys.createApiKey(key);
  const { calls, close } = probes(stack, token, probeTenantId);
  try {
    const before = await Promise.all(Object.values(calls).map((call) => call()));
    await meanwhile();
    await admin.apiKeys.revokeApiKey({ apiKeyId: apiKey?.id ?? "" });
    const refused = await Promise.all(Object.values(calls).map(refusedWithinOneSecond));
    return { before, refused: refused.filter(Boolean).length };
  } finally {
    close();
  }
}
