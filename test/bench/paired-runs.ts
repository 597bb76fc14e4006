// Alternating pairs: a goal that compares two scenarios of one run (a variant against its base) is
// judged over several pairs run back to back, base then variant, so drift over the run hits both sides
// alike; one pair swings too widely on a shared 2-core machine to judge a goal of a few percent by.
// The goals' own arithmetic lives beside them (purge-pairs.ts, filter-pairs.ts).

/** Two scenarios compared pair by pair: `variant` against `base`, `pairs` times. */
export interface Comparison {
  base: string;
  variant: string;
  pairs: number;
}

/** One run of the order: a scenario, and the pair it belongs to (1 for the first; undefined outside pairs). */
export interface OrderedRun<S> {
  spec: S;
  pair?: number;
}

/**
 * The order scenarios run in: as given, except that each comparison whose two scenarios are both there
 * runs as its pairs (base, variant, base, variant, …) where the first of the two stood.
 */
export function runOrder<S extends { id: string }>(
  specs: S[],
  comparisons: readonly Comparison[],
): Array<OrderedRun<S>> {
  const present = comparisons.filter(
    (c) => specs.some((s) => s.id === c.base) && specs.some((s) => s.id === c.variant),
  );
  const order: Array<OrderedRun<S>> = [];
  const placed = new Set<Comparison>();
  for (const spec of specs) {
    const comparison = present.find((c) => c.base === spec.id || c.variant === spec.id);
    if (!comparison) {
      order.push({ spec });
      continue;
    }
    if (placed.has(comparison)) continue;
    placed.add(comparison);
    const base = specs.find((s) => s.id === comparison.base) as S;
    const variant = specs.find((s) => s.id === comparison.variant) as S;
    for (let pair = 1; pair <= comparison.pairs; pair++)
      order.push({ spec: base, pair }, { spec: variant, pair });
  }
  return order;
}

/** The results every goal and table reads: those outside pairs, and the first pair's. */
export function firstRuns<R>(runs: Array<{ pair?: number; result: R }>): R[] {
  return runs.filter((r) => r.pair === undefined || r.pair === 1).map((r) => r.result);
}

/**
 * The complete pairs of one comparison, in order, from a run made in {@link runOrder} (an interrupted
 * run may end inside one).
 */
export function pairsOf<R extends { id: string }>(
  runs: Array<{ pair?: number; result: R }>,
  comparison: Pick<Comparison, "base" | "variant">,
): Array<{ pair: number; base: R; variant: R }> {
  const numbers = [...new Set(runs.flatMap((r) => (r.pair === undefined ? [] : [r.pair])))];
  const pairs: Array<{ pair: number; base: R; variant: R }> = [];
  for (const pair of numbers) {
    const base = runs.find((r) => r.pair === pair && r.result.id === comparison.base)?.result;
    const variant = runs.find((r) => r.pair === pair && r.result.id === comparison.variant)?.result;
    if (base && variant) pairs.push({ pair, base, variant });
  }
  return pairs;
}
