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

/** Whether a probe's answer is a refusal as unauthenticated, over Connect or gRPC. */
function isUnauthenticated(answer: unknown): boolean {
  return answer === Code.Unauthenticated || answer === grpc.status.UNAUTHENTICATED;
}

/** Calls `probe` until it is refused as unauthenticated, for at most 1 s: whether it was. */
async function refusedWithinOneSecond(probe: () => Promise<unknown>): Promise<boolean> {
  const deadline = Date.now() + 1_000;
  do {
    const answer = await probe();
    if (isUnauthenticated(answer)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  } while (Date.now() < deadline);
  return false;
}

/**
 * Creates a key, uses it on ingest, routing and audit (so each has it cached), then calls `meanwhile`
 * (e.g. to cut RabbitMQ), revokes it through ApiKeyService and counts the services that refuse it on
 * the first call after RevokeApiKey returned, and within 1 s of it. `before` is what each service
 * answered before the revocation.
 */
export async function revokeAndCount(
  stack: Stack,
  key: { name: string; tenantId?: string; scopes: Scope[] },
  probeTenantId: string,
  meanwhile: () => Promise<void> = async () => undefined,
): Promise<{ before: unknown[]; firstRefused: number; refused: number }> {
  const admin = adminClients(stack);
  const { apiKey, token } = await admin.apiKeys.createApiKey(key);
  const { calls, close } = probes(stack, token, probeTenantId);
  try {
    const before = await Promise.all(Object.values(calls).map((call) => call()));
    await meanwhile();
    await admin.apiKeys.revokeApiKey({ apiKeyId: apiKey?.id ?? "" });
    const first = await Promise.all(Object.values(calls).map((call) => call()));
    const refused = await Promise.all(Object.values(calls).map(refusedWithinOneSecond));
    return {
      before,
      firstRefused: first.filter(isUnauthenticated).length,
      refused: refused.filter(Boolean).length,
    };
  } finally {
    close();
  }
}

/** What {@link firstCallsAfterRevocation} saw: per service, how many first calls were refused. */
export interface FirstCallCount {
  rounds: number;
  refused: Record<(typeof KEY_SERVICES)[number], number>;
  /** How long each RevokeApiKey took, in ms (reported, never asserted). */
  revokeMs: number[];
}

/**
 * `rounds` times: creates a key, uses it on ingest, routing and audit (so each has it cached), revokes it,
 * and as soon as RevokeApiKey returned calls each service once with it, all three at once. Counts the
 * first calls refused as unauthenticated: revocation holds on every service before RevokeApiKey returns
 * only if every one is.
 */
export async function firstCallsAfterRevocation(
  stack: Stack,
  key: { name: string; tenantId?: string; scopes: Scope[] },
  probeTenantId: string,
  rounds: number,
): Promise<FirstCallCount> {
  const admin = adminClients(stack);
  const count: FirstCallCount = { rounds, refused: { ingest: 0, routing: 0, audit: 0 }, revokeMs: [] };
  for (let round = 0; round < rounds; round++) {
    const { apiKey, token } = await admin.apiKeys.createApiKey(key);
    const { calls, close } = probes(stack, token, probeTenantId);
    try {
      const before = await Promise.all(Object.values(calls).map((call) => call()));
      if (before.some((answer) => answer !== "ok")) throw new Error(`key not usable before: ${before}`);
      const start = performance.now();
      await admin.apiKeys.revokeApiKey({ apiKeyId: apiKey?.id ?? "" });
      count.revokeMs.push(performance.now() - start);
      const after = await Promise.all(KEY_SERVICES.map((service) => calls[service]()));
      KEY_SERVICES.forEach((service, i) => {
        if (isUnauthenticated(after[i])) count.refused[service]++;
      });
    } finally {
      close();
    }
  }
  return count;
}
