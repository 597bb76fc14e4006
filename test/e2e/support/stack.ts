import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { cleanupTestEnv, testEnv } from "@herald/platform/testing";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const SERVICES = ["routing", "ingest", "delivery", "audit"] as const;
export type ServiceName = (typeof SERVICES)[number];

/** A whole Herald on this machine: four service processes sharing one namespace and database. */
export interface Stack {
  env: Record<string, string>;
  ports: Record<ServiceName, number>;
  url(service: ServiceName): string;
  /** Output of each service so far, for failure messages. */
  logs(service: ServiceName): string;
  /** Stops one service with a signal; resolves when it exited. */
  kill(service: ServiceName, signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts a stopped service again on the same port, with `env` added to the stack's environment. */
  restart(service: ServiceName, env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
  /** Process id of each service now running, e.g. to read its CPU time and memory from /proc. */
  pids(): Partial<Record<ServiceName, number>>;
}

/** Ports {@link freePort} handed out in this process: the OS may offer a port it just freed again. */
const handedOut = new Set<number>();

/**
 * A port nothing listens on now and that this process has not handed out before, for a server started
 * next. Another process may still take it before that server binds: {@link startStack} checks who answers.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/**
 * GET over https trusting `tls.ca` (and presenting its client certificate): the body of a 200, else
 * undefined.
 */
function httpsGet200(url: string, tls: StackTls): Promise<string | undefined> {
  const file = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path));
  return new Promise((resolve) => {
    const req = https.get(url, { ca: file(tls.ca), cert: file(tls.cert), key: file(tls.key) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve(res.statusCode === 200 ? body : undefined));
    });
    req.on("error", () => resolve(undefined));
  });
}

/** The service that answers ready at `url` (its `/readyz` names it), or undefined. */
async function readyService(url: string, tls?: StackTls): Promise<string | undefined> {
  try {
    const body = tls
      ? await httpsGet200(`${url}/readyz`, tls)
      : await fetch(`${url}/readyz`).then((res) => (res.ok ? res.text() : undefined));
    return body === undefined ? undefined : (JSON.parse(body) as { service?: string }).service;
  } catch {
    return undefined; // not listening yet, or not a Herald service
  }
}

/**
 * Waits until `service` answers ready at `url`. Anything else answering there (another process took
 * the port before the service bound it) is not taken for it: the child then exits, and this says so.
 */
async function waitReady(
  url: string,
  service: ServiceName,
  child: ChildProcess,
  timeoutMs: number,
  tls?: StackTls,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    if ((await readyService(url, tls)) === service) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not ready after ${timeoutMs} ms`);
}

/** Options of {@link startStack} beyond the environment. */
export interface StackOptions {
  /**
   * Arguments given to `node` before each service's script, e.g. `["--trace-gc"]` or `["--inspect=…"]`
   * for ingest alone. Unlike NODE_OPTIONS, these take every V8 flag.
   */
  nodeArgs?: Partial<Record<ServiceName, string[]>>;
  /**
   * Set when the services serve TLS (RPC_TLS_* in the environment): URLs are https:// and readiness is
   * asked trusting this CA, with this client certificate where the ports require one.
   */
  tls?: StackTls;
}

/** PEM file paths the stack's own readiness checks use over TLS. */
export interface StackTls {
  ca: string;
  cert?: string;
  key?: string;
}

/**
 * Starts routing, ingest, delivery and audit from their built `dist/main.js` (run `nx run-many -t build`
 * first) with an isolated test environment plus `overrides`.
 */
export async function startStack(
  overrides: Record<string, string> = {},
  options: StackOptions = {},
): Promise<Stack> {
  const env = testEnv({
    HERALD_URL_ALLOWLIST: "127.0.0.1/32,::1/128,localhost",
    HERALD_ALLOW_HTTP: "true",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
    ...overrides,
  });
  const ports = {} as Record<ServiceName, number>;
  for (const service of SERVICES) ports[service] = await freePort();
  const children = new Map<ServiceName, ChildProcess>();
  const output = new Map<ServiceName, string[]>();

  async function launch(service: ServiceName, extraEnv: Record<string, string> = {}): Promise<void> {
    const args = [...(options.nodeArgs?.[service] ?? []), `${REPO_ROOT}apps/${service}/dist/main.js`];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env, ...extraEnv, PORT: String(ports[service]) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines = output.get(service) ?? [];
    output.set(service, lines);
    child.stdout?.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
    children.set(service, child);
    try {
      await waitReady(stack.url(service), service, child, 30_000, options.tls);
    } catch (err) {
      throw new Error(`${service} did not start: ${(err as Error).message}\n${lines.join("")}`);
    }
  }

  async function kill(service: ServiceName, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const child = children.get(service);
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }

  const stack: Stack = {
    env,
    ports,
    url: (service) => `${options.tls ? "https" : "http"}://127.0.0.1:${ports[service]}`,
    logs: (service) => (output.get(service) ?? []).join(""),
    kill,
    restart: launch,
    pids: () => {
      const pids: Partial<Record<ServiceName, number>> = {};
      for (const [service, child] of children) {
        const running = child.exitCode === null && child.signalCode === null;
        if (running && child.pid !== undefined) pids[service] = child.pid;
      }
      return pids;
    },
    async stop() {
      await Promise.all(SERVICES.map((service) => kill(service)));
      await cleanupTestEnv(env);
    },
  };
  /** Launches `service`; when another process took its port before it bound it, again on a new one. */
  async function firstLaunch(service: ServiceName): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(service);
      } catch (err) {
        if (attempt === 3 || !(err as Error).message.includes("EADDRINUSE")) throw err;
        ports[service] = await freePort();
      }
    }
  }

  try {
    // Routing first: it owns the control plane the others read.
    for (const service of SERVICES) await firstLaunch(service);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}
