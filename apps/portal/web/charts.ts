import {
  CircuitState,
  type EndpointHealthPoint,
  type EndpointHealthWindow,
  HealthWindow,
} from "@herald/contracts";

export const WINDOW_NAMES: Record<number, string> = {
  [HealthWindow.HEALTH_WINDOW_1H]: "1 h",
  [HealthWindow.HEALTH_WINDOW_24H]: "24 h",
  [HealthWindow.HEALTH_WINDOW_7D]: "7 d",
};

export const CIRCUIT_NAMES: Record<number, { text: string; ok?: boolean }> = {
  [CircuitState.UNKNOWN]: { text: "unknown: no attempt in the last week" },
  [CircuitState.CLOSED]: { text: "closed: the latest attempt succeeded", ok: true },
  [CircuitState.MAYBE_OPEN]: { text: "maybe open: the latest attempt failed", ok: false },
};

/** The smallest of 1, 2, 5 × 10ⁿ at or above `value` (at least 1): a latency axis's end. */
export function niceCeiling(value: number): number {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** `value` of `max` as a length of at most `width`, never negative; 0 when `max` is 0. */
export function scaled(value: number, max: number, width: number): number {
  if (max <= 0 || value <= 0) return 0;
  return Math.min(width, (value / max) * width);
}

export function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate === 1 || rate === 0 ? 0 : 1)} %`;
}

/** One sentence a screen reader says for the success rate chart. */
export function successSummary(windows: readonly EndpointHealthWindow[]): string {
  const parts = windows.map(
    (w) =>
      `${WINDOW_NAMES[w.window] ?? "?"}: ${w.attempts === 0n ? "no attempts" : `${percent(w.successRate)} of ${w.attempts}`}`,
  );
  return `Success rate. ${parts.join("; ")}.`;
}

/** One sentence a screen reader says for the latency chart. */
export function latencySummary(windows: readonly EndpointHealthWindow[]): string {
  const parts = windows.map((w) =>
    w.attempts === 0n
      ? `${WINDOW_NAMES[w.window] ?? "?"}: no attempts`
      : `${WINDOW_NAMES[w.window] ?? "?"}: p50 ${w.latencyP50Ms} ms, p95 ${w.latencyP95Ms} ms, p99 ${w.latencyP99Ms} ms`,
  );
  return `Latency. ${parts.join("; ")}.`;
}

/** How many points each window's series has: audit's 5-minute, hourly and 6-hourly points. */
export const SERIES_SLOTS: Record<number, number> = {
  [HealthWindow.HEALTH_WINDOW_1H]: 12,
  [HealthWindow.HEALTH_WINDOW_24H]: 24,
  [HealthWindow.HEALTH_WINDOW_7D]: 28,
};

/**
 * A window's series laid out in its slots, oldest first: each point in the slot its start time falls
 * in from the window's first point, `undefined` where there were no attempts.
 */
export function seriesSlots(w: EndpointHealthWindow): (EndpointHealthPoint | undefined)[] {
  const slots: (EndpointHealthPoint | undefined)[] = Array.from({ length: SERIES_SLOTS[w.window] ?? 0 });
  const start = Number(w.pointsStartTime?.seconds ?? 0n);
  for (const p of w.points) {
    const slot = Math.floor((Number(p.startTime?.seconds ?? 0n) - start) / Math.max(1, w.pointSeconds));
    if (slot >= 0 && slot < slots.length) slots[slot] = p;
  }
  return slots;
}

function pointLength(seconds: number): string {
  return seconds >= 3600 ? `${seconds / 3600}-hour` : `${seconds / 60}-minute`;
}

/** One sentence a screen reader says for the chart over time. */
export function seriesSummary(windows: readonly EndpointHealthWindow[]): string {
  const parts = windows.map((w) => {
    const name = WINDOW_NAMES[w.window] ?? "?";
    const slots = seriesSlots(w);
    const points = slots.filter((p) => p !== undefined);
    if (points.length === 0) return `${name}: no attempts`;
    const rates = points.map((p) => p.successRate);
    const p95 = Math.max(...points.map((p) => p.latencyP95Ms));
    return (
      `${name}: attempts in ${points.length} of ${slots.length} ${pointLength(w.pointSeconds)} points, ` +
      `success rate ${percent(Math.min(...rates))} to ${percent(Math.max(...rates))}, p95 up to ${p95} ms`
    );
  });
  return `Over time. ${parts.join("; ")}.`;
}
