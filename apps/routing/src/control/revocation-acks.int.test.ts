import { create, toBinary } from "@bufbuild/protobuf";
import { ControlAckSchema, Scope } from "@herald/contracts";
import { createLogger, topologyNames } from "@herald/platform";
import { consumeControlChanges, controlFeed, ServiceInstances, thisInstance } from "@herald/platform/model";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RoutingUnderTest, statusOf } from "./routing.test-support.js";

// RevokeApiKey answers once every live service instance acknowledged the revocation: two instances
// besides routing, on real RabbitMQ and the MongoDB wire server, registered as services register.

const logger = createLogger({ service: "test", level: "silent" });
let routing: RoutingUnderTest;
let registry: ServiceInstances;
const connections: Connection[] = [];

beforeAll(async () => {
  routing = await RoutingUnderTest.start();
  registry = new ServiceInstances(await routing.db());
});

afterAll(async () => {
  for (const rabbit of connections) await rabbit.close();
  await routing?.stop();
});

function connect(): Connection {
  const rabbit = new Connection(routing.env.AMQP_URL);
  connections.push(rabbit);
  return rabbit;
}

describe("RevokeApiKey with acknowledgements", () => {
  it("answers only after both other instances applied and acknowledged the revocation", async () => {
    const names = topologyNames(routing.env.AMQP_NAMESPACE);
    const events: string[] = [];
    // Instance 1: a control feed as every service has, acknowledging as soon as it applied the change.
    const audit = thisInstance("audit");
    const feed = controlFeed({ rabbit: connect(), names, logger, instanceId: audit.id });
    feed.listen((change) => {
      if (change?.apiKeyId) events.push("audit applied");
    });
    // Instance 2: slow to apply (200 ms), acknowledging by hand after it did.
    const ingest = thisInstance("ingest");
    const ackRabbit = connect();
    const acks = ackRabbit.createPublisher();
    let slowReady = () => {};
    const slowIsReady = new Promise<void>((resolve) => {
      slowReady = resolve;
    });
    const slow = consumeControlChanges(ackRabbit, names, logger, async (change) => {
      if (change === undefined) slowReady();
      if (!change?.apiKeyId) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
      events.push("ingest applied");
      await acks.send(
        { exchange: "", routingKey: change.ackQueue },
        Buffer.from(
          toBinary(
            ControlAckSchema,
            create(ControlAckSchema, { notificationId: change.notificationId, instanceId: ingest.id }),
          ),
        ),
      );
    });
    try {
      await feed.ready;
      await slowIsReady;
      await registry.heartbeat(audit);
      await registry.heartbeat(ingest);
      const admin = routing.admin();
      const { apiKey } = await admin.apiKeys.createApiKey({
        name: "acknowledged",
        tenantId: "",
        scopes: [Scope.ADMIN],
      });
      await admin.apiKeys.revokeApiKey({ apiKeyId: apiKey?.id ?? "" });
      events.push("RevokeApiKey answered");
      // Both applied it (in either order) before the call answered.
      expect(events.slice(0, 2).sort()).toEqual(["audit applied", "ingest applied"]);
      expect(events.slice(2)).toEqual(["RevokeApiKey answered"]);
    } finally {
      await registry.remove(audit.id);
      await registry.remove(ingest.id);
      await slow.close();
      await acks.close();
      await feed.close();
    }
  });

  it("still answers, and the key is refused, when a live instance never acknowledges", async () => {
    const silent = thisInstance("audit");
    await registry.heartbeat(silent);
    try {
      const admin = routing.admin();
      const { apiKey, token } = await admin.apiKeys.createApiKey({
        name: "unacknowledged",
        tenantId: "",
        scopes: [Scope.ADMIN],
      });
      expect(await statusOf(routing.as(token).tenants.listTenants({}))).toBe("OK");
      const revoked = await admin.apiKeys.revokeApiKey({ apiKeyId: apiKey?.id ?? "" });
      expect(revoked.apiKey?.revoked).toBe(true);
      expect(await statusOf(routing.as(token).tenants.listTenants({}))).toBe("Unauthenticated");
    } finally {
      await registry.remove(silent.id);
    }
  });

  it("registers each running routing instance, and forgets one that stopped", async () => {
    const live = async () => (await registry.live()).filter((instance) => instance.service === "routing");
    expect(await live()).toHaveLength(1);
    const second = await routing.startInstance();
    expect(await live()).toHaveLength(2);
    await routing.stopInstance(second);
    expect(await live()).toHaveLength(1);
  });
});
