import { Agent } from "node:http";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import {
  ApiKeyService,
  EndpointService,
  EventTypeService,
  PortalService,
  TenantService,
} from "@herald/contracts";
import { type RunningService, runService } from "@herald/platform";
import { cleanupTestEnv, TEST_ADMIN_KEY, testEnv } from "@herald/platform/testing";
import { type Db, MongoClient } from "mongodb";
import { routingService } from "../service.js";

// Test harness of the control-plane integration tests: a routing service started in-process with its
// own database and RabbitMQ namespace, and clients of its three services. Kept out of the build
// (tsconfig.lib.json), as test support is.

/** Local receivers, as in development. */
export const TEST_URL_ALLOWLIST = "127.0.0.1/32,::1/128,localhost";

/** The wire protocols clients may speak; all three are served on the one port. */
export type WireProtocol = "connect" | "grpc" | "grpc-web";

export interface ControlPlaneClients {
  tenants: Client<typeof TenantService>;
  endpoints: Client<typeof EndpointService>;
  apiKeys: Client<typeof ApiKeyService>;
  eventTypes: Client<typeof EventTypeService>;
  portal: Client<typeof PortalService>;
}

export class RoutingUnderTest {
  readonly env: Record<string, string>;
  readonly #services: RunningService[] = [];
  readonly #clients = new Map<string, ControlPlaneClients>();
  #mongo: MongoClient | undefined;
  // Our own, so stop() can drop idle keep-alive connections: the server's graceful close waits for them.
  readonly #http1 = new Agent({ keepAlive: true });

  private constructor(env: Record<string, string>) {
    this.env = env;
  }

  /** Starts routing with an isolated test environment plus `overrides`. */
  static async start(overrides: Record<string, string> = {}): Promise<RoutingUnderTest> {
    const harness = new RoutingUnderTest(
      testEnv({
        RETRY_TIERS: "1s",
        HERALD_URL_ALLOWLIST: TEST_URL_ALLOWLIST,
        HERALD_ALLOW_HTTP: "true",
        ...overrides,
      }),
    );
    await harness.startInstance();
    return harness;
  }

  /** Starts one more instance on the same database and namespace; returns its index. */
  async startInstance(): Promise<number> {
    this.#services.push(await runService(routingService, this.env));
    return this.#services.length - 1;
  }

  /** Stops one instance (gracefully), e.g. to start another with a different environment. */
  async stopInstance(instance: number): Promise<void> {
    await this.#services[instance]?.stop();
  }

  port(instance = 0): number {
    const service = this.#services[instance];
    if (!service) throw new Error(`no instance ${instance}`);
    return service.port;
  }

  /** Clients calling with `token` (none when undefined), over `protocol`, to one instance. */
  as(token: string | undefined, protocol: WireProtocol = "connect", instance = 0): ControlPlaneClients {
    const cacheKey = `${token}|${protocol}|${instance}`;
    let clients = this.#clients.get(cacheKey);
    if (!clients) {
      const transport = this.#transport(token, protocol, instance);
      clients = {
        tenants: createClient(TenantService, transport),
        endpoints: createClient(EndpointService, transport),
        apiKeys: createClient(ApiKeyService, transport),
        eventTypes: createClient(EventTypeService, transport),
        portal: createClient(PortalService, transport),
      };
      this.#clients.set(cacheKey, clients);
    }
    return clients;
  }

  /** Clients with the bootstrap admin key. */
  admin(protocol: WireProtocol = "connect"): ControlPlaneClients {
    return this.as(TEST_ADMIN_KEY, protocol);
  }

  /** The test database, to look at documents as stored. */
  async db(): Promise<Db> {
    this.#mongo ??= await new MongoClient(this.env.MONGO_URL as string).connect();
    return this.#mongo.db(this.env.MONGO_DB);
  }

  async stop(): Promise<void> {
    this.#http1.destroy();
    await Promise.all(this.#services.map((service) => service.stop()));
    await this.#mongo?.close();
    await cleanupTestEnv(this.env);
  }

  #transport(token: string | undefined, protocol: WireProtocol, instance: number): Transport {
    const withToken: Interceptor = (next) => (req) => {
      if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
      return next(req);
    };
    const options = {
      baseUrl: `http://127.0.0.1:${this.port(instance)}`,
      interceptors: [withToken],
    };
    if (protocol === "grpc") return createGrpcTransport(options);
    const http1 = { ...options, httpVersion: "1.1", nodeOptions: { agent: this.#http1 } } as const;
    if (protocol === "grpc-web") return createGrpcWebTransport(http1);
    return createConnectTransport(http1);
  }
}

/** The error a call failed with; throws if it succeeded. */
export async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded");
}

/** The name of the gRPC status a call ended with ("OK" when it succeeded), e.g. "PermissionDenied". */
export async function statusOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch (err) {
    return Code[ConnectError.from(err).code];
  }
}
