import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Connection } from "rabbitmq-client";
import { consumeProto, ProtoPublisher } from "../amqp/messaging.js";
import { declareTopology, type TopologyNames, topologyNames } from "../amqp/topology.js";
import { amqpConnectionOptions } from "../amqp/urls.js";
import { createLogger } from "../logger.js";
import { cleanupTestEnv } from "./env.js";

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

/**
 * Consumes `queue` until its messages held `items` items (as `count` counts them), then stops consuming
 * and resolves with those messages, for tests of what a publisher put in each message.
 */
export function receiveMessages<S extends DescMessage>(
  rabbit: Connection,
  options: { names: TopologyNames; queue: string; schema: S; count(message: MessageShape<S>): number },
  items: number,
): Promise<MessageShape<S>[]> {
  const got: MessageShape<S>[] = [];
  let counted = 0;
  return new Promise((resolve) => {
    const consumer = consumeProto(rabbit, {
      names: options.names,
      queue: options.queue,
      schema: options.schema,
      logger: createLogger({ service: "test", level: "silent" }),
      handler: async (message) => {
        got.push(message);
        counted += options.count(message);
        if (counted >= items) void consumer.close().then(() => resolve(got));
      },
    });
  });
}
