// The cold-start goal: one restart's p99 swings by more than the goal's margin on a shared machine, so a
// run restarts the stack BENCH_COLD_STARTS times in a row and the goal judges the median of their p99s
// (the runs that showed it: docs/decisions/single-event-speed.md, "What remains").
import { countFromEnv, median } from "./system.js";

/** The scenario run more than once. */
export const COLD_START_ID = "cold-start";
/** Runs of cold-start a bench run makes unless BENCH_COLD_STARTS says otherwise. */
export const DEFAULT_COLD_STARTS = 3;

/** BENCH_COLD_STARTS, else {@link DEFAULT_COLD_STARTS}. */
export function coldStartsFromEnv(env: Record<string, string | undefined>): number {
  return countFromEnv(env, "BENCH_COLD_STARTS", DEFAULT_COLD_STARTS);
}

/**
 * The order with cold-start run `runs` times in a row where it appears, each tagged with its run number
 * (1 for the first, whose result is the scenario's result; undefined for every other scenario).
 */
export function repeatColdStart<S extends { id: string }, E extends { spec: S }>(
  order: E[],
  runs: number,
): Array<E & { coldRun?: number }> {
  return order.flatMap((entry) =>
    entry.spec.id === COLD_START_ID
      ? Array.from({ length: runs }, (_, i) => ({ ...entry, coldRun: i + 1 }))
      : [entry],
  );
}

/** A scenario result as much as the cold-start goal needs of it. */
export interface ColdStartResult {
  id: string;
  publish: { sent: number; accepted: number; unsent: number; callLatencyMs: { p99: number } };
  delivery: { complete: boolean; unique: number; expected: number; latencyMs: { p99: number } };
  loadAverageBefore: number[];
}

/** One restart's figures. */
export interface ColdStartRun {
  run: number;
  p99Ms: number;
  callP99Ms: number;
  /** Every call accepted and every event delivered within the drain. */
  complete: boolean;
  delivered: number;
  expected: number;
  loadAverageBefore: number;
}

/** One run's figures from its result. */
export function coldStartRunOf(run: number, r: ColdStartResult): ColdStartRun {
  return {
    run,
    p99Ms: r.delivery.latencyMs.p99,
    callP99Ms: r.publish.callLatencyMs.p99,
    complete: r.delivery.complete && r.publish.unsent === 0 && r.publish.accepted === r.publish.sent,
    delivered: r.delivery.unique,
    expected: r.delivery.expected,
    loadAverageBefore: r.loadAverageBefore[0] ?? 0,
  };
}

/**
 * Splits a run's results: the scenario results (the first cold start among them) and every cold start's
 * figures, in order.
 */
export function collectColdStarts<E extends { coldRun?: number; result: ColdStartResult }>(
  runs: E[],
): { scenarios: E[]; coldStarts: ColdStartRun[] } {
  return {
    scenarios: runs.filter((r) => r.coldRun === undefined || r.coldRun === 1),
    coldStarts: runs.flatMap((r) => (r.coldRun === undefined ? [] : [coldStartRunOf(r.coldRun, r.result)])),
  };
}

/** What the cold starts came to: the median p99 and whether it meets the goal. */
export interface ColdStartGoal {
  runs: ColdStartRun[];
  medianP99Ms: number;
  met: boolean;
}

/**
 * The goal over a run's cold starts: the median p99 ≤ `p99Ms`, every run complete. A run saved before
 * repeats (no `coldStarts`) counts its one cold-start scenario. Undefined when the run had none.
 */
export function coldStartGoal(
  results: { scenarios: ColdStartResult[]; coldStarts?: ColdStartRun[] },
  p99Ms: number,
): ColdStartGoal | undefined {
  let runs = results.coldStarts;
  if (!runs || runs.length === 0) {
    const one = results.scenarios.find((s) => s.id === COLD_START_ID);
    runs = one ? [coldStartRunOf(1, one)] : [];
  }
  if (runs.length === 0) return undefined;
  const medianP99Ms = median(runs.map((r) => r.p99Ms)) as number;
  return { runs, medianP99Ms, met: medianP99Ms <= p99Ms && runs.every((r) => r.complete) };
}
