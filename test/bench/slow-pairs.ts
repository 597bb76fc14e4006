// The slow receivers' comparison: slow-receivers-healthy and slow-receivers run as alternating pairs in
// one run, and the goal judges the medians of the pairs' ratios: the healthy endpoints' p99 over 13,200
// deliveries is set by a few stalls of the shared machine, and one pair has measured 0.93-2.24 x with
// the same code (docs/decisions/fair-delivery.md, "Session 24").
import { type Comparison, pairsOf } from "./paired-runs.js";
import { countFromEnv, median, round } from "./system.js";

/** The scenario with every endpoint healthy, and the one with 10 stalled and 2 hanging endpoints. */
export const HEALTHY_ID = "slow-receivers-healthy";
export const SLOW_ID = "slow-receivers";
/** Healthy endpoints' p99 beside stalled and hanging ones: within this factor of the all-healthy run. */
export const SLOW_P99_RATIO = 1.5;
/** …and their delivered rate, per endpoint, at least this share of it (unchanged, within noise). */
export const SLOW_RATE_SHARE = 0.95;
/** Pairs a run makes unless BENCH_SLOW_PAIRS says otherwise. */
export const DEFAULT_SLOW_PAIRS = 3;

/** The part of a scenario result the pairs read. */
export interface SlowPairedResult {
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
export interface SlowPairSide {
  /** Publish→received p99 at the healthy endpoints. */
  p99Ms: number;
  /** Deliveries per second to all endpoints answering 2xx. */
  deliveriesPerSecond: number;
  /** Deliveries per second per healthy endpoint, unrounded: at 5/s each, rounding would hide a 10% drop. */
  perEndpoint: number;
  complete: boolean;
  loadAverageBefore: number;
}

/** One pair: slow-receivers-healthy, then slow-receivers right after it, on fresh stacks. */
export interface SlowPair {
  pair: number;
  healthy: SlowPairSide;
  slow: SlowPairSide;
  /** slow's p99 over healthy's; undefined when healthy's was 0. */
  ratio?: number;
  /** slow's per-endpoint rate over healthy's; undefined when healthy's was 0. */
  rateShare?: number;
}

/** What the pairs came to: the median of each ratio, and whether both meet the goal. */
export interface SlowGoal {
  pairs: SlowPair[];
  medianRatio?: number;
  medianRateShare?: number;
  met: boolean;
}

/** BENCH_SLOW_PAIRS, else {@link DEFAULT_SLOW_PAIRS}. */
export function slowPairsFromEnv(env: Record<string, string | undefined>): number {
  return countFromEnv(env, "BENCH_SLOW_PAIRS", DEFAULT_SLOW_PAIRS);
}

/** The comparison the slow receivers' goal is judged over, `pairs` times. */
export function slowComparison(pairs: number): Comparison {
  return { base: HEALTHY_ID, variant: SLOW_ID, pairs };
}

/** What the healthy endpoints of one scenario run got. */
export function slowPairSide(r: SlowPairedResult): SlowPairSide {
  const fast = r.delivery.groups.fast;
  return {
    p99Ms: fast?.latencyMs.p99 ?? 0,
    deliveriesPerSecond: r.delivery.deliveriesPerSecond,
    perEndpoint:
      fast && fast.endpoints > 0 && r.delivery.seconds > 0
        ? fast.unique / fast.endpoints / r.delivery.seconds
        : 0,
    complete: r.delivery.complete,
    loadAverageBefore: r.loadAverageBefore[0] ?? 0,
  };
}

/** One pair from its two results. */
export function slowPairOf(pair: number, healthy: SlowPairedResult, slow: SlowPairedResult): SlowPair {
  const h = slowPairSide(healthy);
  const s = slowPairSide(slow);
  return {
    pair,
    healthy: h,
    slow: s,
    ...(h.p99Ms > 0 ? { ratio: round(s.p99Ms / h.p99Ms, 2) } : {}),
    ...(h.perEndpoint > 0 ? { rateShare: round(s.perEndpoint / h.perEndpoint, 2) } : {}),
  };
}

/** The complete pairs from a run made in `runOrder` (paired-runs.ts). */
export function slowPairs(runs: Array<{ pair?: number; result: SlowPairedResult }>): SlowPair[] {
  return pairsOf(runs, { base: HEALTHY_ID, variant: SLOW_ID }).map((p) =>
    slowPairOf(p.pair, p.base, p.variant),
  );
}

/**
 * The goal over a run's pairs: the median p99 ratio ≤ {@link SLOW_P99_RATIO} and the median rate share
 * ≥ {@link SLOW_RATE_SHARE}, every run of every pair complete. A run saved before these pairs (no
 * `slowPairs`) counts its two scenarios as one pair. Undefined when the run had no pair.
 */
export function slowGoal(results: {
  scenarios: SlowPairedResult[];
  slowPairs?: SlowPair[];
}): SlowGoal | undefined {
  let pairs = results.slowPairs;
  if (!pairs) {
    const healthy = results.scenarios.find((s) => s.id === HEALTHY_ID);
    const slow = results.scenarios.find((s) => s.id === SLOW_ID);
    pairs = healthy && slow ? [slowPairOf(1, healthy, slow)] : [];
  }
  if (pairs.length === 0) return undefined;
  const all = <T>(values: Array<T | undefined>) =>
    values.every((v) => v !== undefined) ? (values as T[]) : undefined;
  const ratios = all(pairs.map((p) => p.ratio));
  const shares = all(pairs.map((p) => p.rateShare));
  const medianRatio = ratios && median(ratios);
  const medianRateShare = shares && median(shares);
  const complete = pairs.every((p) => p.healthy.complete && p.slow.complete);
  return {
    pairs,
    ...(medianRatio === undefined ? {} : { medianRatio: round(medianRatio, 2) }),
    ...(medianRateShare === undefined ? {} : { medianRateShare: round(medianRateShare, 2) }),
    met:
      medianRatio !== undefined &&
      medianRatio <= SLOW_P99_RATIO &&
      medianRateShare !== undefined &&
      medianRateShare >= SLOW_RATE_SHARE &&
      complete,
  };
}
