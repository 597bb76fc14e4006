import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort, REPO_ROOT } from "../../e2e/support/stack.js";

const run = promisify(execFile);
const FERRETDB_SCRIPT = `${REPO_ROOT}scripts/ferretdb.sh`;
// The FerretDB binary is cached after its first build; Go is only needed when it is not.
const PATH = `${process.env.PATH ?? ""}:/usr/local/go/bin`;

/** A FerretDB of one test file only (own port and data), so killing it disturbs nobody else. */
export interface PrivateMongo {
  url: string;
  /** SIGKILLs the server (by the pid it was started with) and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  dispose(): Promise<void>;
}

export async function startPrivateMongo(): Promise<PrivateMongo> {
  const port = await freePort();
  // On tmpfs when there is one: SQLite's fsyncs would otherwise make FerretDB's write lock (one per
  // database) the bottleneck of the whole stack. A kill -9 of FerretDB still loses nothing it acknowledged.
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const dataDir = await mkdtemp(path.join(base, "herald-chaos-ferretdb-"));
  const start = async () => {
    await run("bash", [FERRETDB_SCRIPT, "start", String(port), dataDir], {
      env: { ...process.env, PATH },
      timeout: 60_000,
    });
  };
  await start();
  return {
    url: `mongodb://127.0.0.1:${port}`,
    start,
    async kill() {
      const pid = Number((await readFile(path.join(dataDir, "ferretdb.pid"), "utf8")).trim());
      if (!(pid > 0)) throw new Error(`no FerretDB pid in ${dataDir}`);
      process.kill(pid, "SIGKILL");
      const deadline = Date.now() + 10_000;
      while (alive(pid) && Date.now() < deadline) await sleep(50);
      if (alive(pid)) throw new Error(`FerretDB pid ${pid} still alive after SIGKILL`);
    },
    async dispose() {
      await run("bash", [FERRETDB_SCRIPT, "stop", dataDir], { timeout: 30_000 }).catch(() => undefined);
      // HERALD_CHAOS_KEEP=true keeps the data and ferretdb.log for a look after a failure.
      if (process.env.HERALD_CHAOS_KEEP === "true") console.log(`FerretDB data kept in ${dataDir}`);
      else await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Whether the process runs; a zombie (killed, not yet reaped by whoever adopted it) does not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * rabbitmqctl on this machine's broker, bounded in time. The broker is shared with other test runs, so
 * only stop_app/start_app (the node and its data stay) are used, and start_app always follows.
 */
async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run("rabbitmqctl", args, { timeout: 60_000 });
  return stdout;
}

/** Whether this process may restart the broker: a local RabbitMQ that rabbitmqctl can reach. */
export async function canRestartRabbitMq(amqpUrl: string): Promise<boolean> {
  if (process.env.HERALD_CHAOS_RABBITMQ === "false") return false;
  const host = new URL(amqpUrl).hostname;
  if (host !== "127.0.0.1" && host !== "localhost") return false;
  return rabbitmqctl("status").then(
    () => true,
    () => false,
  );
}

export const stopRabbitMq = () => rabbitmqctl("stop_app");
export const startRabbitMq = () => rabbitmqctl("start_app");
