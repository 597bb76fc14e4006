// The retention purge's comparison: s1-500 and s1-500-purge run as alternating pairs in one run, and the
// goal judges the median of the pairs' p99 ratios: one pair swings too widely on a shared machine to judge
// a 10% goal by (docs/decisions/tenant-purge-and-retention.md).
import { type Comparison, pairsOf } from "./paired-runs.js";
import { countFromEnv, median, round } from "./system.js";

/** The scenario the purge is compared against, and the one with the purge at work. */
export const BASE_ID = "s1-500";
export const PURGE_ID = "s1-500-purge";
/** s1-500-purge's p99 within this factor of s1-500's, as the median of the pairs. */
export const PURGE_P99_RATIO = 1.1;
/** Pairs a run makes unless BENCH_PURGE_PAIRS says otherwise. */
export const DEFAULT_PAIRS = 3;

/** The part of a scenario's result a pair keeps. */
export interface PairSide {
  p99Ms: number;
  /** Every expected delivery arrived within the drain. */
  complete: boolean;
  loadAverageBefore: number;
}

/** One pair: s1-500, then s1-500-purge right after it, on fresh stacks. */
export interface PurgePair {
  /** 1 for the first pair, whose s1-500 is the run's s1-500 result. */
  pair: number;
  base: PairSide;
  purge: PairSide & { removed: number; seeded: number };
  /** s1-500-purge's p99 over s1-500's; undefined when s1-500's p99 was 0. */
  ratio?: number;
}

/** What the pairs came to: the median ratio and whether it meets the goal. */
export interface PurgeGoal {
  pairs: PurgePair[];
  medianRatio?: number;
  met: boolean;
}

/** BENCH_PURGE_PAIRS, else {@link DEFAULT_PAIRS}. */
export function pairsFromEnv(env: Record<string, string | undefined>): number {
  return countFromEnv(env, "BENCH_PURGE_PAIRS", DEFAULT_PAIRS);
}

/** The comparison the purge goal is judged over, `pairs` times. */
export function purgeComparison(pairs: number): Comparison {
  return { base: BASE_ID, variant: PURGE_ID, pairs };
}

/** A scenario result as much as the pairs need of it. */
export interface PairedResult {
  id: string;
  delivery: { complete: boolean; latencyMs: { p99: number } };
  loadAverageBefore: number[];
  purge?: { seeded: number; removed: number };
}

/** The purge's complete pairs from a run made in `runOrder` (paired-runs.ts). */
export function purgePairs(runs: Array<{ pair?: number; result: PairedResult }>): PurgePair[] {
  return pairsOf(runs, { base: BASE_ID, variant: PURGE_ID }).map((p) => pairOf(p.pair, p.base, p.variant));
}

/** One pair from its two results. */
export function pairOf(pair: number, base: PairedResult, purge: PairedResult): PurgePair {
  const side = (r: PairedResult): PairSide => ({
    p99Ms: r.delivery.latencyMs.p99,
    complete: r.delivery.complete,
    loadAverageBefore: r.loadAverageBefore[0] ?? 0,
  });
  const basis = base.delivery.latencyMs.p99;
  return {
    pair,
    base: side(base),
    purge: { ...side(purge), removed: purge.purge?.removed ?? 0, seeded: purge.purge?.seeded ?? 0 },
    ...(basis > 0 ? { ratio: round(purge.delivery.latencyMs.p99 / basis, 2) } : {}),
  };
}

/**
 * The goal over a run's pairs: the median ratio ≤ {@link PURGE_P99_RATIO}, every run of every pair
 * complete. A run saved before pairs existed (no `purgePairs`) counts its s1-500 and s1-500-purge as
 * one pair. Undefined when the run had no pair.
 */
export function purgeGoal(results: {
  scenarios: PairedResult[];
  purgePairs?: PurgePair[];
}): PurgeGoal | undefined {
  let pairs = results.purgePairs;
  if (!pairs) {
    const base = results.scenarios.find((s) => s.id === BASE_ID);
    const purge = results.scenarios.find((s) => s.id === PURGE_ID);
    pairs = base && purge ? [pairOf(1, base, purge)] : [];
  }
  if (pairs.length === 0) return undefined;
  const ratios = pairs.flatMap((p) => (p.ratio === undefined ? [] : [p.ratio]));
  const medianRatio = ratios.length === pairs.length ? median(ratios) : undefined;
  const complete = pairs.every((p) => p.base.complete && p.purge.complete);
  return {
    pairs,
    ...(medianRatio === undefined ? {} : { medianRatio: round(medianRatio, 2) }),
    met: medianRatio !== undefined && medianRatio <= PURGE_P99_RATIO && complete,
  };
}
