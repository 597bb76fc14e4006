// What the machine is and what its processes cost: /proc readings, percentiles, small helpers.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Wall clock in ms with sub-millisecond resolution, comparable across this process. */
export const nowMs = () => performance.timeOrigin + performance.now();

/** Latency percentiles in ms. */
export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of `values` (sorted in place). */
export function percentiles(values: Float64Array | number[]): Percentiles {
  const sorted = values instanceof Float64Array ? values.sort() : Float64Array.from(values).sort();
  const at = (p: number) => {
    if (sorted.length === 0) return 0;
    const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return round(sorted[index] ?? 0);
  };
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: at(100) };
}

/** A growable list of numbers that does not box them. */
export class Samples {
  #values = new Float64Array(1024);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.#length++] = value;
  }

  get length(): number {
    return this.#length;
  }

  /** A copy of the values. */
  values(): Float64Array {
    return this.#values.slice(0, this.#length);
  }

  percentiles(): Percentiles {
    return percentiles(this.values());
  }

  /** Percentiles of several sample sets taken together. */
  static merged(samples: Samples[]): Percentiles {
    const all = new Float64Array(samples.reduce((n, s) => n + s.length, 0));
    let offset = 0;
    for (const s of samples) {
      all.set(s.values(), offset);
      offset += s.length;
    }
    return percentiles(all);
  }
}

/** The median: the middle value, or the mean of the middle two; undefined for none. */
export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * A count the run repeats something by, from the environment variable `name`: `fallback` when unset or
 * empty, else a whole number from 1; anything else is refused rather than guessed.
 */
export function countFromEnv(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number ≥ 1, not "${raw}"`);
  return n;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU time (user + system) a process used so far, and its peak and current resident memory. */
export interface ProcessReading {
  cpuMs: number;
  peakRssMiB: number;
  rssMiB: number;
}

export function readProcess(pid: number): ProcessReading | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may hold spaces and parentheses: state is field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime (14) + stime (15)
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return {
      cpuMs: (ticks * 1000) / ticksPerSecond(),
      peakRssMiB: round(kib("VmHWM") / 1024),
      rssMiB: round(kib("VmRSS") / 1024),
    };
  } catch {
    return undefined;
  }
}

/** Pids of processes whose command name is `comm` and whose command line includes `args`. */
export function pidsByName(comm: string, args = ""): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== comm) continue;
      if (args && !readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").includes(args))
        continue;
      pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/**
 * Busy, stolen and total jiffies of the whole machine, from /proc/stat. Stolen time is what the
 * hypervisor gave other guests while this one wanted to run: a run with much of it is slower throughout.
 */
export function machineCpuTicks(): { busy: number; steal: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
  return { busy: total - idle, steal: values[7] ?? 0, total };
}

/**
 * Microseconds that a fixed piece of single-core work takes (SHA-256 over 16 MiB in 4 KiB blocks: native
 * code, no garbage, no JIT tiers to vary), the best of five tries. Taken before each scenario's window, with
 * its stack idle: a host that slows mid-run (other guests on the same physical cores, a lower clock) takes
 * longer here even when the hypervisor steals nothing, so a scenario's CPU per event can be read against
 * the host's speed at the time.
 */
export function cpuProbeUs(): number {
  const block = Buffer.alloc(4096, 7);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < 4_096; i++) createHash("sha256").update(block).digest();
    best = Math.min(best, performance.now() - started);
  }
  return Math.round(best * 1000);
}

export function loadAverage(): number[] {
  return os.loadavg().map((v) => round(v, 2));
}

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  os: string;
  date: string;
  rabbitmq: string;
}

export function machineInfo(rabbitmq: string): MachineInfo {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    cores: os.availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown",
    memoryGiB: round(os.totalmem() / 1024 ** 3),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
    rabbitmq,
  };
}

/** Runs `task` for every index in [0, count) with at most `limit` at once. */
export async function pool(count: number, limit: number, task: (index: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/**
 * This process's longest event-loop pause in each second since it started: a pause (its own garbage
 * collection, a long tick) holds back the sends and receipt times it measures, so a slow second can be
 * told apart from one where the benchmark itself stalled.
 */
export class LoopPauses {
  readonly #startedAt = nowMs();
  readonly #longest: number[] = [];
  #last = this.#startedAt;
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs = 10) {
    this.#timer = setInterval(() => {
      const now = nowMs();
      const second = Math.floor((now - this.#startedAt) / 1000);
      this.#longest[second] = Math.max(this.#longest[second] ?? 0, now - this.#last - intervalMs);
      this.#last = now;
    }, intervalMs);
  }

  /** Stops sampling; the longest pause of each second, in ms. */
  stop(): number[] {
    clearInterval(this.#timer);
    return Array.from(this.#longest, (ms) => Math.max(0, Math.round(ms ?? 0)));
  }
}
