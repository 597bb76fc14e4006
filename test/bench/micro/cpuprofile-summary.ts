// Summarises a V8 .cpuprofile (`BENCH_SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=…" npm run bench`):
// self time by package and by function, and optionally inclusive time, a top-down tree and the callers
// of a function, over a window of the profile (by default its busiest WINDOW seconds, which skips the
// start-up and the drain). Shares are of the samples in which the process was not idle; on a loaded
// machine V8 charges the time a thread waits to be scheduled to the frame it stopped in (a socket
// write, mostly), so compare shares within one profile. Not part of `npm run bench`:
//   npx node test/bench/micro/cpuprofile-summary.ts <file.cpuprofile> [top functions] [window seconds]
// Environment: FROM=<µs> starts the window there (the profiles' clock, which `PRINT_FROM=1` prints: use
// ingest's to look at every service over the same seconds); INCLUSIVE=<n> lists the n largest inclusive
// times; TREE=<min %> prints the call tree down to nodes of that share; CALLERS=<text> sums the stacks
// (DEPTH frames up, default 4) of the frames whose label contains the text.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, windowArg] = process.argv.slice(2);
if (!file) throw new Error("usage: cpuprofile-summary.ts <file.cpuprofile> [top] [window seconds]");
const TOP = Number(topArg ?? 40);
const WINDOW_S = Number(windowArg ?? 30);
const env = process.env;

const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const node = (id: number) => byId.get(id) as ProfileNode;

// Idle, and the exit that writes the profile, are not work.
const idle = new Set(
  profile.nodes
    .filter((n) => n.callFrame.functionName === "(idle)" || n.callFrame.functionName === "reallyExit")
    .map((n) => n.id),
);
/** The µs sample `i` stands for, and the second of the profile it fell in. */
const duration = (i: number) => profile.timeDeltas[i + 1] ?? 0;
const seconds: number[] = [];
let clock = profile.startTime;
for (const delta of profile.timeDeltas) {
  clock += delta;
  seconds.push(Math.floor((clock - profile.startTime) / 1e6));
}

let from = 0;
if (env.FROM) {
  from = Math.floor((Number(env.FROM) - profile.startTime) / 1e6);
} else {
  const busy = new Map<number, number>();
  seconds.forEach((second, i) => {
    if (!idle.has(profile.samples[i] as number)) busy.set(second, (busy.get(second) ?? 0) + duration(i));
  });
  let best = -1;
  for (let start = 0; start <= (seconds.at(-1) ?? 0); start++) {
    let sum = 0;
    for (let s = start; s < start + WINDOW_S; s++) sum += busy.get(s) ?? 0;
    if (sum > best) [best, from] = [sum, start];
  }
}
const inWindow = (i: number) => (seconds[i] as number) >= from && (seconds[i] as number) < from + WINDOW_S;

const label = (n: ProfileNode) => {
  const url = n.callFrame.url
    .replace(/^file:\/\/.*\/node_modules\//, "")
    .replace(/^file:\/\/.*\/(apps|libs)\//, "$1/");
  return `${n.callFrame.functionName || "(anonymous)"} ${url}:${n.callFrame.lineNumber + 1}`;
};
const packageOf = (n: ProfileNode) => {
  const { functionName, url } = n.callFrame;
  if (functionName.startsWith("(")) return functionName;
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1] as string;
  const herald = /(apps|libs)\/([^/]+)\//.exec(url);
  if (herald) return `herald ${herald[1]}/${herald[2]}`;
  return url.startsWith("node:") ? "node (internal)" : "native / VM";
};

let busyTotal = 0;
let idleTotal = 0;
const selfByPackage = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const inclusive = new Map<string, number>();
const selfByNode = new Map<number, number>();
const callers = new Map<string, number>();
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
profile.samples.forEach((id, i) => {
  if (!inWindow(i)) return;
  const us = duration(i);
  if (idle.has(id)) {
    idleTotal += us;
    return;
  }
  busyTotal += us;
  selfByNode.set(id, (selfByNode.get(id) ?? 0) + us);
  add(selfByPackage, packageOf(node(id)), us);
  add(selfByFunction, label(node(id)), us);
  const stack: string[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) stack.push(label(node(at)));
  for (const frame of new Set(stack)) add(inclusive, frame, us);
  if (env.CALLERS) {
    const hit = stack.findIndex((frame) => frame.includes(env.CALLERS as string));
    if (hit >= 0) add(callers, stack.slice(hit, hit + 1 + Number(env.DEPTH ?? 4)).join(" ← "), us);
  }
});

const share = (us: number) => `${((100 * us) / busyTotal).toFixed(1).padStart(5)}%`;
const list = (title: string, map: Map<string, number>, count: number) => {
  console.log(`\n== ${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    console.log(`${share(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
  }
};
console.log(
  `${file}: ${from}–${from + WINDOW_S} s (FROM=${profile.startTime + from * 1e6}), busy ${(busyTotal / 1000).toFixed(0)} ms, idle ${(idleTotal / 1000).toFixed(0)} ms`,
);
list("self time by package", selfByPackage, 20);
list("self time by function", selfByFunction, TOP);
if (env.INCLUSIVE) list("inclusive time by function", inclusive, Number(env.INCLUSIVE));
if (env.CALLERS) list(`stacks of ${env.CALLERS}`, callers, 20);

if (env.TREE) {
  const min = (Number(env.TREE) / 100) * busyTotal;
  const total = new Map<number, number>();
  const sum = (id: number): number => {
    let us = selfByNode.get(id) ?? 0;
    for (const child of node(id).children ?? []) us += sum(child);
    total.set(id, us);
    return us;
  };
  const root = profile.nodes[0] as ProfileNode;
  sum(root.id);
  // Siblings with the same label (one function reached by several call sites) are merged.
  const walk = (ids: number[], depth: number) => {
    const groups = new Map<string, number[]>();
    for (const id of ids) groups.set(label(node(id)), [...(groups.get(label(node(id))) ?? []), id]);
    const rows = [...groups].map(([key, members]) => ({
      key,
      members,
      us: members.reduce((acc, id) => acc + (total.get(id) ?? 0), 0),
    }));
    for (const row of rows.sort((a, b) => b.us - a.us)) {
      if (row.us < min) continue;
      console.log(`${share(row.us)} ${"  ".repeat(depth)}${row.key}`);
      walk(
        row.members.flatMap((id) => node(id).children ?? []),
        depth + 1,
      );
    }
  };
  console.log("\n== call tree");
  walk([root.id], 0);
}
