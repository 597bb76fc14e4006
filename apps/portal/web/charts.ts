import { CircuitState, type EndpointHealthWindow, HealthWindow } from "@herald/contracts";

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
