import { Connection } from "rabbitmq-client";
import { describe, expect, it } from "vitest";
import { testEnv } from "../testing/index.js";
import { amqpConnectionOptions } from "./urls.js";

const env = testEnv();

describe("a list of RabbitMQ nodes", () => {
  it("connects to the next node when the first does not answer", async () => {
    const broker = new URL(env.AMQP_URL as string);
    const dead = new URL(broker);
    dead.port = "1";
    const rabbit = new Connection({
      ...amqpConnectionOptions(`${dead},${broker}`),
      retryLow: 50,
      retryHigh: 200,
    });
    const errors: unknown[] = [];
    rabbit.on("error", (err) => errors.push(err));
    try {
      await rabbit.onConnect(10_000, true);
      const queue = `${env.AMQP_NAMESPACE}.failover`;
      await rabbit.queueDeclare({ queue, exclusive: true });
      expect(errors.length).toBeGreaterThanOrEqual(1);
    } finally {
      await rabbit.close();
    }
  });
});
