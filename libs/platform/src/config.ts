import { z } from "zod";
import { DEFAULT_RETRY_TIERS_MS } from "./amqp/topology.js";
import { amqpUrlProblem } from "./amqp/urls.js";
import { parseDurationListMs, parseDurationMs } from "./duration.js";

// Every variable's schema carries its row of README.md's configuration table, which
// scripts/config-table.ts writes (`npm run docs:config`): its meaning as `.describe(...)`, or as
// `.meta({ description, defaultText })` where the table shows the default otherwise than as the value it
// parses to, or `.meta({ internal: true })` to leave it out. `kind` marks milliseconds read as durations,
// which the table shows as durations again.

/** Thrown by {@link loadConfig}; `problems` has one line per bad variable. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

function urlWithScheme(schemes: string[], example: string) {
  return z
    .string({ error: `required, e.g. ${example}` })
    .min(1, `required, e.g. ${example}`)
    .refine(
      (value) => {
        try {
          return schemes.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a ${schemes.map((s) => `${s}//`).join(" or ")} URL, e.g. ${example}`,
    );
}

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** A share of a whole, e.g. "0.2": more than 0, at most 1. */
const share = z.coerce.number().gt(0, "must be more than 0").max(1, "must be at most 1");

/** One duration, e.g. "30s" or "5d", as milliseconds. */
const duration = z
  .string()
  .transform((text, ctx) => {
    const ms = parseDurationMs(text);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `bad duration "${text}"; use e.g. 500ms, 30s, 5m, 2h or 5d` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ kind: "duration" });

/** A duration above zero, e.g. a timeout. */
const positiveDuration = duration.refine((ms) => ms > 0, "must be more than 0, e.g. 10s");

/** A path to a file; read when the service starts. */
const filePath = z.string().min(1);

/** A comma-separated list of durations, e.g. "5s,5m,30m", as milliseconds. */
const durationList = z
  .string()
  .transform((text, ctx) => {
    const { ms, bad } = parseDurationListMs(text);
    if (bad.length > 0) {
      ctx.addIssue({
        code: "custom",
        message: `bad duration(s) ${bad.map((b) => `"${b}"`).join(", ")}; use e.g. 5s,5m,2h`,
      });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ kind: "durations" });

/** "true" or "false", as a boolean. */
const flag = z
  .enum(["true", "false"], { error: 'must be "true" or "false"' })
  .transform((value) => value === "true");

/** A MongoDB database name. */
const databaseName = z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, "must be 1-63 letters, digits, _ or -");

/** AMQP_URL: one broker, or a cluster's nodes as a comma-separated list (see amqp/urls.ts). */
const amqpUrls = z
  .string({ error: "required, e.g. amqp://guest:guest@127.0.0.1:5672" })
  .min(1, "required, e.g. amqp://guest:guest@127.0.0.1:5672")
  .superRefine((value, ctx) => {
    const problem = amqpUrlProblem(value);
    if (problem)
      ctx.addIssue({ code: "custom", message: `${problem}, e.g. amqp://guest:guest@127.0.0.1:5672` });
  });

/**
 * MONGO_URL: WHATWG URLs cannot hold a replica set's host list (`mongodb://a:27017,b:27017/?replicaSet=rs0`),
 * so only the scheme and a host are checked here; the driver checks the rest when the service starts.
 */
const mongoUrl = z
  .string({ error: "required, e.g. mongodb://127.0.0.1:27017" })
  .regex(
    /^mongodb(\+srv)?:\/\/[^/?]+/,
    "must be a mongodb:// or mongodb+srv:// URL, e.g. mongodb://127.0.0.1:27017",
  );

/** Variables every service reads. */
export const baseConfigSchema = z.object({
  AMQP_URL: amqpUrls.describe(
    "RabbitMQ, e.g. `amqp://guest:guest@127.0.0.1:5672`; a cluster as a comma-separated list of its nodes' URLs (same user, vhost and options), tried in turn on every reconnect",
  ),
  MONGO_URL: mongoUrl.describe(
    "MongoDB, e.g. `mongodb://127.0.0.1:27017`, or a replica set: `mongodb://db-0:27017,db-1:27017,db-2:27017/?replicaSet=rs0`",
  ),
  MONGO_WRITE_CONCERN: z
    .union([z.literal("majority"), z.coerce.number().int().min(1)], {
      error: 'must be "majority" or a number of members ≥ 1, e.g. majority',
    })
    .default("majority")
    .describe(
      "write concern `w` of every write: `majority` survives the loss of the primary; a standalone server acknowledges it as 1",
    ),
  MONGO_READ_CONCERN: z
    .enum(["local", "majority", "available"])
    .default("local")
    .describe("read concern of every read; `majority` reads only what a majority holds, at some latency"),
  MONGO_CONCURRENT_WRITES: z
    .enum(["auto", "true", "false"], { error: 'must be "auto", "true" or "false"' })
    .default("auto")
    .describe(
      "whether the server writes one database's documents in parallel (MongoDB does); `auto` asks it at connect. With `false`, audit writes one batch at a time (see docs/storage.md)",
    ),
  MONGO_DB: databaseName.default("herald").describe("database name"),
  HOST: z.string().min(1).default("127.0.0.1").describe("address the server listens on"),
  LOG_LEVEL: z
    .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
    .default("info")
    .describe("pino level"),
  HERALD_ADMIN_KEY: z
    .string({ error: "required: the bootstrap admin API key (at least 32 characters)" })
    .min(32, "must be at least 32 characters")
    .meta({ description: "bootstrap admin API key", defaultText: "— (required, ≥ 32 chars)" }),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(15_000).describe("grace period for in-flight calls on shutdown"),
  /**
   * MEASUREMENT ONLY: "true" serves every call through connect-es's own pipeline, not Herald's lean unary
   * paths (rpc/vendor/), so the two can be compared in one running stack (test/bench/micro/ingest-ab.ts).
   */
  HERALD_RPC_STOCK_PATHS: flag.default(false).meta({ internal: true }),
  /** Prefix of every exchange and queue name; empty uses the plain names. */
  AMQP_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9_-]{1,32}$/, "must be 1-32 of a-z, 0-9, _ or -")
    .default("")
    .describe("prefix of every exchange and queue, to share a broker"),
  /** Delays of the retry tier queues; every service declares the same topology. */
  RETRY_TIERS: durationList.default(DEFAULT_RETRY_TIERS_MS).describe("delay tier queues"),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

/** Helpers for services extending {@link baseConfigSchema}. */
export const configFields = {
  port,
  positiveInt,
  share,
  urlWithScheme,
  duration,
  positiveDuration,
  durationList,
  databaseName,
  flag,
};

/**
 * The RPC port's connection limits and TLS; see rpc/server.ts. TLS is on when RPC_TLS_CERT_FILE and
 * RPC_TLS_KEY_FILE are set (checked together by `rpcPortOptionsOf` in service.ts).
 */
const rpcPortSchema = {
  RPC_HEADERS_TIMEOUT: positiveDuration
    .default(10_000)
    .describe("a connection that sends no complete request head (HTTP/1.1 or HTTP/2) within this is closed"),
  RPC_REQUEST_TIMEOUT: positiveDuration
    .default(60_000)
    .describe("a request whose body has not ended within this is cancelled"),
  RPC_KEEP_ALIVE_TIMEOUT: positiveDuration
    .default(5_000)
    .describe("an idle HTTP/1.1 connection is closed after this"),
  RPC_IDLE_TIMEOUT: positiveDuration
    .default(300_000)
    .describe("an HTTP/2 connection without an open stream is closed after this"),
  RPC_MAX_CONNECTIONS: positiveInt
    .default(10_000)
    .describe("connections open at once per port; more are closed as they arrive"),
  RPC_TLS_CERT_FILE: filePath.optional().meta({
    description:
      "PEM certificate chain; with `RPC_TLS_KEY_FILE` the port serves TLS only, and reloads the files when they change",
    defaultText: "empty: cleartext",
  }),
  RPC_TLS_KEY_FILE: filePath
    .optional()
    .meta({ description: "PEM key of `RPC_TLS_CERT_FILE`", defaultText: "empty: cleartext" }),
  RPC_TLS_CLIENT_CA_FILE: filePath
    .optional()
    .describe("with TLS, ask clients for a certificate from this CA"),
  RPC_TLS_CLIENT_AUTH: z
    .enum(["require", "optional"])
    .default("require")
    .describe(
      "with `RPC_TLS_CLIENT_CA_FILE`: `require` refuses clients without a certificate, `optional` admits them",
    ),
};

/** The base variables plus the service's RPC port, defaulting to `defaultPort`, and its limits and TLS. */
export function serviceConfigSchema(defaultPort: number) {
  return baseConfigSchema.extend({
    PORT: port.default(defaultPort).describe("port the RPC server listens on"),
    ...rpcPortSchema,
  });
}

export type ServiceConfig = z.infer<ReturnType<typeof serviceConfigSchema>>;

/**
 * Parses `env` against `schema`. Throws a {@link ConfigError} listing every bad variable by name, so an
 * operator can fix them all in one go.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  // Treat empty strings as unset so that `FOO=` falls back to the default instead of failing oddly.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join(".") || "(config)"}: ${issue.message}`,
  );
  throw new ConfigError(problems);
}
