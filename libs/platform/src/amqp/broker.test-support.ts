// Test support for the messaging integration tests, kept out of the build.
import { Connection } from "rabbitmq-client";
import { cleanupTestEnv } from "../testing.js";
import { ProtoPublisher } from "./messaging.js";
import { declareTopology, topologyNames } from "./topology.js";

/** A test environment's RabbitMQ topology, with a connection and a publisher on it. */
export interface TestBroker {
  rabbit: Connection;
  publisher: ProtoPublisher;
  /** Closes both, then removes the environment's queues and exchanges. */
  close(): Promise<void>;
}

export async function openTestBroker(
  env: Record<string, string>,
  retryTiersMs: number[],
): Promise<TestBroker> {
  const rabbit = new Connection(env.AMQP_URL);
  await declareTopology(rabbit, topologyNames(env.AMQP_NAMESPACE), retryTiersMs);
  const publisher = new ProtoPublisher(rabbit);
  return {
    rabbit,
    publisher,
    async close() {
      await publisher.close();
      await rabbit.close();
      await cleanupTestEnv(env);
    },
  };
}
