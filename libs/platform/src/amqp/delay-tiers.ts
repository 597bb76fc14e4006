// Which retry tier a delayed item waits in. A tier is a queue whose messages wait out its TTL and then
// go back to their work queue, so a delay of any length is a few hops through a fixed set of tiers.

/** How an item may be late; see {@link PublishAtOptions}. */
export interface TierChoice {
  /** `due` is the earliest the item may come back: its due moves to when it does, if later. */
  notBefore?: boolean;
  /**
   * The item may come back well after `due` if that costs the broker less: one pass through the tier at
   * least as long as the wait, rather than hops down the tiers to be on time (implies `notBefore`).
   */
  lenient?: boolean;
}

/** An item this close to its due (or past it) is handled rather than sent on to another hop. */
export const DUE_SLACK_MS = 250;

/**
 * The tier to wait in for `waitMs`, and the due the item then carries. By default the longest tier not
 * longer than the wait (the shortest when all are longer): the item comes back early and hops on, so it
 * is on time within a tier's rounding.
 */
export function tierFor(
  waitMs: number,
  tiersMs: readonly number[],
  choice: TierChoice = {},
): { tierMs: number; waitMs: number } {
  if (choice.lenient) {
    const tierMs = tierAtLeastMs(waitMs, tiersMs);
    return { tierMs, waitMs: Math.max(waitMs, tierMs) };
  }
  const tierMs = nextTierMs(waitMs, tiersMs, 0) ?? shortest(tiersMs);
  return { tierMs, waitMs: choice.notBefore ? Math.max(waitMs, tierMs) : waitMs };
}

/**
 * The shortest tier at least `waitMs` long, or the longest tier when none is: one pass through the
 * tiers for a wait that need not end on time.
 */
export function tierAtLeastMs(waitMs: number, tiersMs: readonly number[]): number {
  const sorted = [...tiersMs].sort((a, b) => a - b);
  return sorted.find((tier) => tier >= waitMs) ?? (sorted[sorted.length - 1] as number);
}

/**
 * The retry tier to wait in next: the longest tier not longer than what is left, or the shortest
 * tier when less than it is left. Undefined when the item is (nearly) due.
 */
export function nextTierMs(
  remainingMs: number,
  tiersMs: readonly number[],
  dueSlackMs = DUE_SLACK_MS,
): number | undefined {
  if (remainingMs <= dueSlackMs) return undefined;
  const sorted = [...tiersMs].sort((a, b) => a - b);
  let chosen = sorted[0];
  for (const tier of sorted) if (tier <= remainingMs) chosen = tier;
  return chosen;
}

function shortest(tiersMs: readonly number[]): number {
  return Math.min(...tiersMs);
}
