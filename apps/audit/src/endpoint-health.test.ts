import { CircuitState, ErrorClass, HealthWindow } from "@herald/contracts";
import { describe, expect, it } from "vitest";
import type { AttemptDocument } from "./documents.js";
import {
  type EndpointHealthDocument,
  endpointHealth,
  LATENCY_RELATIVE_ERROR,
  latencyBucket,
  latencyOfBucket,
  percentiles,
  rollupIdsToRead,
  rollupUpdates,
} from "./endpoint-health.js";

const NOW = new Date("2026-01-10T12:07:00Z");

function attempt(endpointId: string, at: Date, fields: Partial<AttemptDocument> = {}): AttemptDocument {
  return {
    _id: `${endpointId}-${at.getTime()}-${Math.random()}`,
    tenant_id: "t1",
    event_id: "e1",
    endpoint_id: endpointId,
    attempt_number: 1,
    trigger: 1,
    success: true,
    response_status: 200,
    response_body: "",
    latency_ms: 50,
    error_class: ErrorClass.NONE,
    error_message: "",
    attempt_time: at,
    url: "https://example.com",
    ...fields,
  };
}

/** Applies updates the way MongoDB would, to documents kept in a map. */
function applyUpdates(docs: Map<string, EndpointHealthDocument>, attempts: AttemptDocument[]): void {
  for (const { _id, update } of rollupUpdates(attempts)) {
    const doc = (docs.get(_id) ?? { _id, ...update.$setOnInsert }) as unknown as Record<string, unknown>;
    for (const [path, n] of Object.entries(update.$inc ?? {})) {
      const [head, tail] = path.split(".") as [string, string | undefined];
      if (tail === undefined) doc[head] = ((doc[head] as number) ?? 0) + (n as number);
      else {
        const sub = (doc[head] ?? {}) as Record<string, number>;
        sub[tail] = (sub[tail] ?? 0) + (n as number);
        doc[head] = sub;
      }
    }
    for (const [field, time] of Object.entries(update.$max ?? {})) {
      if (!doc[field] || (doc[field] as Date) < (time as Date)) doc[field] = time;
    }
    docs.set(_id, doc as unknown as EndpointHealthDocument);
  }
}

describe("latency buckets", () => {
  it("report every latency within the stated relative error", () => {
    for (let ms = 2; ms < 200_000; ms = Math.ceil(ms * 1.013)) {
      const reported = latencyOfBucket(latencyBucket(ms));
      expect(Math.abs(reported - ms) / ms).toBeLessThanOrEqual(LATENCY_RELATIVE_ERROR + 1e-9);
    }
    expect(LATENCY_RELATIVE_ERROR).toBeCloseTo(0.0476, 4);
  });

  it("put 0 and 1 ms in bucket 0", () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(1)).toBe(0);
    expect(latencyBucket(2)).toBeGreaterThan(0);
  });

  it("take nearest-rank percentiles, 0 when empty", () => {
    const histogram = new Map<number, number>();
    for (let ms = 10; ms <= 1000; ms += 10) {
      const b = latencyBucket(ms);
      histogram.set(b, (histogram.get(b) ?? 0) + 1);
    }
    const p = percentiles(histogram);
    for (const [q, exact] of [
      [0.5, 500],
      [0.95, 950],
      [0.99, 990],
    ] as const) {
      expect(Math.abs(p(q) - exact)).toBeLessThanOrEqual(exact * LATENCY_RELATIVE_ERROR + 1);
    }
    expect(percentiles(new Map())(0.5)).toBe(0);
  });
});

describe("rollupUpdates", () => {
  it("writes one update per endpoint and bucket size, whatever the attempts", () => {
    const attempts = Array.from({ length: 50 }, (_, i) =>
      attempt(i % 2 === 0 ? "ep1" : "ep2", new Date(NOW.getTime() - 1000 - i)),
    );
    const updates = rollupUpdates(attempts);
    expect(updates.map((u) => u._id).sort()).toEqual(
      [
        `ep1:5m:${Date.parse("2026-01-10T12:05:00Z")}`,
        `ep1:1h:${Date.parse("2026-01-10T12:00:00Z")}`,
        `ep2:5m:${Date.parse("2026-01-10T12:05:00Z")}`,
        `ep2:1h:${Date.parse("2026-01-10T12:00:00Z")}`,
      ].sort(),
    );
    expect(updates[0]?.update.$inc).toMatchObject({ attempts: 25, succeeded: 25, "statuses.2xx": 25 });
  });

  it("returns nothing for no attempts", () => {
    expect(rollupUpdates([])).toEqual([]);
  });
});

describe("endpointHealth", () => {
  it("sums each window from its buckets and tells the circuit from the latest attempt", () => {
    const minutes = (m: number) => new Date(NOW.getTime() - m * 60_000);
    const docs = new Map<string, EndpointHealthDocument>();
    applyUpdates(docs, [
      attempt("ep1", minutes(2), { latency_ms: 100 }),
      attempt("ep1", minutes(30), {
        success: false,
        response_status: 503,
        error_class: ErrorClass.HTTP_STATUS,
        latency_ms: 200,
      }),
      attempt("ep1", minutes(5 * 60), {
        success: false,
        response_status: 0,
        error_class: ErrorClass.TIMEOUT,
      }),
      attempt("ep1", minutes(3 * 24 * 60), { response_status: 204 }),
      // Older than a week: read by no window.
      attempt("ep1", minutes(9 * 24 * 60)),
    ]);
    const ids = new Set(rollupIdsToRead("ep1", NOW));
    expect(ids.size).toBe(180);
    const read = [...docs.values()].filter((d) => ids.has(d._id));
    const health = endpointHealth(
      { tenantId: "t1", endpointId: "ep1" },
      read,
      { count: 3, countTime: NOW },
      NOW,
    );
    const [hour, day, week] = health.windows;
    expect(health.windows.map((w) => w.window)).toEqual([
      HealthWindow.HEALTH_WINDOW_1H,
      HealthWindow.HEALTH_WINDOW_24H,
      HealthWindow.HEALTH_WINDOW_7D,
    ]);
    expect(hour).toMatchObject({ attempts: 2n, succeeded: 1n, failed: 1n, successRate: 0.5 });
    expect(hour?.statusClasses).toMatchObject({ status2xx: 1n, status5xx: 1n, noResponse: 0n });
    expect(hour?.failures.map((f) => [f.errorClass, f.count])).toEqual([[ErrorClass.HTTP_STATUS, 1n]]);
    expect(day).toMatchObject({ attempts: 3n, succeeded: 1n, failed: 2n });
    expect(day?.statusClasses?.noResponse).toBe(1n);
    expect(week).toMatchObject({ attempts: 4n, succeeded: 2n, failed: 2n });
    expect(health.circuitState).toBe(CircuitState.CLOSED);
    expect(health.lastSuccessTime?.seconds).toBe(BigInt(minutes(2).getTime() / 1000));
    expect(health.lastFailureTime?.seconds).toBe(BigInt(minutes(30).getTime() / 1000));
    expect(health.backlog).toBe(3n);
  });

  it("gives each window its series: 5-minute points for the hour, hourly for the day, 6-hourly for the week", () => {
    const minutes = (m: number) => new Date(NOW.getTime() - m * 60_000);
    const docs = new Map<string, EndpointHealthDocument>();
    applyUpdates(docs, [
      attempt("ep1", minutes(2), { latency_ms: 100 }),
      attempt("ep1", minutes(1), { latency_ms: 300 }),
      attempt("ep1", minutes(30), { success: false, error_class: ErrorClass.HTTP_STATUS, latency_ms: 200 }),
      attempt("ep1", minutes(5 * 60)),
      attempt("ep1", minutes(3 * 24 * 60)),
      // Before the week's first bucket (2026-01-03T13:00): in no point.
      attempt("ep1", new Date("2026-01-03T12:59:00Z")),
    ]);
    const ids = new Set(rollupIdsToRead("ep1", NOW));
    const read = [...docs.values()].filter((d) => ids.has(d._id));
    const [hour, day, week] = endpointHealth(
      { tenantId: "t1", endpointId: "ep1" },
      read,
      { count: 0 },
      NOW,
    ).windows;
    const series = (w: typeof hour) =>
      w?.points.map((p) => [new Date(Number(p.startTime?.seconds) * 1000).toISOString(), p.attempts]);
    // The hour's points are its twelve 5-minute buckets, from 11:10; two attempts share 12:05's.
    expect(hour?.pointSeconds).toBe(300);
    expect(hour?.pointsStartTime?.seconds).toBe(BigInt(Date.parse("2026-01-10T11:10:00Z") / 1000));
    expect(series(hour)).toEqual([
      ["2026-01-10T11:35:00.000Z", 1n],
      ["2026-01-10T12:05:00.000Z", 2n],
    ]);
    // Latencies as their histogram buckets report them.
    const ms = (latency: number) => Math.round(latencyOfBucket(latencyBucket(latency)));
    expect(hour?.points[0]).toMatchObject({ succeeded: 0n, successRate: 0, latencyP50Ms: ms(200) });
    expect(hour?.points[1]).toMatchObject({
      succeeded: 2n,
      successRate: 1,
      latencyP50Ms: ms(100),
      latencyP99Ms: ms(300),
    });
    expect(day?.pointSeconds).toBe(3600);
    expect(series(day)).toEqual([
      ["2026-01-10T07:00:00.000Z", 1n],
      ["2026-01-10T11:00:00.000Z", 1n],
      ["2026-01-10T12:00:00.000Z", 2n],
    ]);
    // The week's 28 points count 6 hours each from its first bucket; the last holds the current hour.
    expect(week?.pointSeconds).toBe(21_600);
    expect(week?.pointsStartTime?.seconds).toBe(BigInt(Date.parse("2026-01-03T13:00:00Z") / 1000));
    expect(series(week)).toEqual([
      ["2026-01-07T07:00:00.000Z", 1n],
      ["2026-01-10T07:00:00.000Z", 4n],
    ]);
    expect(week?.points[1]).toMatchObject({ succeeded: 3n, successRate: 0.75 });
    // Each series adds up to its window.
    for (const w of [hour, day, week])
      expect(w?.points.reduce((sum, p) => sum + p.attempts, 0n)).toBe(w?.attempts);
  });

  it("says the circuit may be open when the latest attempt failed, unknown without attempts", () => {
    const docs = new Map<string, EndpointHealthDocument>();
    applyUpdates(docs, [
      attempt("ep1", new Date(NOW.getTime() - 60_000), {
        success: false,
        error_class: ErrorClass.CONNECTION,
      }),
      attempt("ep1", new Date(NOW.getTime() - 120_000)),
    ]);
    const ref = { tenantId: "t1", endpointId: "ep1" };
    const none = { count: 0 };
    expect(endpointHealth(ref, [...docs.values()], none, NOW).circuitState).toBe(CircuitState.MAYBE_OPEN);
    const empty = endpointHealth(ref, [], none, NOW);
    expect(empty.circuitState).toBe(CircuitState.UNKNOWN);
    expect(empty.windows[0]).toMatchObject({ attempts: 0n, successRate: 0, latencyP99Ms: 0, points: [] });
  });
});
