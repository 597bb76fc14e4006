// RabbitMQ and the MongoDB wire server for the benchmark, with scripts/infra.sh's semantics: AMQP_URL and
// MONGO_URL are used when set; otherwise RabbitMQ on 127.0.0.1:5672 (started when missing) and a FerretDB
// of the benchmark's own, on a free port with an empty data directory, stopped and removed at the end.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { promisify } from "node:util";
import { freePort, REPO_ROOT } from "../e2e/support/stack.js";

const run = promisify(execFile);

export interface Infra {
  amqpUrl: string;
  mongoUrl: string;
  /** "FerretDB (SQLite), started for this run" or "MONGO_URL". */
  mongoKind: string;
  /** Pid of the FerretDB this run started, for its CPU time. */
  mongoPid?: number;
  /** Data directory of the FerretDB this run started: a database is its `<name>.sqlite` file there. */
  dataDir?: string;
  /**
   * Starts the FerretDB this run owns again with no data, so each scenario starts from empty collections
   * (and one that wedged the database does not take the next ones down). Nothing with MONGO_URL.
   */
  freshMongo(): Promise<void>;
  stop(): Promise<void>;
}

export async function ensureInfra(log: (line: string) => void): Promise<Infra> {
  const ownMongo = !process.env.MONGO_URL;
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${process.env.PATH}:/usr/local/go/bin` };
  let dataDir: string | undefined;
  if (ownMongo) {
    const port = await freePort();
    env.HERALD_MONGO_PORT = String(port);
    env.HERALD_DATA_DIR = `${REPO_ROOT}.data/bench`;
    dataDir = `${REPO_ROOT}.data/bench/ferretdb-${port}`;
    rmSync(dataDir, { recursive: true, force: true });
    log(`starting FerretDB on 127.0.0.1:${port} (data in ${dataDir})`);
  }
  const infraScript = () => run("bash", [`${REPO_ROOT}scripts/infra.sh`], { env, cwd: REPO_ROOT });
  const { stdout } = await infraScript();
  const exported = Object.fromEntries(
    [...stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
  const amqpUrl = exported.AMQP_URL;
  const mongoUrl = exported.MONGO_URL;
  if (!amqpUrl || !mongoUrl) throw new Error(`scripts/infra.sh printed no URLs:\n${stdout}`);
  const readPid = () => {
    const pidFile = dataDir ? `${dataDir}/ferretdb.pid` : undefined;
    return pidFile && existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : undefined;
  };
  const stopMongo = async () => {
    if (!dataDir) return;
    await run("bash", [`${REPO_ROOT}scripts/ferretdb.sh`, "stop", dataDir], { cwd: REPO_ROOT }).catch(
      (err: Error) => log(`stopping FerretDB failed: ${err.message}`),
    );
    rmSync(dataDir, { recursive: true, force: true });
  };
  const infra: Infra = {
    amqpUrl,
    mongoUrl,
    mongoKind: ownMongo
      ? "FerretDB 1.24 (SQLite backend, tools/ferretdb), started empty for each scenario"
      : `MONGO_URL (${redact(mongoUrl)})`,
    mongoPid: readPid(),
    ...(dataDir ? { dataDir } : {}),
    async freshMongo() {
      if (!dataDir) return;
      await stopMongo();
      await infraScript();
      infra.mongoPid = readPid();
    },
    stop: stopMongo,
  };
  return infra;
}

export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//");
}

/** RabbitMQ's version, from rabbitmqctl when it may be run here. */
export async function rabbitVersion(): Promise<string> {
  try {
    const { stdout } = await run("rabbitmqctl", ["version"], { timeout: 10_000 });
    return `RabbitMQ ${stdout.trim()}`;
  } catch {
    return "RabbitMQ (version unknown)";
  }
}
