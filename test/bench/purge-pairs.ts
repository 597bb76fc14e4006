// The retention purge's comparison: s1-500 and s1-500-purge run as alternating pairs in one run, and the
// goal judges the median of the pairs' p99 ratios: one pair swings too widely on a shared machine to judge
// a 10% goal by (docs/decisions/tenant-purge-and-retention.md).
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

/**
 * The order scenarios run in: as given, and, when both s1-500 and s1-500-purge are there, s1-500-purge
 * right after s1-500 and `pairs - 1` more pairs right after it, alternating, so drift over the run hits
 * both sides alike. Each run is tagged with its pair (1 for the first, undefined outside the pairs).
 */
export function runOrder<S extends { id: string }>(
  specs: S[],
  pairs: number,
): Array<{ spec: S; pair?: number }> {
  const base = specs.find((s) => s.id === BASE_ID);
  const purge = specs.find((s) => s.id === PURGE_ID);
  if (!base || !purge) return specs.map((spec) => ({ spec }));
  const order: Array<{ spec: S; pair?: number }> = [];
  for (const spec of specs) {
    if (spec === purge) continue;
    if (spec !== base) {
      order.push({ spec });
      continue;
    }
    for (let pair = 1; pair <= pairs; pair++) order.push({ spec: base, pair }, { spec: purge, pair });
  }
  return order;
}

/** A scenario result as much as the pairs need of it. */
export interface PairedResult {
  id: string;
  delivery: { complete: boolean; latencyMs: { p99: number } };
  loadAverageBefore: number[];
  purge?: { seeded: number; removed: number };
}

/**
 * Splits the results of a run made in {@link runOrder}: the scenario results (the first pair's
 * included: its s1-500 is the run's s1-500) and the pairs, complete ones only (an interrupted run may
 * end inside one).
 */
export function collectRuns<R extends PairedResult>(
  runs: Array<{ pair?: number; result: R }>,
): { scenarios: R[]; pairs: PurgePair[] } {
  const scenarios = runs.filter((r) => r.pair === undefined || r.pair === 1).map((r) => r.result);
  const pairs: PurgePair[] = [];
  const numbers = [...new Set(runs.flatMap((r) => (r.pair === undefined ? [] : [r.pair])))];
  for (const n of numbers) {
    const base = runs.find((r) => r.pair === n && r.result.id === BASE_ID)?.result;
    const purge = runs.find((r) => r.pair === n && r.result.id === PURGE_ID)?.result;
    if (base && purge) pairs.push(pairOf(n, base, purge));
  }
  return { scenarios, pairs };
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
