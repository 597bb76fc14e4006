import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  CircuitState,
  type EndpointHealth,
  EndpointHealthPointSchema,
  EndpointHealthSchema,
  type EndpointHealthWindow,
  EndpointHealthWindowSchema,
  ErrorClass,
  ErrorClassCountSchema,
  HealthWindow,
  StatusClassCountsSchema,
} from "@herald/contracts";
import type { UpdateFilter } from "mongodb";
import type { AttemptDocument } from "./documents.js";

// Rollups of attempts per endpoint and time bucket, kept by audit's writer as it records attempts, so
// GetEndpointHealth reads a few hundred small documents by `_id` instead of the attempt log. The design
// and its costs: docs/decisions/endpoint-health-rollups.md.

/** The two bucket sizes: 5-minute buckets make the last hour, hourly ones the last day and week. */
export const BUCKET_SPANS = { "5m": 5 * 60_000, "1h": 3_600_000 } as const;
export type BucketSpan = keyof typeof BUCKET_SPANS;

/** Rollups older than this are purged; the longest window is 7 days. */
export const ROLLUP_RETENTION_MS = 8 * 86_400_000;

/**
 * Ratio between the bounds of consecutive latency buckets. Reporting a bucket's value as
 * 2·γ^i/(γ+1) puts it within (γ−1)/(γ+1) of every latency in the bucket (as DDSketch does).
 */
const GAMMA = 1.1;
export const LATENCY_RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1);
const LOG_GAMMA = Math.log(GAMMA);

/** One endpoint's attempts in one time bucket; `_id` is {@link rollupId}. */
export interface EndpointHealthDocument {
  _id: string;
  tenant_id: string;
  endpoint_id: string;
  span: BucketSpan;
  bucket_start: Date;
  attempts: number;
  succeeded: number;
  failed: number;
  /** Failed attempts by herald.v1.ErrorClass number. */
  errors: Record<string, number>;
  /** Attempts by status class: "1xx" … "5xx", "none" without a response. */
  statuses: Record<string, number>;
  /** Attempts by latency bucket index (see {@link latencyBucket}). */
  latency: Record<string, number>;
  /** Absent until an attempt of that outcome. */
  last_success_time?: Date;
  last_failure_time?: Date;
}

/** `_id` of an endpoint's rollup for the bucket that starts at `bucketStart` (ms). */
export function rollupId(endpointId: string, span: BucketSpan, bucketStart: number): string {
  return `${endpointId}:${span}:${bucketStart}`;
}

export function bucketStart(time: number, span: BucketSpan): number {
  return time - (time % BUCKET_SPANS[span]);
}

/** Index of the latency bucket of `ms`: 0 holds up to 1 ms, i ≥ 1 holds (γ^(i−1), γ^i]. */
export function latencyBucket(ms: number): number {
  return ms <= 1 ? 0 : Math.ceil(Math.log(ms) / LOG_GAMMA);
}

/** The latency reported for bucket `index`. */
export function latencyOfBucket(index: number): number {
  return index === 0 ? 1 : (2 * GAMMA ** index) / (GAMMA + 1);
}

function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "none";
}

/** What one batch adds to one rollup. */
interface RollupIncrement {
  tenantId: string;
  endpointId: string;
  span: BucketSpan;
  bucketStart: Date;
  counts: Record<string, number>;
  lastSuccess?: Date;
  lastFailure?: Date;
}

/**
 * Folds a batch's new attempts into one update per rollup they touch (two per endpoint, more only
 * where the batch spans a bucket's end): the writes grow with the endpoints in a batch, not its attempts.
 */
export function rollupUpdates(
  attempts: readonly AttemptDocument[],
): { _id: string; update: UpdateFilter<EndpointHealthDocument> }[] {
  const increments = new Map<string, RollupIncrement>();
  for (const a of attempts) {
    const time = a.attempt_time.getTime();
    for (const span of Object.keys(BUCKET_SPANS) as BucketSpan[]) {
      const start = bucketStart(time, span);
      const id = rollupId(a.endpoint_id, span, start);
      let inc = increments.get(id);
      if (!inc) {
        inc = {
          tenantId: a.tenant_id,
          endpointId: a.endpoint_id,
          span,
          bucketStart: new Date(start),
          counts: {},
        };
        increments.set(id, inc);
      }
      const add = (field: string) => {
        (inc as RollupIncrement).counts[field] = ((inc as RollupIncrement).counts[field] ?? 0) + 1;
      };
      add("attempts");
      add(a.success ? "succeeded" : "failed");
      if (!a.success) add(`errors.${a.error_class}`);
      add(`statuses.${statusClass(a.response_status)}`);
      add(`latency.${latencyBucket(a.latency_ms)}`);
      if (a.success && !(inc.lastSuccess && inc.lastSuccess >= a.attempt_time))
        inc.lastSuccess = a.attempt_time;
      if (!a.success && !(inc.lastFailure && inc.lastFailure >= a.attempt_time))
        inc.lastFailure = a.attempt_time;
    }
  }
  return [...increments].map(([_id, inc]) => {
    const max: Record<string, Date> = {};
    if (inc.lastSuccess) max.last_success_time = inc.lastSuccess;
    if (inc.lastFailure) max.last_failure_time = inc.lastFailure;
    return {
      _id,
      update: {
        $setOnInsert: {
          tenant_id: inc.tenantId,
          endpoint_id: inc.endpointId,
          span: inc.span,
          bucket_start: inc.bucketStart,
        },
        $inc: inc.counts,
        ...(Object.keys(max).length > 0 ? { $max: max } : {}),
      } as UpdateFilter<EndpointHealthDocument>,
    };
  });
}

/**
 * The buckets a window sums, newest first: its span and how many buckets back from the current one;
 * and how many buckets make one point of its series (the week in 28 points of 6 hours, so a page of
 * ListEndpointHealth stays small).
 */
const WINDOWS: readonly { window: HealthWindow; span: BucketSpan; buckets: number; perPoint: number }[] = [
  { window: HealthWindow.HEALTH_WINDOW_1H, span: "5m", buckets: 12, perPoint: 1 },
  { window: HealthWindow.HEALTH_WINDOW_24H, span: "1h", buckets: 24, perPoint: 1 },
  { window: HealthWindow.HEALTH_WINDOW_7D, span: "1h", buckets: 168, perPoint: 6 },
];

/** `_id`s of every rollup {@link endpointHealth} reads for an endpoint at `now` (180 of them). */
export function rollupIdsToRead(endpointId: string, now: Date): string[] {
  const ids = new Set<string>();
  for (const w of WINDOWS) {
    const current = bucketStart(now.getTime(), w.span);
    for (let i = 0; i < w.buckets; i++)
      ids.add(rollupId(endpointId, w.span, current - i * BUCKET_SPANS[w.span]));
  }
  return [...ids];
}

/** The endpoint's backlog as of the last count; no time when none has run yet. */
export interface Backlog {
  count: number;
  countTime?: Date;
}

/** Sums an endpoint's rollups (those {@link rollupIdsToRead} named) into its health at `now`. */
export function endpointHealth(
  ref: { tenantId: string; endpointId: string },
  rollups: readonly EndpointHealthDocument[],
  backlog: Backlog,
  now: Date,
): EndpointHealth {
  const windows = WINDOWS.map((w) => {
    const from = bucketStart(now.getTime(), w.span) - (w.buckets - 1) * BUCKET_SPANS[w.span];
    const inWindow = rollups.filter((r) => r.span === w.span && r.bucket_start.getTime() >= from);
    const pointMs = BUCKET_SPANS[w.span] * w.perPoint;
    const summed = sumRollups(inWindow);
    return create(EndpointHealthWindowSchema, {
      ...summed,
      window: w.window,
      points: pointsOf(inWindow, from, pointMs),
      pointSeconds: pointMs / 1000,
      pointsStartTime: timestampFromDate(new Date(from)),
    });
  });
  const week = rollups.filter((r) => r.span === "1h");
  const lastSuccess = latest(week.map((r) => r.last_success_time));
  const lastFailure = latest(week.map((r) => r.last_failure_time));
  const latestAttempt = latest([lastSuccess, lastFailure]);
  const circuitState = !latestAttempt
    ? CircuitState.UNKNOWN
    : latestAttempt === lastSuccess
      ? CircuitState.CLOSED
      : CircuitState.MAYBE_OPEN;
  return create(EndpointHealthSchema, {
    tenantId: ref.tenantId,
    endpointId: ref.endpointId,
    windows,
    lastSuccessTime: lastSuccess ? timestampFromDate(lastSuccess) : undefined,
    lastFailureTime: lastFailure ? timestampFromDate(lastFailure) : undefined,
    circuitState,
    circuitStateTime: latestAttempt ? timestampFromDate(latestAttempt) : undefined,
    backlog: BigInt(backlog.count),
    backlogTime: backlog.countTime ? timestampFromDate(backlog.countTime) : undefined,
    latencyRelativeError: LATENCY_RELATIVE_ERROR,
  });
}

/**
 * A window's series: its rollups grouped by the point of length `pointMs` they fall in, counting from
 * the window's first bucket `from`; oldest first, points without attempts left out.
 */
export function pointsOf(
  rollups: readonly EndpointHealthDocument[],
  from: number,
  pointMs: number,
): EndpointHealthWindow["points"] {
  const groups = new Map<number, EndpointHealthDocument[]>();
  for (const r of rollups) {
    const start = from + Math.floor((r.bucket_start.getTime() - from) / pointMs) * pointMs;
    groups.set(start, [...(groups.get(start) ?? []), r]);
  }
  return [...groups]
    .sort(([a], [b]) => a - b)
    .map(([start, group]) => ({ start, sum: sumRollups(group) }))
    .filter(({ sum }) => sum.attempts > 0n)
    .map(({ start, sum }) =>
      create(EndpointHealthPointSchema, {
        startTime: timestampFromDate(new Date(start)),
        attempts: sum.attempts,
        succeeded: sum.succeeded,
        successRate: sum.successRate,
        latencyP50Ms: sum.latencyP50Ms,
        latencyP95Ms: sum.latencyP95Ms,
        latencyP99Ms: sum.latencyP99Ms,
      }),
    );
}

/** The sums of a window (or of one point), without its window and series. */
type RollupSums = Omit<EndpointHealthWindow, "$typeName" | "window" | "points" | "pointSeconds">;

function sumRollups(rollups: readonly EndpointHealthDocument[]): RollupSums {
  let attempts = 0;
  let succeeded = 0;
  let failed = 0;
  const errors = new Map<number, number>();
  const statuses = new Map<string, number>();
  const latency = new Map<number, number>();
  for (const r of rollups) {
    attempts += r.attempts ?? 0;
    succeeded += r.succeeded ?? 0;
    failed += r.failed ?? 0;
    for (const [k, n] of Object.entries(r.errors ?? {}))
      errors.set(Number(k), (errors.get(Number(k)) ?? 0) + n);
    for (const [k, n] of Object.entries(r.statuses ?? {})) statuses.set(k, (statuses.get(k) ?? 0) + n);
    for (const [k, n] of Object.entries(r.latency ?? {}))
      latency.set(Number(k), (latency.get(Number(k)) ?? 0) + n);
  }
  const status = (k: string) => BigInt(statuses.get(k) ?? 0);
  const percentile = percentiles(latency);
  return {
    attempts: BigInt(attempts),
    succeeded: BigInt(succeeded),
    failed: BigInt(failed),
    failures: [...errors]
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => a - b)
      .map(([errorClass, n]) =>
        create(ErrorClassCountSchema, {
          errorClass: errorClass in ErrorClass ? errorClass : ErrorClass.UNSPECIFIED,
          count: BigInt(n),
        }),
      ),
    statusClasses: create(StatusClassCountsSchema, {
      status1xx: status("1xx"),
      status2xx: status("2xx"),
      status3xx: status("3xx"),
      status4xx: status("4xx"),
      status5xx: status("5xx"),
      noResponse: status("none"),
    }),
    successRate: attempts === 0 ? 0 : succeeded / attempts,
    latencyP50Ms: percentile(0.5),
    latencyP95Ms: percentile(0.95),
    latencyP99Ms: percentile(0.99),
  };
}

/**
 * The q-quantile of a latency histogram, in whole ms: the value of the bucket holding the attempt of
 * rank ⌈q·n⌉ (the nearest-rank definition). 0 for an empty histogram.
 */
export function percentiles(histogram: ReadonlyMap<number, number>): (q: number) => number {
  const buckets = [...histogram].filter(([, n]) => n > 0).sort(([a], [b]) => a - b);
  const total = buckets.reduce((sum, [, n]) => sum + n, 0);
  return (q) => {
    if (total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (const [index, n] of buckets) {
      seen += n;
      if (seen >= rank) return Math.round(latencyOfBucket(index));
    }
    return 0;
  };
}

function latest(times: readonly (Date | undefined)[]): Date | undefined {
  let found: Date | undefined;
  for (const t of times) if (t && (!found || t > found)) found = t;
  return found;
}
