import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type ControlNotification, ControlNotificationSchema } from "@herald/contracts";
import type { Logger } from "pino";
import type { Connection, Consumer } from "rabbitmq-client";
import { consumeProto, type ProtoPublisher } from "../amqp/messaging.js";
import type { TopologyNames } from "../amqp/topology.js";

/**
 * Tells every instance of every service that a tenant (or one of its endpoints, API keys or event types)
 * changed, so their caches drop it at once instead of waiting for expiry. Resolves once RabbitMQ
 * confirmed it.
 */
export function publishControlChange(
  publisher: ProtoPublisher,
  names: TopologyNames,
  tenantId: string,
  endpointId = "",
  apiKeyId = "",
  eventType = "",
): Promise<void> {
  return publisher.publish(
    { exchange: names.exchanges.control },
    ControlNotificationSchema,
    create(ControlNotificationSchema, {
      tenantId,
      endpointId,
      apiKeyId,
      eventType,
      changeTime: timestampFromDate(new Date()),
    }),
  );
}

/**
 * Whether a notification is about one event type only: caches of tenants, endpoints and keys keep
 * theirs. (An older routing never sets it; its tenant-wide notifications drop everything of the tenant.)
 */
export function isEventTypeChange(change: ControlNotification | undefined): boolean {
  return change !== undefined && change.eventType !== "";
}

/**
 * Calls `onChange` for every control notification. On every (re)connection it is called with
 * `undefined`: notifications may have been missed meanwhile, so the caller should drop everything.
 */
export function consumeControlChanges(
  rabbit: Connection,
  names: TopologyNames,
  logger: Logger,
  onChange: (change: ControlNotification | undefined) => void,
): Consumer {
  const consumer = consumeProto(rabbit, {
    names,
    // A server-named queue per instance: every instance must see every notification.
    queue: "",
    queueOptions: { durable: false, exclusive: true, autoDelete: true },
    bindExchange: names.exchanges.control,
    schema: ControlNotificationSchema,
    concurrency: 1,
    logger,
    handler: async (change) => onChange(change),
  });
  consumer.on("ready", () => onChange(undefined));
  return consumer;
}
