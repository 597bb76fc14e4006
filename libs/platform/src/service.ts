import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { Health, openApiDocuments, ServerReflection } from "@herald/contracts";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { Connection, type Consumer } from "rabbitmq-client";
import type { z } from "zod";
import { ProtoPublisher } from "./amqp/messaging.js";
import { declareTopology, type TopologyNames, topologyNames } from "./amqp/topology.js";
import { amqpConnectionOptions } from "./amqp/urls.js";
import { ConfigError, loadConfig, type ServiceConfig } from "./config.js";
import { HealthMonitor, rabbitmqCheck, ServingStatus } from "./health.js";
import { createLogger } from "./logger.js";
import { Counter, createMetricsRegistry } from "./metrics.js";
import { connectMongo, ensureIndexes, type IndexPlan, type MongoHandle, pingMongo } from "./mongo.js";
import { watchQueueDepths } from "./queue-metrics.js";
import type { Authenticator } from "./rpc/authentication.js";
import type { ConnectionLimits } from "./rpc/connection-limits.js";
import { registerHealthService } from "./rpc/health-service.js";
import { authInterceptor, errorInterceptor, tracingInterceptor } from "./rpc/interceptors.js";
import { registerReflectionService } from "./rpc/reflection.js";
import { rpcMetricsInterceptor } from "./rpc/rpc-metrics.js";
import { type HttpRoute, type JsonRequestRewrite, type RpcServer, startRpcServer } from "./rpc/server.js";
import { type RpcTlsOptions, readSecureContextOptions, TlsFileError, type TlsFileOption } from "./rpc/tls.js";
import { warmUpRpcPort } from "./rpc/warm-up.js";
import { startTelemetry } from "./telemetry.js";

/** What a service gets to build itself from. */
export interface ServiceContext<C extends ServiceConfig, A extends Authenticator = Authenticator> {
  config: C;
  logger: Logger;
  rabbit: Connection;
  /** Exchange and queue names, namespaced by AMQP_NAMESPACE. */
  names: TopologyNames;
  publisher: ProtoPublisher;
  mongo: MongoHandle;
  authenticator: A;
  /** Register the service's metrics here; served on GET /metrics. */
  metrics: Registry;
}

/** What a service hands back to be run: its RPCs, consumers and own cleanup. */
export interface ServiceParts {
  routes?: (router: ConnectRouter) => void;
  /** The services registered in `routes`: reported by the health service and listed by reflection. */
  services?: DescService[];
  /** Methods of `services` callable without a key (they check their own credential). */
  publicMethods?: DescMethod[];
  consumers?: Consumer[];
  httpRoutes?: Record<string, HttpRoute>;
  /** Methods of `services` that read their Connect JSON request body themselves (vendor/json-request-rewrite.ts). */
  jsonRequestRewrites?: { method: DescMethod; rewrite: JsonRequestRewrite }[];
  /**
   * The queues this service consumes or owns (full names): their depth and consumers are exported as
   * `herald_queue_messages_ready` and `herald_queue_consumers`, labelled without the namespace.
   */
  queues?: string[];
  /**
   * Runs as shutdown begins, before the RPC port closes: ends long-lived response streams, which would
   * otherwise hold the port open until SHUTDOWN_TIMEOUT_MS.
   */
  drain?: () => void;
  /** Runs after consumers stopped and in-flight messages finished, before connections close. */
  stop?: () => Promise<void>;
  /**
   * Runs the service's per-event code on made-up input, with no effect outside the process, before it
   * reports ready, so that V8 has compiled it before the first real event (see {@link RPC_WARM_UP_CALLS}).
   */
  warmUp?: () => void | Promise<void>;
}

/** What {@link ServiceDefinition.authentication} builds from. */
export type AuthenticationContext<C extends ServiceConfig> = Pick<
  ServiceContext<C>,
  "config" | "logger" | "rabbit" | "names" | "mongo"
> & {
  /** The service's name ({@link ServiceDefinition.name}). */
  service: string;
};

/** How the RPC port resolves callers, and the consumers that keep it current (stopped with the service). */
export interface Authentication<A extends Authenticator> {
  authenticator: A;
  consumers?: Consumer[];
  /** Stops what keeps the authenticator current; runs with the consumers' stop. */
  stop?: () => Promise<void>;
}

/** Describes one of Herald's services to {@link runService}. */
export interface ServiceDefinition<
  S extends z.ZodType<ServiceConfig>,
  A extends Authenticator = Authenticator,
> {
  name: string;
  configSchema: S;
  indexes?: IndexPlan;
  /** Builds the caller authentication every RPC but health and reflection passes; ready before `start`. */
  authentication(ctx: AuthenticationContext<z.infer<S>>): Promise<Authentication<A>>;
  start(ctx: ServiceContext<z.infer<S>, A>): Promise<ServiceParts>;
}

export interface RunningService {
  readonly port: number;
  readonly health: HealthMonitor;
  /** Graceful stop: not serving, stop consuming, finish in-flight work, close connections. */
  stop(): Promise<void>;
}

/**
 * Starts a service: validates config, starts telemetry, connects to MongoDB and RabbitMQ, declares the
 * topology, creates indexes, serves RPCs with health, and returns a handle to stop it gracefully.
 */
export async function runService<S extends z.ZodType<ServiceConfig>, A extends Authenticator>(
  definition: ServiceDefinition<S, A>,
  env: Record<string, string | undefined> = process.env,
): Promise<RunningService> {
  const config = loadConfig(definition.configSchema, env);
  const rpcPort = rpcPortOptionsOf(config);
  const telemetry = startTelemetry({
    serviceName: `herald-${definition.name}`,
    disabled: env.OTEL_SDK_DISABLED === "true",
  });
  const logger = createLogger({ service: definition.name, level: config.LOG_LEVEL });

  const mongo = await connectMongo(config.MONGO_URL, config.MONGO_DB, `herald-${definition.name}`, 30_000, {
    w: config.MONGO_WRITE_CONCERN,
    readConcern: config.MONGO_READ_CONCERN,
    concurrentWrites: config.MONGO_CONCURRENT_WRITES,
  });
  const rabbit = new Connection({
    // A list of nodes: each reconnect tries the next one, so a node that stops moves its clients on.
    ...amqpConnectionOptions(config.AMQP_URL),
    connectionName: `herald-${definition.name}`,
    // Reconnect attempts back off exponentially up to this: rabbitmq-client's default (30 s) can leave a
    // service disconnected half a minute after the broker is back; 5 s still spares a broker that stays down.
    retryHigh: 5_000,
  });
  rabbit.on("error", (err) => logger.warn({ err }, "rabbitmq connection error"));
  rabbit.on("connection", () => logger.info("rabbitmq connected"));
  const names = topologyNames(config.AMQP_NAMESPACE);
  await declareTopology(rabbit, names, config.RETRY_TIERS);
  if (definition.indexes) await ensureIndexes(mongo.db, definition.indexes);

  const publisher = new ProtoPublisher(rabbit);
  const {
    authenticator,
    consumers: authenticationConsumers = [],
    stop: stopAuthentication,
  } = await definition.authentication({
    service: definition.name,
    config,
    logger,
    rabbit,
    names,
    mongo,
  });
  const metrics = createMetricsRegistry(definition.name);
  const parts = await definition.start({
    config,
    logger,
    rabbit,
    names,
    publisher,
    mongo,
    authenticator,
    metrics,
  });

  const queueDepths = watchQueueDepths({
    inspect: (queue) => rabbit.queueDeclare({ queue, passive: true }),
    queues: new Map(
      (parts.queues ?? []).map((queue) => [withoutNamespace(queue, config.AMQP_NAMESPACE), queue]),
    ),
    registry: metrics,
    intervalMs: QUEUE_DEPTH_INTERVAL_MS,
    timeoutMs: 5_000,
    onError: (queue, err) => logger.debug({ err, queue }, "queue depth not read"),
  });
  // Consumers attach after start returns, and again after a reconnect: read their count then.
  for (const consumer of parts.consumers ?? []) consumer.on("ready", () => void queueDepths.refresh());

  const health = new HealthMonitor({
    logger,
    checks: [rabbitmqCheck(rabbit), { name: "mongodb", check: () => pingMongo(mongo.db) }],
  });
  await health.start();

  const connectionsCut = new Counter({
    name: "herald_rpc_connections_cut_total",
    help: "Connections (or HTTP/2 streams) the RPC port cut: refused over the cap, or too slow to send a request",
    labelNames: ["reason"],
    registers: [metrics],
  });
  const openApiDocument = openApiDocuments[definition.name];
  const openApi = openApiDocument && `${JSON.stringify(openApiDocument, null, 2)}\n`;
  let warmedUp = false;
  const server: RpcServer = await startRpcServer({
    host: config.HOST,
    ...(config.HERALD_RPC_STOCK_PATHS && { unaryGrpcFastPath: false, unaryConnectFastPath: false }),
    port: config.PORT,
    limits: rpcPort.limits,
    onCut: (reason) => connectionsCut.inc({ reason }),
    ...(rpcPort.tls && {
      tls: {
        ...rpcPort.tls,
        onReload(err) {
          if (err)
            logger.warn({ err }, "TLS files changed but were refused; serving the previous certificate");
          else logger.info("TLS certificate reloaded");
        },
      },
    }),
    jsonRequestRewrites: Object.fromEntries(
      (parts.jsonRequestRewrites ?? []).map(({ method, rewrite }) => [
        `/${method.parent.typeName}/${method.name}`,
        rewrite,
      ]),
    ),
    interceptors: [
      rpcMetricsInterceptor(metrics),
      tracingInterceptor(),
      errorInterceptor(logger),
      authInterceptor(authenticator, {
        publicServices: [Health.typeName, ServerReflection.typeName],
        publicMethods: (parts.publicMethods ?? []).map((m) => `${m.parent.typeName}/${m.name}`),
      }),
    ],
    routes(router) {
      const services = parts.services ?? [];
      registerHealthService(
        router,
        health,
        services.map((service) => service.typeName),
      );
      registerReflectionService(router, [Health, ...services]);
      parts.routes?.(router);
    },
    httpRoutes: {
      "/healthz": () => ({ status: 200, contentType: "text/plain", body: "ok\n" }),
      "/readyz": () => {
        const ready = warmedUp && health.status === ServingStatus.SERVING;
        return {
          status: ready ? 200 : 503,
          contentType: "application/json",
          body: `${JSON.stringify({ service: definition.name, ready, failing: health.failing, ...(warmedUp ? {} : { warming: true }) })}\n`,
        };
      },
      // The OpenAPI 3.1 description of this service's Connect JSON API, generated from proto/.
      ...(openApi && {
        "/openapi.json": () => ({ status: 200, contentType: "application/json", body: openApi }),
      }),
      "/metrics": async () => ({
        status: 200,
        contentType: metrics.contentType,
        body: await metrics.metrics(),
      }),
      ...parts.httpRoutes,
    },
  });
  logger.info({ port: server.port, tls: rpcPort.tls !== undefined }, `${definition.name} listening`);
  // Readiness waits for the warm-up: a TLS port would need the clients' certificates, so only the
  // service's own code is warmed there.
  const warmUpStarted = performance.now();
  if (!rpcPort.tls)
    await warmUpRpcPort({ host: loopbackOf(config.HOST), port: server.port, calls: RPC_WARM_UP_CALLS });
  await parts.warmUp?.();
  warmedUp = true;
  logger.info({ ms: Math.round(performance.now() - warmUpStarted) }, `${definition.name} warmed up`);

  let stopping: Promise<void> | undefined;
  return {
    port: server.port,
    health,
    stop() {
      stopping ??= (async () => {
        logger.info("shutting down");
        health.drain();
        parts.drain?.();
        await server.close(config.SHUTDOWN_TIMEOUT_MS);
        queueDepths.stop();
        await Promise.all([
          ...[...(parts.consumers ?? []), ...authenticationConsumers].map((consumer) => consumer.close()),
          stopAuthentication?.(),
        ]);
        await parts.stop?.();
        await publisher.close();
        await rabbit.close();
        await mongo.client.close();
        await telemetry.shutdown();
        logger.info("stopped");
      })();
      return stopping;
    },
  };
}

/**
 * Calls of each protocol a service makes to its own RPC port before it reports ready. V8 optimises a
 * function after a few thousand runs; the calls share most of their code (HTTP parsing, the lean
 * paths, interceptors, protobuf's reflection-driven JSON and binary codecs) with every real call.
 * Measured in docs/decisions/single-event-speed.md.
 */
export const RPC_WARM_UP_CALLS = 1_500;

/** Where the service itself reaches a server listening on `host`: loopback for a wildcard address. */
function loopbackOf(host: string): string {
  return host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host;
}

/** How often each service reads its queues' depth: a Prometheus scrape interval or so. */
const QUEUE_DEPTH_INTERVAL_MS = 15_000;

/** A queue's name as metrics label it: the same in every namespace, so dashboards need no regex. */
function withoutNamespace(queue: string, namespace: string): string {
  return namespace && queue.startsWith(`${namespace}.`) ? queue.slice(namespace.length + 1) : queue;
}

/** The variable that sets each TLS file. */
const TLS_VARIABLES: Record<TlsFileOption, string> = {
  certFile: "RPC_TLS_CERT_FILE",
  keyFile: "RPC_TLS_KEY_FILE",
  clientCaFile: "RPC_TLS_CLIENT_CA_FILE",
  pair: "RPC_TLS_CERT_FILE / RPC_TLS_KEY_FILE",
};

/**
 * The RPC port's limits and TLS from the configuration. TLS needs both the certificate and the key,
 * and every file must be readable and usable now: a mistake there is a configuration error, reported
 * before anything is connected.
 */
export function rpcPortOptionsOf(config: ServiceConfig): {
  limits: ConnectionLimits;
  tls?: RpcTlsOptions;
} {
  const limits: ConnectionLimits = {
    headersTimeoutMs: config.RPC_HEADERS_TIMEOUT,
    requestTimeoutMs: config.RPC_REQUEST_TIMEOUT,
    keepAliveTimeoutMs: config.RPC_KEEP_ALIVE_TIMEOUT,
    idleTimeoutMs: config.RPC_IDLE_TIMEOUT,
    maxConnections: config.RPC_MAX_CONNECTIONS,
  };
  const {
    RPC_TLS_CERT_FILE: certFile,
    RPC_TLS_KEY_FILE: keyFile,
    RPC_TLS_CLIENT_CA_FILE: clientCaFile,
  } = config;
  if (certFile === undefined && keyFile === undefined) {
    if (clientCaFile !== undefined)
      throw new ConfigError([
        "RPC_TLS_CLIENT_CA_FILE: client certificates need TLS: set RPC_TLS_CERT_FILE and RPC_TLS_KEY_FILE too",
      ]);
    return { limits };
  }
  if (certFile === undefined)
    throw new ConfigError(["RPC_TLS_CERT_FILE: required with RPC_TLS_KEY_FILE (TLS needs both)"]);
  if (keyFile === undefined)
    throw new ConfigError(["RPC_TLS_KEY_FILE: required with RPC_TLS_CERT_FILE (TLS needs both)"]);
  const tls: RpcTlsOptions = {
    certFile,
    keyFile,
    ...(clientCaFile !== undefined && { clientCaFile }),
    clientAuth: config.RPC_TLS_CLIENT_AUTH,
  };
  try {
    readSecureContextOptions(tls);
  } catch (err) {
    if (err instanceof TlsFileError) throw new ConfigError([`${TLS_VARIABLES[err.option]}: ${err.message}`]);
    throw err;
  }
  return { limits, tls };
}

/**
 * Entry point for a service's `main.ts`: runs it, stops it gracefully on SIGTERM/SIGINT, and exits
 * non-zero with one line per problem on bad configuration.
 */
export async function main<S extends z.ZodType<ServiceConfig>, A extends Authenticator>(
  definition: ServiceDefinition<S, A>,
): Promise<void> {
  // A rejection nobody handled is a bug: say where it came from before the process ends, so the
  // supervisor's restart is not the only trace of it.
  process.on("unhandledRejection", (reason) => {
    process.stderr.write(`herald-${definition.name}: unhandled rejection: ${describeStack(reason)}\n`);
    process.exit(1);
  });
  let service: RunningService;
  try {
    service = await runService(definition);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems)
        process.stderr.write(`herald-${definition.name}: config: ${problem}\n`);
    } else {
      process.stderr.write(`herald-${definition.name}: failed to start: ${describe(err)}\n`);
    }
    process.exit(1);
  }
  const onSignal = (signal: string) => {
    process.stderr.write(`herald-${definition.name}: ${signal}, stopping\n`);
    const forced = setTimeout(() => process.exit(1), 30_000);
    forced.unref();
    service.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
}

function describeStack(err: unknown): string {
  return err instanceof Error ? (err.stack ?? describe(err)) : String(err);
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
