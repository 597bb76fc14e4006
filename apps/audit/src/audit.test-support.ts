// Test support for the audit integration tests, kept out of the build.
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type AuditRecord, AuditService, type Scope } from "@herald/contracts";
import {
  createLogger,
  openQueue,
  ProtoPublisher,
  type Queue,
  type RunningService,
  runService,
  topologyNames,
} from "@herald/platform";
import { apiKeysCollection, auditRecordQueue, generateApiKey } from "@herald/platform/model";
import { cleanupTestEnv } from "@herald/platform/testing";
import { type Db, MongoClient } from "mongodb";
import { Connection } from "rabbitmq-client";
import { auditService } from "./service.js";

/** The audit service running on a test environment, with a MongoDB client and a publisher of the test's. */
export interface AuditUnderTest {
  service: RunningService;
  mongo: MongoClient;
  /** The environment's MONGO_DB. */
  db: Db;
  rabbit: Connection;
  publisher: ProtoPublisher;
  /** The audit record queue, opened on the test's connection. */
  auditRecords: Queue<AuditRecord>;
  /** Stops the service and the clients, then removes the environment's queues and databases. */
  stop(): Promise<void>;
}

export async function startAudit(env: Record<string, string>): Promise<AuditUnderTest> {
  const service = await runService(auditService, env);
  const mongo = new MongoClient(env.MONGO_URL as string);
  const rabbit = new Connection(env.AMQP_URL);
  const publisher = new ProtoPublisher(rabbit);
  const names = topologyNames(env.AMQP_NAMESPACE);
  const logger = createLogger({ service: "test", level: "silent" });
  return {
    service,
    mongo,
    db: mongo.db(env.MONGO_DB),
    rabbit,
    publisher,
    auditRecords: openQueue(auditRecordQueue, { rabbit, publisher, names, logger }),
    async stop() {
      await service.stop();
      await publisher.close();
      await rabbit.close();
      await mongo.close();
      await cleanupTestEnv(env);
    },
  };
}

/** An AuditService client of the service on `port`, calling with the API key `key`. */
export function auditClient(port: number, key: string): Client<typeof AuditService> {
  const transport = createConnectTransport({
    baseUrl: `http://127.0.0.1:${port}`,
    httpVersion: "1.1",
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${key}`);
        return next(req);
      },
    ],
  });
  return createClient(AuditService, transport);
}

/** An AuditService client with a new API key of `tenantId` holding `scopes`. */
export async function tenantAuditClient(
  audit: AuditUnderTest,
  tenantId: string,
  scopes: Scope[],
): Promise<Client<typeof AuditService>> {
  const key = generateApiKey();
  await apiKeysCollection(audit.db).insertOne({
    _id: key.id,
    name: `${tenantId} test key`,
    tenant_id: tenantId,
    scopes,
    secret_hash: key.secretHash,
    revoked: false,
    create_time: new Date(),
  });
  return auditClient(audit.service.port, key.token);
}
