// The filters' own cost, measured in one process: routing's decision (`decideRoutes`) for the scenario's
// ten CEL filters against the same endpoints taking the same half of the events by channel, the two
// alternating round by round (test/bench/micro/route-filters.ts). The goal is judged on it: the
// whole-process pairs (filter-pairs.ts) swing from run to run by more than the goal allows, as routing's
// CPU for the same scenario does (docs/decisions/endpoint-filters.md); this figure does not.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The micro-benchmark's figures, in µs of CPU (best of its rounds). */
export interface FilterMicroResult {
  /** Routing's decision for one event over `endpoints` endpoints with filters. */
  filteredUs: number;
  /** The same endpoints taking the same events by channel. */
  channelsUs: number;
  /** (filteredUs − channelsUs) / endpoints: what the goal judges. */
  perEndpointUs: number;
  endpoints: number;
  rounds: number;
  iterations: number;
  /** The one-minute load average when it started. */
  loadAverageBefore: number;
}

const MICRO = fileURLToPath(new URL("./micro/route-filters.ts", import.meta.url));
const NUMBERS = [
  "filteredUs",
  "channelsUs",
  "perEndpointUs",
  "endpoints",
  "rounds",
  "iterations",
  "loadAverageBefore",
] as const;

/** The result on the last line of the micro-benchmark's `--json` output; throws on anything else. */
export function parseFilterMicro(output: string): FilterMicroResult {
  const last = output.trim().split("\n").at(-1) ?? "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    throw new Error(`route-filters micro-benchmark: no result line in its output: ${last.slice(0, 200)}`);
  }
  const record = (parsed ?? {}) as Record<string, unknown>;
  const missing = NUMBERS.filter((key) => typeof record[key] !== "number" || !Number.isFinite(record[key]));
  if (missing.length > 0) {
    throw new Error(
      `route-filters micro-benchmark: its result lacks ${missing.join(", ")}: ${last.slice(0, 200)}`,
    );
  }
  return Object.fromEntries(NUMBERS.map((key) => [key, record[key]])) as unknown as FilterMicroResult;
}

/** Runs the micro-benchmark in a child process of its own (after the build: it imports routing's dist). */
export function measureFilterMicro(timeoutMs = 180_000): Promise<FilterMicroResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [MICRO, "--json"],
      { timeout: timeoutMs, maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`route-filters micro-benchmark failed: ${err.message}\n${stderr.slice(-2000)}`));
          return;
        }
        try {
          resolve(parseFilterMicro(stdout));
        } catch (parseErr) {
          reject(parseErr);
        }
      },
    );
  });
}
