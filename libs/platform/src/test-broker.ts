import { Connection } from "rabbitmq-client";
import { ProtoPublisher } from "./amqp/messaging.js";
import { declareTopology, topologyNames } from "./amqp/topology.js";
import { amqpConnectionOptions } from "./amqp/urls.js";
import { cleanupTestEnv } from "./testing.js";

/** A test environment's RabbitMQ topology, with a connection and a publisher on it. */
export interface TestBroker {
  rabbit: Connection;
  publisher: ProtoPublisher;
  /** Closes both, then removes the environment's queues and exchanges. */
  close(): Promise<void>;
}

/** Declares a test environment's topology and opens a connection and a publisher on it. */
export async function openTestBroker(
  env: Record<string, string>,
  retryTiersMs: number[],
): Promise<TestBroker> {
  const rabbit = new Connection(amqpConnectionOptions(env.AMQP_URL as string));
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
