import type { OperationalFact } from "@herald/platform/model";

/** A tenant is told it was rate limited at most once per this: the first refusal of each minute. */
export const RATE_LIMITED_EVERY_MS = 60_000;

/**
 * The operational fact of a refusal for the tenant's rate limit. Keyed by the minute it fell in, so
 * every refusal of that minute, on any ingest instance, is the same fact: one event a minute at most.
 */
export function rateLimitedFact(
  tenantId: string,
  limitPerSecond: number,
  now: Date,
): OperationalFact<"herald.tenant.rate_limited"> {
  const minute = new Date(Math.floor(now.getTime() / RATE_LIMITED_EVERY_MS) * RATE_LIMITED_EVERY_MS);
  return {
    type: "herald.tenant.rate_limited",
    tenantId,
    key: minute.toISOString(),
    data: { limit_per_second: limitPerSecond },
    time: now,
  };
}
