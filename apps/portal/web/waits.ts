import { AttemptWait } from "@herald/contracts";

const WAITED_FOR: Record<number, string> = {
  [AttemptWait.ENDPOINT_LIMIT]: "its endpoint's limit",
  [AttemptWait.TENANT_TURN]: "its turn among the tenants",
};

/**
 * How long a delivery's attempts waited before they were sent, in all, and for what the longest wait
 * was: "waited 1.2 s for its endpoint's limit"; empty when none waited.
 */
export function deliveryWaitText(delivery: { waitedMs: number; waitedFor: AttemptWait }): string {
  if (delivery.waitedMs <= 0) return "";
  const time =
    delivery.waitedMs < 1_000 ? `${delivery.waitedMs} ms` : `${(delivery.waitedMs / 1_000).toFixed(1)} s`;
  const why = WAITED_FOR[delivery.waitedFor];
  return why ? `waited ${time} for ${why}` : `waited ${time}`;
}
