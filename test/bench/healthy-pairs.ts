// Goals on the healthy endpoints of a scenario against an all-healthy base (failing endpoints beside
// them, slow receivers beside them) run as alternating pairs in one run and are judged on the medians of
// the pairs' ratios: the healthy endpoints' p99 is set by a few stalls of the shared machine, which one
// pair cannot tell from an effect (measured in docs/decisions/fair-delivery.md, "Session 24").
import { type Comparison, pairsOf } from "./paired-runs.js";
import { countFromEnv, median, round } from "./system.js";

/** A goal on `variant`'s healthy endpoints against `base`'s, judged over alternating pairs. */
export interface HealthyComparison {
  base: string;
  variant: string;
  /** variant's healthy endpoints' p99 within this factor of base's (the median over pairs). */
  p99Ratio: number;
  /** Their delivered rate per endpoint at least this share of base's (the median); undefined: not judged. */
  rateShare?: number;
  /** The environment variable that sets how many pairs a run makes. */
  pairsVariable: string;
}

/** 10 of 100 endpoints answering after 10 s and 2 never, against all 100 healthy. */
export const SLOW_RECEIVERS: HealthyComparison = {
  base: "slow-receivers-healthy",
  variant: "slow-receivers",
  p99Ratio: 1.5,
  rateShare: 0.95,
  pairsVariable: "BENCH_SLOW_PAIRS",
};

/** 10% of endpoints answering 500, against none failing. */
export const FAILING_ENDPOINTS: HealthyComparison = {
  base: "s3-healthy",
  variant: "s3-failing",
  p99Ratio: 1.2,
  pairsVariable: "BENCH_FAILING_PAIRS",
};

/** Pairs a run makes unless the comparison's variable says otherwise. */
export const DEFAULT_HEALTHY_PAIRS = 3;

/** The part of a scenario result the pairs read. */
export interface HealthyPairedResult {
  id: string;
  loadAverageBefore: number[];
  delivery: {
    complete: boolean;
    seconds: number;
    deliveriesPerSecond: number;
    groups: Record<string, { endpoints: number; unique: number; latencyMs: { p99: number } }>;
  };
}

/** One side of a pair: what the healthy (fast) endpoints got. */
export interface HealthyPairSide {
  /** Publish→received p99 at the healthy endpoints. */
  p99Ms: number;
  /** Deliveries per second to all endpoints answering 2xx. */
  deliveriesPerSecond: number;
  /** Deliveries the healthy endpoints got: the p99's population. */
  delivered: number;
  /** Deliveries per second per healthy endpoint, unrounded: at 5/s each, rounding would hide a 10% drop. */
  perEndpoint: number;
  complete: boolean;
  loadAverageBefore: number;
}

/** One pair: the base, then the variant right after it, on fresh stacks. */
export interface HealthyPair {
  pair: number;
  base: HealthyPairSide;
  variant: HealthyPairSide;
  /** variant's p99 over base's; undefined when base's was 0. */
  ratio?: number;
  /** variant's per-endpoint rate over base's; undefined when base's was 0. */
  rateShare?: number;
}

/** What the pairs came to: the median of each ratio, and whether the goal is met. */
export interface HealthyGoal {
  pairs: HealthyPair[];
  medianRatio?: number;
  medianRateShare?: number;
  met: boolean;
}

/** How many pairs `comparison` runs: its variable, else {@link DEFAULT_HEALTHY_PAIRS}. */
export function healthyPairsFromEnv(
  comparison: HealthyComparison,
  env: Record<string, string | undefined>,
): number {
  return countFromEnv(env, comparison.pairsVariable, DEFAULT_HEALTHY_PAIRS);
}

/** The run order's comparison for `comparison`, `pairs` times. */
export function healthyRunComparison(comparison: HealthyComparison, pairs: number): Comparison {
  return { base: comparison.base, variant: comparison.variant, pairs };
}

/** What the healthy endpoints of one scenario run got. */
export function healthyPairSide(r: HealthyPairedResult): HealthyPairSide {
  const fast = r.delivery.groups.fast;
  return {
    p99Ms: fast?.latencyMs.p99 ?? 0,
    deliveriesPerSecond: r.delivery.deliveriesPerSecond,
    delivered: fast?.unique ?? 0,
    perEndpoint:
      fast && fast.endpoints > 0 && r.delivery.seconds > 0
        ? fast.unique / fast.endpoints / r.delivery.seconds
        : 0,
    complete: r.delivery.complete,
    loadAverageBefore: r.loadAverageBefore[0] ?? 0,
  };
}

/** One pair from its two results. */
export function healthyPairOf(
  pair: number,
  base: HealthyPairedResult,
  variant: HealthyPairedResult,
): HealthyPair {
  const b = healthyPairSide(base);
  const v = healthyPairSide(variant);
  return {
    pair,
    base: b,
    variant: v,
    ...(b.p99Ms > 0 ? { ratio: round(v.p99Ms / b.p99Ms, 2) } : {}),
    ...(b.perEndpoint > 0 ? { rateShare: round(v.perEndpoint / b.perEndpoint, 2) } : {}),
  };
}

/** The complete pairs of `comparison` from a run made in `runOrder` (paired-runs.ts). */
export function healthyPairs(
  comparison: HealthyComparison,
  runs: Array<{ pair?: number; result: HealthyPairedResult }>,
): HealthyPair[] {
  return pairsOf(runs, comparison).map((p) => healthyPairOf(p.pair, p.base, p.variant));
}

/**
 * The goal over a run's pairs: the median p99 ratio within the comparison's bar, the median rate share
 * at or above its own where it has one, every run of every pair complete. A run saved without these
 * pairs (`pairs` undefined) counts its two scenarios as one pair. Undefined when the run had no pair.
 */
export function healthyGoal(
  comparison: HealthyComparison,
  scenarios: HealthyPairedResult[],
  pairs: HealthyPair[] | undefined,
): HealthyGoal | undefined {
  if (!pairs) {
    const base = scenarios.find((s) => s.id === comparison.base);
    const variant = scenarios.find((s) => s.id === comparison.variant);
    pairs = base && variant ? [healthyPairOf(1, base, variant)] : [];
  }
  if (pairs.length === 0) return undefined;
  const all = (values: Array<number | undefined>) =>
    values.every((v) => v !== undefined) ? median(values as number[]) : undefined;
  const medianRatio = all(pairs.map((p) => p.ratio));
  const medianRateShare = all(pairs.map((p) => p.rateShare));
  const complete = pairs.every((p) => p.base.complete && p.variant.complete);
  const rateMet =
    comparison.rateShare === undefined ||
    (medianRateShare !== undefined && medianRateShare >= comparison.rateShare);
  return {
    pairs,
    ...(medianRatio === undefined ? {} : { medianRatio: round(medianRatio, 2) }),
    ...(medianRateShare === undefined ? {} : { medianRateShare: round(medianRateShare, 2) }),
    met: medianRatio !== undefined && medianRatio <= comparison.p99Ratio && rateMet && complete,
  };
}
