// The filters' cost in the scenarios: s2-fanout-channels and s2-fanout-filters run as alternating pairs in
// one run, and the median over the pairs of routing's CPU per event and endpoint with filters less without
// is reported. Routing's whole CPU for the same scenario varies between runs by more than the few µs
// measured, so even the median of three pairs swung across the goal from run to run
// (docs/decisions/endpoint-filters.md): the goal is judged on the in-process micro-benchmark
// (filter-micro.ts) when the run has it, and on the pairs only in runs saved before it.
import type { FilterMicroResult } from "./filter-micro.js";
import { type Comparison, pairsOf } from "./paired-runs.js";
import { countFromEnv, median, round } from "./system.js";

/** The same half of the fan-out chosen by channel (the same tasks published), and by CEL filters. */
export const CHANNELS_ID = "s2-fanout-channels";
export const FILTERS_ID = "s2-fanout-filters";
/** The whole fan-out: the base of runs saved before s2-fanout-channels existed. */
export const PLAIN_ID = "s2-fanout";
/** "A few µs": routing's CPU per event per endpoint for the filters. */
export const FILTER_US_GOAL = 5;
/** Pairs a run makes unless BENCH_FILTER_PAIRS says otherwise. */
export const DEFAULT_FILTER_PAIRS = 3;
/** Filters per tenant when a result does not say (the scenario gives each of 10 endpoints one). */
const DEFAULT_PER_TENANT = 10;

/** A scenario result as much as the filters' pairs need of it. */
export interface FilterPairedResult {
  id: string;
  delivery: { complete: boolean };
  loadAverageBefore: number[];
  routingCpuUsPerEvent?: number;
  routingLoadCpuUsPerEvent?: number;
  filters?: { perTenant: number };
}

/** One side of a pair. */
export interface FilterPairSide {
  id: string;
  routingCpuUsPerEvent?: number;
  /** Over the load only, without the drain's idle CPU (recorded beside the goal's figure, not judged). */
  routingLoadCpuUsPerEvent?: number;
  complete: boolean;
  loadAverageBefore: number;
}

/** One pair: the base (s2-fanout-channels), then s2-fanout-filters right after it, on fresh stacks. */
export interface FilterPair {
  pair: number;
  base: FilterPairSide;
  filtered: FilterPairSide;
  /** Routing's CPU per event and endpoint, filtered less base; undefined when either was not measured. */
  filterUs?: number;
  /** Routing's whole CPU per event and endpoint with filters: an upper bound of the filters' cost. */
  upperUs?: number;
  /** As `filterUs`, from routing's CPU over the load only. */
  loadFilterUs?: number;
}

/** What the micro-benchmark and the pairs came to. */
export interface FilterGoal {
  /** The in-process measurement the goal is judged on, when the run has it. */
  micro?: FilterMicroResult;
  pairs: FilterPair[];
  medianUs?: number;
  medianUpperUs?: number;
  /** The median of `loadFilterUs`, when every pair has one (recorded, not judged). */
  medianLoadUs?: number;
  met: boolean;
}

/** BENCH_FILTER_PAIRS, else {@link DEFAULT_FILTER_PAIRS}. */
export function filterPairsFromEnv(env: Record<string, string | undefined>): number {
  return countFromEnv(env, "BENCH_FILTER_PAIRS", DEFAULT_FILTER_PAIRS);
}

/** The comparison the filters goal is judged over, `pairs` times. */
export function filterComparison(pairs: number): Comparison {
  return { base: CHANNELS_ID, variant: FILTERS_ID, pairs };
}

/** One pair from its two results. */
export function filterPairOf(
  pair: number,
  base: FilterPairedResult,
  filtered: FilterPairedResult,
): FilterPair {
  const side = (r: FilterPairedResult): FilterPairSide => ({
    id: r.id,
    ...(r.routingCpuUsPerEvent === undefined ? {} : { routingCpuUsPerEvent: r.routingCpuUsPerEvent }),
    ...(r.routingLoadCpuUsPerEvent === undefined
      ? {}
      : { routingLoadCpuUsPerEvent: r.routingLoadCpuUsPerEvent }),
    complete: r.delivery.complete,
    loadAverageBefore: r.loadAverageBefore[0] ?? 0,
  });
  const perTenant = filtered.filters?.perTenant ?? DEFAULT_PER_TENANT;
  const perEndpoint = (withFilters?: number, without?: number) =>
    withFilters !== undefined && without !== undefined
      ? round((withFilters - without) / perTenant, 2)
      : undefined;
  const filterUs = perEndpoint(filtered.routingCpuUsPerEvent, base.routingCpuUsPerEvent);
  const upperUs = perEndpoint(filtered.routingCpuUsPerEvent, 0);
  const loadFilterUs = perEndpoint(filtered.routingLoadCpuUsPerEvent, base.routingLoadCpuUsPerEvent);
  return {
    pair,
    base: side(base),
    filtered: side(filtered),
    ...(filterUs === undefined ? {} : { filterUs }),
    ...(upperUs === undefined ? {} : { upperUs }),
    ...(loadFilterUs === undefined ? {} : { loadFilterUs }),
  };
}

/** The filters' complete pairs from a run made in `runOrder` (paired-runs.ts). */
export function filterPairs(runs: Array<{ pair?: number; result: FilterPairedResult }>): FilterPair[] {
  return pairsOf(runs, { base: CHANNELS_ID, variant: FILTERS_ID }).map((p) =>
    filterPairOf(p.pair, p.base, p.variant),
  );
}

/**
 * The goal: the micro-benchmark's filter cost ≤ {@link FILTER_US_GOAL} when the run has it, else (a run
 * saved before it) the median of the pairs' filter cost; either way every filtered run complete. A run
 * saved before pairs counts its s2-fanout-filters against s2-fanout-channels (else against s2-fanout,
 * which publishes twice the tasks and so understates the filters) as one pair. Undefined when the run
 * has neither the micro-benchmark nor s2-fanout-filters with a base to set it against.
 */
export function filterGoal(results: {
  scenarios: FilterPairedResult[];
  filterPairs?: FilterPair[];
  filterMicro?: FilterMicroResult;
}): FilterGoal | undefined {
  let pairs = results.filterPairs;
  if (!pairs || pairs.length === 0) {
    const find = (id: string) => results.scenarios.find((s) => s.id === id);
    const filtered = find(FILTERS_ID);
    const channels = find(CHANNELS_ID);
    const base = channels?.routingCpuUsPerEvent !== undefined ? channels : find(PLAIN_ID);
    pairs = filtered && base ? [filterPairOf(1, base, filtered)] : [];
  }
  const micro = results.filterMicro;
  const present = (values: Array<number | undefined>) => values.filter((v) => v !== undefined);
  const costs = present(pairs.map((p) => p.filterUs));
  if (costs.length === 0 && !micro) return undefined;
  const loads = present(pairs.map((p) => p.loadFilterUs));
  const medianUs = costs.length === pairs.length ? median(costs) : undefined;
  const medianUpper = median(present(pairs.map((p) => p.upperUs)));
  const medianLoad = loads.length === pairs.length ? median(loads) : undefined;
  const judged = micro ? micro.perEndpointUs : medianUs;
  return {
    ...(micro ? { micro } : {}),
    pairs,
    ...(medianUs === undefined ? {} : { medianUs: round(medianUs, 2) }),
    ...(medianUpper === undefined ? {} : { medianUpperUs: round(medianUpper, 2) }),
    ...(medianLoad === undefined ? {} : { medianLoadUs: round(medianLoad, 2) }),
    met: judged !== undefined && judged <= FILTER_US_GOAL && pairs.every((p) => p.filtered.complete),
  };
}
