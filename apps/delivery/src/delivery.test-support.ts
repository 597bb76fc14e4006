// What deliver-task.test.ts and test-delivery.test.ts share: a fixed clock, one endpoint, tenant and
// task, and the dependencies both deliveries take, recording what they send and audit.
import { create } from "@bufbuild/protobuf";
import { type AuditRecord, type DeliveryTask, DeliveryTaskSchema } from "@herald/contracts";
import {
  type ControlPlaneCache,
  type EndpointDocument,
  SecretBox,
  type TenantDocument,
} from "@herald/platform/model";
import { TEST_SECRET_KEYS, testEndpoint, testTenant } from "@herald/platform/testing";
import type { TestDeliveryDeps } from "./test-delivery.js";
import type { WebhookResponse } from "./webhook-client.js";

export const NOW = Date.parse("2026-03-01T12:00:00Z");
export const box = new SecretBox(TEST_SECRET_KEYS);
export const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** Endpoint ep_1 of tenant t1, created at NOW, signing with SECRET. */
export function hookEndpoint(patch: Partial<EndpointDocument> = {}): EndpointDocument {
  return testEndpoint({
    url: "https://hooks.example.com/in?token=abc",
    secrets: [{ id: "s1", sealed: box.seal(SECRET), create_time: new Date(NOW - 1000) }],
    create_time: new Date(NOW),
    ...patch,
  });
}

/** Tenant t1, enabled with default settings, created a minute before NOW. */
export const tenant: TenantDocument = testTenant("t1", { create_time: new Date(NOW - 60_000) });

/** A first attempt at event evt_1 (order.created, payload {"a":1}) for ep_1 of t1. */
export function deliveryTask(patch: Omit<Partial<DeliveryTask>, "$typeName"> = {}): DeliveryTask {
  return create(DeliveryTaskSchema, {
    eventId: "evt_1",
    tenantId: "t1",
    endpointId: "ep_1",
    eventType: "order.created",
    payload: new TextEncoder().encode('{"a":1}'),
    attempt: 1,
    ...patch,
  });
}

/**
 * The dependencies both deliveries take, for `ep` (null: gone) of `ten`: each request is answered by
 * `answer` and recorded in `sent`, each audit record in `audits`.
 */
export function deliveryDeps(
  answer: () => Promise<WebhookResponse>,
  ep: EndpointDocument | null,
  ten: TenantDocument,
) {
  const sent: Array<{ url: string; headers: Record<string, string>; body: Uint8Array }> = [];
  const audits: AuditRecord[] = [];
  const deps: TestDeliveryDeps = {
    cache: { endpoint: async () => ep ?? undefined, tenant: async () => ten } as unknown as ControlPlaneCache,
    box,
    post: async (url, headers, body) => {
      sent.push({ url, headers, body });
      return answer();
    },
    publishAudit: async (record) => void audits.push(record),
    userAgent: "Herald/test",
    now: () => NOW,
  };
  return { deps, sent, audits };
}
