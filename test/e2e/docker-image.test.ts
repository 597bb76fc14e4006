import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { cleanupTestEnv, TEST_ADMIN_KEY, testEnv } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  dockerIgnored,
  dockerIgnorePatterns,
  type Instruction,
  logicalLines,
  mapImagePaths,
  parseDockerfile,
  parseInstruction,
  type Stage,
} from "./support/dockerfile.js";
import { freePort, REPO_ROOT } from "./support/stack.js";

// The Docker image, checked without a Docker engine (CI and this machine have only the client). The
// Dockerfile is read instruction by instruction (support/dockerfile.ts refuses any it does not know) and
// its stages are played on this machine, the image's absolute paths (/herald, /runtime) mapped to
// temporary directories by text substitution in each RUN line:
// - the build stage: its COPYs from the checkout (minus .dockerignore). Its `npm ci` and `nx build` are
//   what scripts/test.sh already ran in the checkout, so the checkout's dist/ of each project it builds
//   stands for the build's output; the RUN lines that assemble /runtime run literally with sh.
// - the runtime stage: /runtime copied into a fresh directory and its RUN line run literally with sh
//   (npm ci --omit=dev, offline from the npm cache the checkout's install filled), then every entry point
//   of docker-compose.yml started from there with NODE_ENV=production against the test's RabbitMQ and
//   MongoDB, and the CLI asked for its help.
// Not checked: the base image's contents (this runs on this machine's OS, with its Node 24 and npm),
// file ownership and USER, and the layers Docker would cache.

const DOCKERFILE = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
const COMPOSE = readFileSync(join(REPO_ROOT, "docker-compose.yml"), "utf8");
/** The services of the stack, routing first. */
const SERVICES = ["routing", "ingest", "delivery", "audit"] as const;

describe("the Dockerfile reader", () => {
  it("joins continued lines, drops comments (inside an instruction too) and keeps the first line's number", () => {
    expect(logicalLines("# head\nFROM a AS b\n\nRUN x && \\\n  # inside\n  y\nUSER node\n")).toEqual([
      { line: 2, text: "FROM a AS b" },
      { line: 4, text: "RUN x &&  y" },
      { line: 7, text: "USER node" },
    ]);
    expect(() => logicalLines("FROM a\nRUN x \\")).toThrow(
      /line 2: the last instruction ends with a backslash/,
    );
  });

  it("reads FROM, WORKDIR, COPY [--from], RUN, ENV and USER into stages", () => {
    const stages = parseDockerfile(
      "FROM node:24 AS build\nWORKDIR /w\nCOPY a b ./\nRUN make\nFROM node:24\nENV A=1 B=2\nENV C 3\nCOPY --from=build /out ./\nUSER node\n",
    );
    expect(stages).toEqual([
      {
        image: "node:24",
        name: "build",
        instructions: [
          { kind: "WORKDIR", line: 2, path: "/w" },
          { kind: "COPY", line: 3, from: undefined, sources: ["a", "b"], dest: "./" },
          { kind: "RUN", line: 4, command: "make" },
        ],
      },
      {
        image: "node:24",
        name: undefined,
        instructions: [
          { kind: "ENV", line: 6, vars: { A: "1", B: "2" } },
          { kind: "ENV", line: 7, vars: { C: "3" } },
          { kind: "COPY", line: 8, from: "build", sources: ["/out"], dest: "./" },
          { kind: "USER", line: 9, user: "node" },
        ],
      },
    ]);
  });

  it("refuses what it does not interpret, naming the line", () => {
    const refusal = (text: string) => {
      try {
        parseDockerfile(text);
        return "parsed";
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(refusal("FROM a\nEXPOSE 80")).toMatch(
      /^Dockerfile line 2: EXPOSE is not interpreted by this check/,
    );
    expect(refusal("FROM a\nCMD node x")).toMatch(/line 2: CMD is not interpreted/);
    expect(refusal("FROM a\nCOPY --chown=node a b")).toMatch(
      /line 2: option --chown=node is not interpreted/,
    );
    expect(refusal("FROM a\nCOPY src/*.js ./")).toMatch(/line 2: wildcards in COPY/);
    expect(refusal('FROM a\nRUN ["npm", "ci"]')).toMatch(/line 2: only RUN's shell form/);
    expect(refusal("FROM a\nRUN --mount=type=cache npm ci")).toMatch(/line 2: only RUN's shell form/);
    expect(refusal("FROM a\nWORKDIR app")).toMatch(/line 2: WORKDIR takes one absolute path/);
    expect(refusal("FROM a\nENV A")).toMatch(/line 2: ENV expects name=value/);
    expect(refusal("FROM --platform=x a")).toMatch(/line 1: option --platform=x/);
    expect(refusal("WORKDIR /w")).toMatch(/line 1: WORKDIR before the first FROM/);
    expect(refusal("# nothing")).toMatch(/no FROM/);
    expect(() => parseInstruction(3, "ADD x y")).toThrow(/line 3: ADD is not interpreted/);
  });

  it("maps the image's absolute paths as whole paths or first segments only", () => {
    const paths = { "/runtime": "/tmp/x/runtime", "/herald": "/tmp/x/herald" };
    expect(mapImagePaths("mkdir /runtime && cp -r a /runtime/ && cd /herald", paths)).toBe(
      "mkdir /tmp/x/runtime && cp -r a /tmp/x/runtime/ && cd /tmp/x/herald",
    );
    expect(mapImagePaths("find /runtime -name x; ls /runtimes a/runtime --dir=/herald", paths)).toBe(
      "find /tmp/x/runtime -name x; ls /runtimes a/runtime --dir=/tmp/x/herald",
    );
  });

  it("reads .dockerignore's top-level and any-depth names, and refuses other patterns", () => {
    const patterns = dockerIgnorePatterns("# c\nnode_modules\n**/dist\n\n.git/\n");
    expect(patterns).toEqual(["node_modules", "**/dist", ".git"]);
    expect(
      ["node_modules/x", "apps/a/dist/m.js", ".git", "apps/a/src/dist.ts", "libs/node_modules"].map((path) =>
        dockerIgnored(path, patterns),
      ),
    ).toEqual([true, true, true, false, false]);
    expect(() => dockerIgnorePatterns("*.md")).toThrow(/the pattern "\*\.md" is not interpreted/);
    expect(() => dockerIgnorePatterns("!keep")).toThrow(/"!keep"/);
  });
});

/** The output of a finished command. */
interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * The environment of a command the image runs: this machine's, without what npm, vitest and the
 * checkout put there (npm_* variables such as the checkout as npm's prefix, NODE_OPTIONS,
 * node_modules/.bin on PATH), and with the test runner's Node 24 first on PATH, as the image's node.
 */
function imageEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // npm's cache and config files stay: they are where the checkout's install came from.
    const npmKept = /^npm_config_(cache|userconfig|globalconfig)$/i.test(name);
    if ((/^(npm_|NODE_|VITEST|INIT_CWD$)/i.test(name) && !npmKept) || value === undefined) continue;
    env[name] = value;
  }
  const path = (process.env.PATH ?? "")
    .split(":")
    .filter((dir) => dir !== "" && !dir.includes("node_modules"));
  env.PATH = [dirname(process.execPath), ...path].join(":");
  return { ...env, ...extra };
}

/** A stage played on this machine: where its image paths are, its working directory and environment. */
interface StagePlay {
  paths: Record<string, string>;
  cwd: string;
  env: Record<string, string>;
  user?: string;
}

/** Copies `sources` (relative to `from`) to `dest` (relative to `cwd`) as COPY does. */
async function copyInto(
  from: string,
  sources: string[],
  dest: string,
  cwd: string,
  skip: (relativePath: string) => boolean = () => false,
): Promise<void> {
  const target = dest.startsWith("/") ? dest : join(cwd, dest);
  if (sources.length > 1 && !dest.endsWith("/"))
    throw new Error(`COPY of several sources to "${dest}" (no /)`);
  for (const source of sources) {
    const path = join(from, source);
    if (!existsSync(path)) throw new Error(`COPY: ${source} does not exist in ${from}`);
    const isDir = (await stat(path)).isDirectory();
    const to = isDir || !dest.endsWith("/") ? target : join(target, basename(source));
    await mkdir(isDir ? to : dirname(to), { recursive: true });
    await cp(path, to, { recursive: true, filter: (file) => !skip(relative(from, file)) });
  }
}

/** Absolute paths left in a command once the image's are mapped: this check would touch the machine's. */
function unmappedPaths(command: string, mapped: Record<string, string>): string[] {
  const ours = Object.values(mapped);
  return [...command.matchAll(/(?:^|[\s=])(\/[^\s;&|)]*)/g)]
    .map((m) => m[1] as string)
    .filter(
      (path) => !ours.some((dir) => path === dir || path.startsWith(`${dir}/`)) && path !== "/dev/null",
    );
}

/** What a stage does with its COPY and RUN lines; WORKDIR, ENV and USER are played alike in every stage. */
interface StageActions {
  copy(instruction: Extract<Instruction, { kind: "COPY" }>): Promise<void>;
  run(instruction: Extract<Instruction, { kind: "RUN" }>): Promise<void>;
}

/** Plays a stage's instructions in order: WORKDIR, ENV and USER into `play`, COPY and RUN by `actions`. */
async function playStage(stage: Stage, play: StagePlay, actions: StageActions): Promise<void> {
  for (const instruction of stage.instructions) {
    switch (instruction.kind) {
      case "WORKDIR":
        play.cwd = mapImagePaths(instruction.path, play.paths);
        await mkdir(play.cwd, { recursive: true });
        break;
      case "ENV":
        Object.assign(play.env, instruction.vars);
        break;
      case "USER":
        play.user = instruction.user;
        break;
      case "COPY":
        await actions.copy(instruction);
        break;
      case "RUN":
        await actions.run(instruction);
        break;
    }
  }
}

/**
 * Plays the build stage: COPYs from the checkout; a RUN line writing a path a later stage copies from
 * (`assembles`) runs with sh; any other RUN line must be the install and build the checkout has done
 * (`npm ci`, `npx nx run-many -t build -p ...`), whose built projects' dist/ are taken from the checkout.
 */
function playBuildStage(stage: Stage, play: StagePlay, assembles: string[], ignore: string[]): Promise<void> {
  return playStage(stage, play, {
    async copy(instruction) {
      if (instruction.from) throw new Error(`line ${instruction.line}: COPY --from in the build stage`);
      await copyInto(REPO_ROOT, instruction.sources, instruction.dest, play.cwd, (path) =>
        dockerIgnored(path, ignore),
      );
    },
    async run(instruction) {
      if (assembles.some((path) => mapImagePaths(instruction.command, { [path]: "\0" }).includes("\0"))) {
        await runLine(instruction, play);
      } else {
        await takeBuiltFromCheckout(instruction, play.cwd);
      }
    },
  });
}

/** Runs a RUN line with sh in the stage's directory; throws with its output when it fails. */
async function runLine(
  instruction: Extract<Instruction, { kind: "RUN" }>,
  play: StagePlay,
  prelude = "",
): Promise<Ran> {
  const command = mapImagePaths(instruction.command, play.paths);
  const unmapped = unmappedPaths(command, play.paths);
  if (unmapped.length > 0) {
    throw new Error(
      `line ${instruction.line}: RUN uses paths this check does not map: ${unmapped.join(", ")}`,
    );
  }
  const ran = await run("sh", ["-c", `${prelude}${command}`], { cwd: play.cwd, env: imageEnv(play.env) });
  if (ran.code !== 0) {
    throw new Error(
      `line ${instruction.line}: RUN failed (${ran.code}): ${command}\n${ran.stdout}\n${ran.stderr}`,
    );
  }
  return ran;
}

/** The build stage's install and build, taken from the checkout: each built project's dist/. */
async function takeBuiltFromCheckout(
  instruction: Extract<Instruction, { kind: "RUN" }>,
  cwd: string,
): Promise<void> {
  for (const part of instruction.command.split("&&").map((s) => s.trim())) {
    if (/^npm ci( |$)/.test(part)) continue; // the checkout's own `npm ci` (scripts/test.sh)
    const build = /^npx nx run-many -t build -p ((?:@herald\/[\w-]+ ?)+)$/.exec(part);
    if (!build) {
      throw new Error(
        `line ${instruction.line}: "${part}" neither assembles what the runtime stage copies nor is the install or build the checkout ran; teach docker-image.test.ts`,
      );
    }
    for (const project of (build[1] as string).trim().split(" ")) {
      const dir = await workspaceDir(project);
      const dist = join(REPO_ROOT, dir, "dist");
      if (!existsSync(dist))
        throw new Error(`${project} is not built in the checkout: run nx run-many -t build`);
      await cp(dist, join(cwd, dir, "dist"), { recursive: true });
    }
  }
}

/** The directory (apps/x or libs/x) of the workspace package named `name`. */
async function workspaceDir(name: string): Promise<string> {
  for (const parent of ["apps", "libs"]) {
    for (const dir of await readdir(join(REPO_ROOT, parent))) {
      const manifest = join(REPO_ROOT, parent, dir, "package.json");
      if (existsSync(manifest) && JSON.parse(await readFile(manifest, "utf8")).name === name)
        return `${parent}/${dir}`;
    }
  }
  throw new Error(`no workspace package ${name}`);
}

/** One service of the compose file that runs the image: its name and `command`. */
interface ComposeEntry {
  service: string;
  command: string[];
}

function composeEntries(): ComposeEntry[] {
  const compose = parse(COMPOSE, { merge: true }) as {
    services: Record<string, { build?: string; command?: string[]; image?: string }>;
  };
  return Object.entries(compose.services)
    .filter(([, service]) => service.build === ".")
    .map(([service, { command }]) => ({ service, command: command ?? [] }));
}

let workDir = "";
let image = "";
let npmCi: Ran | undefined;
let npmCiError: Error | undefined;
let runtimeUser: string | undefined;
const children: ChildProcess[] = [];
const env = testEnv({ NODE_ENV: "production", LOG_LEVEL: "warn" });

beforeAll(async () => {
  const stages = parseDockerfile(DOCKERFILE);
  const build = stages.find((stage) => stage.name === "build");
  const runtime = stages.at(-1);
  if (stages.length !== 2 || !build || !runtime || runtime === build) {
    throw new Error("the Dockerfile should have two stages: build and the (unnamed) runtime");
  }
  // The image's node is Node 24; so is the one running this (and the services below).
  for (const stage of stages) expect(stage.image).toMatch(/^node:24[-.]/);
  expect(process.versions.node).toMatch(/^24\./);

  // Under the system's temporary directory, outside the checkout: Node looks for node_modules in every
  // parent directory, and the checkout's would hide a package missing from the image.
  workDir = await mkdtemp(join(tmpdir(), "herald-image-"));
  for (let dir = dirname(workDir); dir !== dirname(dir); dir = dirname(dir)) {
    expect(existsSync(join(dir, "node_modules")), `${dir}/node_modules would be found`).toBe(false);
  }
  const buildPlay: StagePlay = {
    paths: { "/herald": join(workDir, "build/herald"), "/runtime": join(workDir, "build/runtime") },
    cwd: join(workDir, "build"),
    env: {},
  };
  const copied = runtime.instructions.flatMap((i) =>
    i.kind === "COPY" && i.from === "build" ? i.sources : [],
  );
  const ignore = dockerIgnorePatterns(readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8"));
  await playBuildStage(build, buildPlay, copied, ignore);

  image = join(workDir, "image/herald");
  const runtimePlay: StagePlay = { paths: { "/herald": image }, cwd: join(workDir, "image"), env: {} };
  // npm_config_prefer_offline: the packages come from the npm cache the checkout's install filled. The
  // image's `npm cache clean --force` would empty the developer's cache: npm's cache commands get a scratch
  // cache instead (a shell function named npm, before the RUN line).
  const scratchCache = join(workDir, "npm-cache-scratch");
  runtimePlay.env.npm_config_prefer_offline = "true";
  const prelude = `npm() { if [ "$1" = cache ]; then (npm_config_cache='${scratchCache}'; export npm_config_cache; command npm "$@"); else command npm "$@"; fi; }\n`;
  await playStage(runtime, runtimePlay, {
    async copy(instruction) {
      if (instruction.from !== "build")
        throw new Error(`line ${instruction.line}: the runtime stage copies only from build`);
      const sources = instruction.sources.map((source) => mapImagePaths(source, buildPlay.paths));
      await copyInto("/", sources, instruction.dest, runtimePlay.cwd);
    },
    async run(instruction) {
      try {
        npmCi = await runLine(instruction, runtimePlay, prelude);
      } catch (err) {
        npmCiError = err as Error;
      }
    },
  });
  runtimeUser = runtimePlay.user;
  Object.assign(env, { NODE_ENV: runtimePlay.env.NODE_ENV ?? "" });
}, 240_000);

afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        }),
    ),
  );
  await cleanupTestEnv(env);
  if (workDir) await rm(workDir, { recursive: true, force: true });
}, 60_000);

describe("the Docker image's runtime stage, played without Docker", () => {
  it("installs from the lock file with npm ci --omit=dev", () => {
    if (npmCiError) throw npmCiError;
    expect(npmCi?.code).toBe(0);
    expect(env.NODE_ENV).toBe("production");
    // What the image runs as: not root.
    expect(runtimeUser).toBe("node");
  });

  it("carries no development dependency and no sources", async () => {
    // What the lock file marks dev (needed by devDependencies only) must not be installed; a root
    // devDependency that production code needs too (yaml, @types/node through protobufjs) is not marked.
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devPaths = Object.entries(lock.packages)
      .filter(([path, entry]) => entry.dev && path.includes("node_modules/"))
      .map(([path]) => path);
    for (const tool of ["typescript", "vitest", "nx", "@biomejs/biome"]) {
      expect(devPaths).toContain(`node_modules/${tool}`);
    }
    const present = devPaths.filter((path) => existsSync(join(image, path)));
    expect(present).toEqual([]);
    expect(existsSync(join(image, "node_modules/.bin/tsc"))).toBe(false);
    // Built code only: no TypeScript sources, tests or build info.
    expect(existsSync(join(image, "apps/ingest/src"))).toBe(false);
    expect(existsSync(join(image, "apps/ingest/dist/main.js"))).toBe(true);
    const buildInfo = (await readdir(image, { recursive: true })).filter(
      (file) => String(file).endsWith(".tsbuildinfo") && !String(file).includes("node_modules"),
    );
    expect(buildInfo).toEqual([]);
  });

  it("starts every service of docker-compose.yml from the image with NODE_ENV=production", async () => {
    if (npmCiError) throw new Error("npm ci failed: nothing to start");
    const entries = composeEntries();
    expect(entries.map((e) => e.service).sort()).toEqual([
      "audit",
      "delivery",
      "ingest",
      "portal",
      "routing",
    ]);
    const ports: Record<string, number> = {};
    const start = async (entry: ComposeEntry, extra: Record<string, string>, health: string) => {
      expect(entry.command[0]).toBe("node");
      const script = entry.command[1] as string;
      expect(existsSync(join(image, script)), `${script} in the image`).toBe(true);
      const port = await freePort();
      ports[entry.service] = port;
      let output = "";
      const child = spawn(process.execPath, [script], {
        cwd: image,
        env: imageEnv({
          ...env,
          ...extra,
          [entry.service === "portal" ? "PORTAL_PORT" : "PORT"]: String(port),
        }),
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (child.exitCode !== null)
          throw new Error(`${entry.service} exited (${child.exitCode}):\n${output}`);
        if (Date.now() > deadline) throw new Error(`${entry.service} not ready in 30 s:\n${output}`);
        const ok = await fetch(`http://127.0.0.1:${port}${health}`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const byName = new Map(entries.map((e) => [e.service, e]));
    // Routing first (it owns the control plane the others read), then the others at once.
    const [first, ...rest] = SERVICES;
    await start(byName.get(first) as ComposeEntry, {}, "/readyz");
    await Promise.all(rest.map((service) => start(byName.get(service) as ComposeEntry, {}, "/readyz")));
    await start(
      byName.get("portal") as ComposeEntry,
      {
        HERALD_ROUTING_URL: `http://127.0.0.1:${ports.routing}`,
        HERALD_AUDIT_URL: `http://127.0.0.1:${ports.audit}`,
        HERALD_ADMIN_KEY: TEST_ADMIN_KEY,
      },
      "/healthz",
    );
  }, 90_000);

  it("runs the CLI from the image", async () => {
    if (npmCiError) throw new Error("npm ci failed: nothing to run");
    const manifest = JSON.parse(readFileSync(join(image, "apps/cli/package.json"), "utf8"));
    const ran = await run(process.execPath, [manifest.bin.herald, "--help"], {
      cwd: join(image, "apps/cli"),
      env: imageEnv({ NODE_ENV: "production" }),
    });
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^Usage: herald/m);
    expect(ran.stdout).toContain("listen");
  });
});

describe("docker-compose.yml", () => {
  it("runs Jaeger v2 and documents the URL allowlist a local receiver needs", () => {
    const compose = parse(COMPOSE, { merge: true }) as {
      services: Record<string, { image?: string; environment?: Record<string, string> }>;
    };
    expect(compose.services.jaeger?.image).toMatch(/^jaegertracing\/jaeger:2\.\d+\.\d+$/);
    expect(compose.services.delivery?.environment).toHaveProperty("HERALD_URL_ALLOWLIST");
    expect(COMPOSE).toMatch(/^\s*#\s+HERALD_URL_ALLOWLIST=host\.docker\.internal\S* .*docker compose up/m);
  });
});
