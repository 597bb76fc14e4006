/** The platform's default retry schedule: delays before attempts 2..8. */
export const DEFAULT_RETRY_SCHEDULE_MS = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/** Share of each delay by which retries are spread, so a burst of failures does not retry as a burst. */
export const JITTER = 0.2;

/** The schedule in force: the endpoint's, else the tenant's, else the platform's. */
export function effectiveSchedule(
  endpointMs: readonly number[],
  tenantMs: readonly number[],
  platformMs: readonly number[],
) {
  if (endpointMs.length > 0) return endpointMs;
  if (tenantMs.length > 0) return tenantMs;
  return platformMs;
}

/**
 * Delay before the attempt after `attempt` (1-based), or undefined when `attempt` was the last. A
 * receiver's Retry-After wins over the schedule but is clamped to the schedule's shortest and longest
 * delays, so a receiver can neither make Herald hammer it nor park an event for a year.
 */
export function nextRetryDelayMs(
  schedule: readonly number[],
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  const planned = schedule[attempt - 1];
  if (planned === undefined) return undefined;
  if (retryAfterMs !== undefined) {
    return Math.min(Math.max(retryAfterMs, Math.min(...schedule)), Math.max(...schedule));
  }
  return Math.round(planned * (1 - JITTER + 2 * JITTER * random()));
}

/**
 * Parses a Retry-After header: delay-seconds or an HTTP date. Returns ms from `now`, or undefined when
 * absent or malformed.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only the IMF-fixdate of RFC 9110: Date.parse alone would read "1.5" or "-5" as dates.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
