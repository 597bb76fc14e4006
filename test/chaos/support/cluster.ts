import { execFile } from "node:child_process";
import { existsSync, statfsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../e2e/support/stack.js";

const run = promisify(execFile);
const SCRIPT = `${REPO_ROOT}scripts/rabbitmq-cluster.sh`;

/** Whether rabbitmq-server is installed, which scripts/rabbitmq-cluster.sh needs. */
export function rabbitmqServerInstalled(): boolean {
  const dirs = [
    "/usr/lib/rabbitmq/bin",
    "/usr/sbin",
    "/usr/local/sbin",
    ...(process.env.PATH ?? "").split(":"),
  ];
  return dirs.some((dir) => dir !== "" && existsSync(path.join(dir, "rabbitmq-server")));
}

/** A 3-node RabbitMQ cluster of one test file (scripts/rabbitmq-cluster.sh), with its own names and ports. */
export interface TestCluster {
  /** AMQP_URL of every node, comma-separated. */
  url: string;
  /** Seconds `start` took. */
  startSeconds: number;
  /** Stops node 1-3 (rabbitmqctl stop); its data stays. */
  stopNode(n: number): Promise<void>;
  /** Starts node 1-3 again and waits until it has rejoined. */
  startNode(n: number): Promise<void>;
  /** Queues of the cluster whose name starts with `prefix`, with their type and member nodes. */
  queues(prefix: string): Promise<Array<{ name: string; type: string; members: string[] }>>;
  /** Stops every node and removes the data; safe to call more than once. */
  stop(): Promise<void>;
}

function tmpfsFreeBytes(): number {
  if (!existsSync("/dev/shm")) return 0;
  const stats = statfsSync("/dev/shm");
  return stats.bavail * stats.bsize;
}

/** Three consecutive ports free for AMQP, and the three 20000 above them for Erlang distribution. */
async function freePortBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * 20_000);
    const ports = [0, 1, 2].flatMap((i) => [base + i, base + i + 20_000]);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error("no free ports for a RabbitMQ cluster");
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export async function startCluster(): Promise<TestCluster> {
  // Mnesia and the quorum queues' logs on tmpfs when it has room (a container's may hold 64 MiB only):
  // fsyncs on a shared disk are slow.
  const base = tmpfsFreeBytes() > 1 << 30 ? "/dev/shm" : tmpdir();
  const env = {
    ...process.env,
    HERALD_CLUSTER_NAME: `chaos${process.pid}`,
    HERALD_CLUSTER_PORT: String(await freePortBase()),
    HERALD_CLUSTER_DIR: await mkdtemp(path.join(base, "herald-cluster-")),
  };
  const script = async (...args: string[]) =>
    (await run("bash", [SCRIPT, ...args], { env, timeout: 240_000, maxBuffer: 16 << 20 })).stdout;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await script("stop");
  };
  const started = Date.now();
  try {
    await script("start");
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return {
    url: (await script("url")).trim(),
    startSeconds: (Date.now() - started) / 1000,
    stopNode: async (n) => void (await script("stop-node", String(n))),
    startNode: async (n) => void (await script("start-node", String(n))),
    async queues(prefix) {
      const out = await script(
        "rabbitmqctl",
        "1",
        "-q",
        "list_queues",
        "name",
        "type",
        "members",
        "--formatter",
        "json",
      );
      const rows = JSON.parse(out) as Array<{ name: string; type: string; members?: string[] }>;
      return rows
        .filter((row) => row.name.startsWith(prefix))
        .map((row) => ({ name: row.name, type: row.type, members: [...(row.members ?? [])].sort() }));
    },
    stop,
  };
}
