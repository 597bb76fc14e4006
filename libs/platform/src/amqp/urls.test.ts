import { describe, expect, it } from "vitest";
import { amqpConnectionOptions, amqpUrlProblem } from "./urls.js";

describe("AMQP_URL", () => {
  it("takes one URL as it is", () => {
    expect(amqpUrlProblem("amqp://guest:guest@127.0.0.1:5672")).toBeUndefined();
    expect(amqpConnectionOptions("amqp://guest:guest@127.0.0.1:5672")).toEqual({
      url: "amqp://guest:guest@127.0.0.1:5672",
    });
  });

  it("takes a cluster's nodes as a list, each host once, default ports filled in", () => {
    const list = "amqp://u:p@rabbit-0:5681/vh, amqp://u:p@rabbit-1/vh,amqp://u:p@rabbit-2:5683/vh";
    expect(amqpUrlProblem(list)).toBeUndefined();
    expect(amqpConnectionOptions(list)).toEqual({
      url: "amqp://u:p@rabbit-0:5681/vh",
      hosts: ["rabbit-0:5681", "rabbit-1:5672", "rabbit-2:5683"],
    });
    expect(amqpConnectionOptions("amqps://a,amqps://b:1").hosts).toEqual(["a:5671", "b:1"]);
  });

  it("refuses other schemes, garbage and empty entries", () => {
    expect(amqpUrlProblem("http://127.0.0.1")).toMatch(/amqp:\/\//);
    expect(amqpUrlProblem("amqp://a,")).toMatch(/amqp:\/\//);
    expect(amqpUrlProblem("not a url")).toMatch(/amqp:\/\//);
  });

  it("refuses a list whose URLs differ in more than host and port", () => {
    for (const list of [
      "amqp://u:p@a,amqp://u:q@b",
      "amqp://u:p@a/one,amqp://u:p@b/two",
      "amqp://a,amqps://b",
      "amqp://a?heartbeat=5,amqp://b",
    ])
      expect(amqpUrlProblem(list), list).toMatch(/only the host and port may differ/);
  });

  it("refuses IPv6 literals in a list, which rabbitmq-client would split wrongly", () => {
    expect(amqpUrlProblem("amqp://[::1]:5672,amqp://[::1]:5673")).toMatch(/IPv6/);
    expect(amqpUrlProblem("amqp://[::1]:5672")).toBeUndefined();
  });
});
