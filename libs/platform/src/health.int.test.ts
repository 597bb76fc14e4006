import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthMonitor, rabbitmqCheck, ServingStatus } from "./health.js";
import { createLogger } from "./logger.js";
import { testEnv } from "./testing/index.js";

const env = testEnv();
let rabbit: Connection;

beforeAll(async () => {
  rabbit = new Connection({ url: env.AMQP_URL });
  await rabbit.onConnect(10_000);
});

afterAll(() => rabbit?.close());

describe("rabbitmqCheck", () => {
  it("reports an open connection as available in the tick that wrote frames", async () => {
    const queue = `${env.AMQP_NAMESPACE}.health`;
    // Writes frames in this tick, as the consumers' setup does just before a service's first check.
    const declared = rabbit.queueDeclare({ queue, exclusive: true });
    expect(await rabbitmqCheck(rabbit).check()).toBe(true);
    await declared;
  });

  it("gives a service's first health check no failing dependency, hence no warning", async () => {
    const warnings: string[] = [];
    const logger = createLogger({ service: "test", level: "warn" });
    logger.warn = ((_obj: unknown, msg?: string) => warnings.push(msg ?? "")) as typeof logger.warn;
    const health = new HealthMonitor({ logger, checks: [rabbitmqCheck(rabbit)], intervalMs: 60_000 });
    const declared = rabbit.queueDeclare({ queue: `${env.AMQP_NAMESPACE}.health2`, exclusive: true });
    await health.start();
    await declared;
    expect(health.status).toBe(ServingStatus.SERVING);
    expect(warnings).toEqual([]);
    health.drain();
  });

  it("reports a closed connection as unavailable", async () => {
    const closed = new Connection({ url: env.AMQP_URL });
    await closed.onConnect(10_000);
    await closed.close();
    expect(await rabbitmqCheck(closed).check()).toBe(false);
  });
});
