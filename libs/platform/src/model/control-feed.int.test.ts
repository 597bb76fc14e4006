import type { ControlNotification } from "@herald/contracts";
import { Connection } from "rabbitmq-client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { topologyNames } from "../amqp/topology.js";
import { createLogger } from "../logger.js";
import { openTestBroker, type TestBroker, testEnv } from "../testing/index.js";
import { controlFeed, publishControlChange } from "./control.js";
import { openAckInbox } from "./control-acks.js";

const env = testEnv();
const names = topologyNames(env.AMQP_NAMESPACE);
const logger = createLogger({ service: "test", level: "silent" });
let broker: TestBroker;

beforeAll(async () => {
  broker = await openTestBroker(env, [1_000]);
});

afterAll(() => broker?.close());

describe("controlFeed", () => {
  it("is one consumer per connection, and every listener hears every notification", async () => {
    const ctx = { rabbit: broker.rabbit, names, logger };
    const feed = controlFeed(ctx);
    expect(controlFeed(ctx)).toBe(feed);
    const heard: Array<[string, ControlNotification | undefined]> = [];
    feed.listen((change) => heard.push(["keys", change]));
    feed.listen((change) => heard.push(["cache", change]));
    await feed.ready;
    try {
      await publishControlChange(broker.publisher, names, "t1", "ep_1");
      await vi.waitFor(() => expect(heard.filter(([, c]) => c?.endpointId === "ep_1")).toHaveLength(2));
      expect(heard.filter(([, c]) => c).map(([who, c]) => [who, c?.tenantId])).toEqual([
        ["keys", "t1"],
        ["cache", "t1"],
      ]);
    } finally {
      await feed.close();
    }
  });

  it("acknowledges a notification that asks for it once every listener applied it, one ack per instance", async () => {
    const connections = [new Connection(env.AMQP_URL), new Connection(env.AMQP_URL)];
    const feeds = connections.map((rabbit, i) =>
      controlFeed({ rabbit, names, logger, instanceId: `instance_${i}` }),
    );
    const applied: string[] = [];
    for (const [i, feed] of feeds.entries()) {
      feed.listen((change) => {
        if (change?.apiKeyId) applied.push(`instance_${i}`);
      });
    }
    const inbox = openAckInbox(broker.rabbit, logger);
    try {
      await Promise.all([...feeds.map((feed) => feed.ready), inbox.ready]);
      const wait = inbox.acks.expect(["instance_0", "instance_1"], 10_000);
      await publishControlChange(broker.publisher, names, "t1", "", "key_1", "", {
        notificationId: wait.notificationId,
        ackQueue: inbox.queue,
      });
      const outcome = await wait.outcome;
      // Both acknowledged (before the bound), each after applying the notification.
      expect(outcome.missing).toEqual([]);
      expect(outcome.acked.sort()).toEqual(["instance_0", "instance_1"]);
      expect(applied.sort()).toEqual(["instance_0", "instance_1"]);
      // A notification that asks for no acknowledgement gets none.
      const unasked = inbox.acks.expect(["instance_0"], 300);
      await publishControlChange(broker.publisher, names, "t1", "", "key_2");
      expect(await unasked.outcome).toEqual({ acked: [], missing: ["instance_0"] });
    } finally {
      await inbox.consumer.close();
      for (const feed of feeds) await feed.close();
      for (const rabbit of connections) await rabbit.close();
    }
  });
});
