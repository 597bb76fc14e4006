import { describe, expect, it } from "vitest";
import {
  messagingDestination,
  messagingSpanName,
  processSpanAttributes,
  publishSpanAttributes,
} from "./messaging-spans.js";

describe("messaging span names", () => {
  it("names a span `<operation> <destination>`, the destination being the exchange", () => {
    expect(messagingSpanName("publish", messagingDestination("herald.events", ""))).toBe(
      "publish herald.events",
    );
    expect(messagingSpanName("process", messagingDestination("herald.deliveries", "evt"))).toBe(
      "process herald.deliveries",
    );
  });

  it("names the queue of a message sent through the default exchange by its routing key", () => {
    expect(messagingSpanName("process", messagingDestination("", "delivery.dead"))).toBe(
      "process delivery.dead",
    );
  });

  it("never ends a name with a space: without a destination the span is named by its operation", () => {
    expect(messagingSpanName("process", messagingDestination("", ""))).toBe("process");
    expect(messagingSpanName("process", messagingDestination("", undefined))).toBe("process");
  });
});

describe("messaging span attributes", () => {
  it("describes a publish as a send to the exchange", () => {
    expect(publishSpanAttributes("herald.retry", "5000", "evt_1")).toEqual({
      "messaging.system": "rabbitmq",
      "messaging.operation.type": "send",
      "messaging.operation.name": "publish",
      "messaging.destination.name": "herald.retry",
      "messaging.rabbitmq.destination.routing_key": "5000",
      "messaging.message.id": "evt_1",
    });
    expect(publishSpanAttributes("herald.events", "", undefined)).not.toHaveProperty(
      "messaging.rabbitmq.destination.routing_key",
    );
  });

  it("gives a consumed message its queue as subscription, or marks a server-named queue anonymous", () => {
    const named = processSpanAttributes({
      exchange: "herald.events",
      routingKey: "",
      queue: "routing.events",
      deliveryTag: 7,
      bodySize: 120,
    });
    expect(named).toMatchObject({
      "messaging.system": "rabbitmq",
      "messaging.operation.type": "process",
      "messaging.destination.name": "herald.events",
      "messaging.destination.subscription.name": "routing.events",
      "messaging.consumer.group.name": "routing.events",
      "messaging.rabbitmq.message.delivery_tag": 7,
      "messaging.message.body.size": 120,
    });
    const anonymous = processSpanAttributes({
      exchange: "herald.control",
      routingKey: "",
      queue: "",
      bodySize: 3,
    });
    expect(anonymous).toMatchObject({
      "messaging.destination.anonymous": true,
      "messaging.destination.temporary": true,
    });
    expect(anonymous).not.toHaveProperty("messaging.destination.subscription.name");
  });
});
