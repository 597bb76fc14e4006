import type { Attributes } from "@opentelemetry/api";

// Names and attributes of the spans around RabbitMQ messages, after OpenTelemetry's messaging semantic
// conventions (RabbitMQ): the destination is the exchange, the span is named `<operation> <destination>`,
// and a consumer's queue is its subscription.

/** What a messaging span does with a message. */
export type MessagingOperation = "publish" | "process";

/**
 * The destination of a message: its exchange, or for the default exchange ("") the routing key, which
 * is then the queue's name. Empty when neither says.
 */
export function messagingDestination(exchange: string, routingKey: string | undefined): string {
  return exchange !== "" ? exchange : (routingKey ?? "");
}

/** `<operation> <destination>`, or the operation alone when there is no destination to name. */
export function messagingSpanName(operation: MessagingOperation, destination: string): string {
  return destination === "" ? operation : `${operation} ${destination}`;
}

/** Attributes of a PRODUCER span publishing to `exchange`. */
export function publishSpanAttributes(
  exchange: string,
  routingKey: string | undefined,
  messageId: string | undefined,
): Attributes {
  return {
    "messaging.system": "rabbitmq",
    "messaging.operation.type": "send",
    "messaging.operation.name": "publish",
    "messaging.destination.name": exchange,
    ...(routingKey ? { "messaging.rabbitmq.destination.routing_key": routingKey } : {}),
    ...(messageId ? { "messaging.message.id": messageId } : {}),
  };
}

/** What a consumer knows of a message it handles. */
export interface ConsumedMessage {
  exchange: string;
  routingKey: string;
  /** The queue consumed from; "" for a server-named one (the broker's name is per instance). */
  queue: string;
  messageId?: string;
  deliveryTag?: number;
  bodySize: number;
}

/** Attributes of a CONSUMER span processing one message. */
export function processSpanAttributes(message: ConsumedMessage): Attributes {
  return {
    "messaging.system": "rabbitmq",
    "messaging.operation.type": "process",
    "messaging.operation.name": "process",
    "messaging.destination.name": message.exchange,
    ...(message.routingKey ? { "messaging.rabbitmq.destination.routing_key": message.routingKey } : {}),
    ...(message.queue
      ? {
          "messaging.destination.subscription.name": message.queue,
          "messaging.consumer.group.name": message.queue,
        }
      : { "messaging.destination.anonymous": true, "messaging.destination.temporary": true }),
    ...(message.messageId ? { "messaging.message.id": message.messageId } : {}),
    ...(message.deliveryTag !== undefined
      ? { "messaging.rabbitmq.message.delivery_tag": message.deliveryTag }
      : {}),
    "messaging.message.body.size": message.bodySize,
  };
}
