import type { ControlNotification } from "@herald/contracts";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { topologyNames } from "../amqp/topology.js";
import { createLogger } from "../logger.js";
import { openTestBroker, type TestBroker, testEnv } from "../testing.js";
import { controlFeed, publishControlChange } from "./control.js";

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
      await feed.consumer.close();
    }
  });
});
