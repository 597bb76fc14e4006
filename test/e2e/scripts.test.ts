import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupTestEnv, testEnv } from "@herald/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "./support/fixtures.js";
import { type OtlpReceiver, startOtlpReceiver } from "./support/otlp.js";
import { freePort, REPO_ROOT } from "./support/stack.js";

// The scripts behind `npm start` and `npm test`: what they start, what they stop, what they say.

function bash(script: string, env: Record<string, string | undefined>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile("bash", ["-c", script], { cwd: REPO_ROOT, env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => resolve(socket.destroy() !== undefined));
    socket.once("error", () => resolve(false));
  });
}

/** The environment of a script run: this process's, without a MongoDB URL, so infra.sh provides one. */
function scriptEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const { MONGO_URL: _mongo, HERALD_STARTED_FERRETDB: _started, ...rest } = process.env;
  return { ...rest, ...extra };
}

describe("package-lock.json", () => {
  it("records every platform's optional binaries, so `npm ci` takes it on any machine", async () => {
    const lock = JSON.parse(await readFile(join(REPO_ROOT, "package-lock.json"), "utf8"));
    const packages: Record<string, { optionalDependencies?: Record<string, string> }> = lock.packages;
    // Where Node would find `name` from the package at `path`: its own node_modules, then upwards.
    const resolves = (path: string, name: string) => {
      for (let base = path; ; ) {
        if (`${base ? `${base}/` : ""}node_modules/${name}` in packages) return true;
        if (base === "") return false;
        const up = base.lastIndexOf("/node_modules/");
        base = up < 0 ? "" : base.slice(0, up);
      }
    };
    const missing = Object.entries(packages).flatMap(([path, entry]) =>
      Object.keys(entry.optionalDependencies ?? {})
        .filter((name) => !resolves(path, name))
        .map((name) => `${path || "(root)"} -> ${name}`),
    );
    expect(missing).toEqual([]);
    expect(packages).toHaveProperty(["node_modules/@biomejs/cli-darwin-arm64"]);
    expect(packages).toHaveProperty(["node_modules/@nx/nx-win32-x64-msvc"]);
  });
});

describe("the test script's infrastructure (scripts/lib.sh, as scripts/test.sh uses it)", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "herald-infra-"));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it("stops the FerretDB it started when it exits", async () => {
    const port = await freePort();
    const result = await bash(
      `source scripts/lib.sh; trap stop_started_infra EXIT
       start_infra; echo "MONGO_URL=$MONGO_URL"; port_open 127.0.0.1 ${port} && echo listening`,
      scriptEnv({ HERALD_MONGO_PORT: String(port), HERALD_DATA_DIR: dataDir }),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`MONGO_URL=mongodb://127.0.0.1:${port}`);
    expect(result.stdout).toContain("listening");
    expect(await listening(port)).toBe(false);
    await expect(stat(join(dataDir, `ferretdb-${port}`, "ferretdb.pid"))).rejects.toThrow();
  });

  it("leaves alone a FerretDB that was already running", async () => {
    const port = await freePort();
    const data = join(dataDir, "developer");
    const env = scriptEnv({ HERALD_MONGO_PORT: String(port), HERALD_DATA_DIR: dataDir });
    const started = await bash(`bash scripts/ferretdb.sh start ${port} ${data}`, env);
    expect(started.code, started.stderr).toBe(0);
    try {
      const result = await bash("source scripts/lib.sh; trap stop_started_infra EXIT; start_infra", env);
      expect(result.code, result.stderr).toBe(0);
      expect(await listening(port)).toBe(true);
    } finally {
      await bash(`bash scripts/ferretdb.sh stop ${data}`, env);
    }
  });
});

describe("scripts/rabbitmq-cluster.sh (booted by test/chaos/cluster.test.ts)", () => {
  // A cluster name and folder nobody uses: these commands must not boot or touch any node.
  const env = () =>
    scriptEnv({
      HERALD_CLUSTER_NAME: `absent${process.pid}`,
      HERALD_CLUSTER_DIR: join(tmpdir(), `absent-${process.pid}`),
    });

  it("reports a cluster that is not running as three stopped nodes", async () => {
    const { code, stdout } = await bash("bash scripts/rabbitmq-cluster.sh status", env());
    expect(code).toBe(0);
    expect(stdout.trim().split("\n")).toEqual(
      ["a", "b", "c"].map((n) => `absent${process.pid}-${n}@localhost stopped`),
    );
  });

  it("prints one URL per node, on consecutive ports", async () => {
    const { stdout } = await bash("bash scripts/rabbitmq-cluster.sh url", {
      ...env(),
      HERALD_CLUSTER_PORT: "7001",
    });
    expect(stdout.trim()).toBe(
      "amqp://guest:guest@127.0.0.1:7001,amqp://guest:guest@127.0.0.1:7002,amqp://guest:guest@127.0.0.1:7003",
    );
  });

  it("refuses a node number outside 1-3 and an unknown command", async () => {
    const bad = await bash("bash scripts/rabbitmq-cluster.sh stop-node 4", env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("expected a node number 1-3, got '4'");
    const unknown = await bash("bash scripts/rabbitmq-cluster.sh restart", env());
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("rabbitmq-cluster.sh start");
  });
});

describe("npm start's word on traces (describe_trace_export)", () => {
  it("names the endpoint spans go to, or says they go nowhere and why", async () => {
    const say = (extra: Record<string, string>) =>
      bash('source scripts/lib.sh; describe_trace_export "$REASON"', scriptEnv({ REASON: "", ...extra }));
    const env = Object.fromEntries(
      Object.keys(process.env)
        .filter((k) => k.startsWith("OTEL_"))
        .map((k) => [k, ""]),
    );
    expect((await say({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318" })).stdout).toBe(
      "exported (otlp) to http://jaeger:4318\n",
    );
    expect((await say({ ...env, OTEL_TRACES_EXPORTER: "none", REASON: "no collector" })).stdout).toBe(
      "not exported: no collector\n",
    );
    expect((await say({ ...env, OTEL_SDK_DISABLED: "true" })).stdout).toBe(
      "not exported: OTEL_SDK_DISABLED=true\n",
    );
  });
});

describe("npm start on a taken port", () => {
  it("refuses before starting anything, naming the port and its service", async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const run = await bash("bash scripts/start.sh", scriptEnv({ DELIVERY_PORT: String(port) }));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `port ${port} (delivery) is taken: is Herald already running? Stop it, or set DELIVERY_PORT`,
      );
      // Nothing was installed, started or built: the refusal is its only word.
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    } finally {
      taken.close();
    }
  });
});

describe("npm start", () => {
  const env = testEnv({ AUDIT_MONGO_DB: `${testEnv().MONGO_DB}_audit` });
  const ports: Record<"ingest" | "routing" | "delivery" | "audit" | "portal", number> = {
    ingest: 0,
    routing: 0,
    delivery: 0,
    audit: 0,
    portal: 0,
  };
  let child: ChildProcess;
  let otlp: OtlpReceiver;
  let output = "";
  let exitCode: Promise<number | null>;
  const logSizes = new Map<string, number>();

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    for (const service of Object.keys(ports) as Array<keyof typeof ports>) ports[service] = await freePort();
    for (const service of Object.keys(ports)) {
      const size = await stat(join(REPO_ROOT, `.data/logs/${service}.log`)).then(
        (s) => s.size,
        () => 0,
      );
      logSizes.set(service, size);
    }
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith("OTEL_") && !key.startsWith("HERALD_")),
    );
    // Its own process group, so the test can send SIGINT to all of it as a terminal's Ctrl-C does.
    child = spawn("npm", ["start"], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...inherited,
        AMQP_URL: env.AMQP_URL,
        MONGO_URL: env.MONGO_URL,
        MONGO_DB: env.MONGO_DB,
        AUDIT_MONGO_DB: env.AUDIT_MONGO_DB,
        AMQP_NAMESPACE: env.AMQP_NAMESPACE,
        INGEST_PORT: String(ports.ingest),
        ROUTING_PORT: String(ports.routing),
        DELIVERY_PORT: String(ports.delivery),
        AUDIT_PORT: String(ports.audit),
        PORTAL_PORT: String(ports.portal),
        LOG_LEVEL: "info",
        OTEL_EXPORTER_OTLP_ENDPOINT: new URL(otlp.endpoint).origin,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_BSP_SCHEDULE_DELAY: "100",
        // Set and empty: production's rule, no private receivers, must hold.
        HERALD_URL_ALLOWLIST: "",
      },
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    exitCode = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    const deadline = Date.now() + 240_000;
    while (!output.includes("Herald is running") && child.exitCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (!output.includes("Herald is running")) throw new Error(`npm start did not come up:\n${output}`);
  }, 260_000);

  afterAll(async () => {
    if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGTERM");
    await cleanupTestEnv(env);
    await otlp?.close();
  });

  it("says where traces are exported", () => {
    expect(output).toContain(`traces: exported (otlp) to ${new URL(otlp.endpoint).origin}\n`);
  });

  it("keeps an explicitly empty HERALD_URL_ALLOWLIST: a private receiver is refused", async () => {
    expect(output).toContain("receivers allowed although not public (HERALD_URL_ALLOWLIST): none");
    const herald = await readFile(join(REPO_ROOT, ".data/herald.env"), "utf8");
    const adminKey = /^HERALD_ADMIN_KEY=(.*)$/m.exec(herald)?.[1] ?? "";
    const call = (path: string, body: object) =>
      fetch(`http://127.0.0.1:${ports.routing}/herald.v1.${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminKey}` },
        body: JSON.stringify(body),
      });
    expect((await call("TenantService/CreateTenant", { tenantId: "allowlist", name: "A" })).status).toBe(200);
    const refused = await call("EndpointService/CreateEndpoint", {
      tenantId: "allowlist",
      url: "http://127.0.0.1:9/hook",
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("HERALD_URL_ALLOWLIST");
  });

  it("serves the tenant portal and says where", async () => {
    expect(output).toContain(`portal    http://127.0.0.1:${ports.portal}`);
    const page = await fetch(`http://127.0.0.1:${ports.portal}/t/allowlist/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });

  it("exports traces where it said", async () => {
    // The calls of the allowlist test above were traced by routing.
    const span = await eventually(
      async () =>
        otlp.spans.find(
          (s) => s.service === "herald-routing" && s.name.startsWith("herald.v1.TenantService/"),
        ),
      15_000,
      "a span from routing",
    );
    expect(span.name).toBe("herald.v1.TenantService/CreateTenant");
  });

  it("logs no 'dependencies unavailable' at start", async () => {
    for (const [service, size] of logSizes) {
      const log = await readFile(join(REPO_ROOT, `.data/logs/${service}.log`), "utf8");
      const thisRun = log.slice(size);
      expect(thisRun, service).toContain("listening");
      expect(thisRun, service).not.toContain("dependencies unavailable");
    }
  });

  it("stops the services and exits 0 on Ctrl-C (SIGINT to its process group)", async () => {
    process.kill(-(child.pid as number), "SIGINT");
    expect(await exitCode).toBe(0);
    for (const port of Object.values(ports)) expect(await listening(port)).toBe(false);
  });
});
