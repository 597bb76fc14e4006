// No imports: the CLI loads this module alone, without the rest of the platform library.

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "500ms", "5s", "5m", "2h" or "1d" to milliseconds; undefined when malformed. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (DURATION_UNITS_MS[match[2] as string] as number));
}

/**
 * Parses a comma-separated list of durations above zero ("5s, 5m,30m") to milliseconds. `bad` holds the
 * parts that are malformed or zero, for the caller's error message; `ms` counts only when it is empty.
 */
export function parseDurationListMs(text: string): { ms: number[]; bad: string[] } {
  const ms: number[] = [];
  const bad: string[] = [];
  for (const part of text.split(",").map((p) => p.trim())) {
    const value = parseDurationMs(part);
    if (value === undefined || value === 0) bad.push(part);
    else ms.push(value);
  }
  return { ms, bad };
}

/** 300000 → "5m", 1500 → "1500ms": the largest unit that divides the value. */
export function formatDurationMs(ms: number): string {
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ] as const) {
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
