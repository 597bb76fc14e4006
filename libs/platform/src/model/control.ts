import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ControlAckSchema, type ControlNotification, ControlNotificationSchema } from "@herald/contracts";
import type { Logger } from "pino";
import type { Connection, Consumer } from "rabbitmq-client";
import { consumeProto, PROTOBUF_CONTENT_TYPE, type ProtoPublisher } from "../amqp/messaging.js";
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
  ack?: AckRequest,
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
      notificationId: ack?.notificationId ?? "",
      ackQueue: ack?.ackQueue ?? "",
    }),
  );
}

/** Asks every instance that applies a notification to acknowledge it to `ackQueue` (see control-acks.ts). */
export interface AckRequest {
  notificationId: string;
  ackQueue: string;
}

/** Told of each control notification; `undefined` when some may have been missed (drop everything). */
export type ControlListener = (change: ControlNotification | undefined) => void;

/**
 * Hands each control notification to its listeners. Pure, so the fan-out
 * is tested without a broker; {@link controlFeed} feeds it from RabbitMQ.
 */
export class ControlListeners {
  readonly #listeners: ControlListener[] = [];

  /** Adds a listener; it hears every notification from now on. */
  listen(listener: ControlListener): void {
    this.#listeners.push(listener);
  }

  /** Applies a notification, or `undefined` when some may have been missed. */
  dispatch(change: ControlNotification | undefined): void {
    for (const listener of this.#listeners) listener(change);
  }
}

/**
 * The control notifications of one service instance: one consumer, which every cache of the instance
 * (API keys, tenants and endpoints, circuits) listens to.
 */
export interface ControlFeed {
  /** This instance, as named in its acknowledgements and its registration (instances.ts). */
  instanceId: string;
  listen: ControlListeners["listen"];
  /** Resolves once the consumer is ready, so no notification from then on is missed. */
  ready: Promise<void>;
  /** Stops consuming and acknowledging, with the service. */
  close(): Promise<void>;
}

const feeds = new WeakMap<Connection, ControlFeed>();

/**
 * The control feed of the service instance connected by `rabbit`, opened on first use. The service's
 * authentication (apiKeyAuthentication) opens it, registers the instance, and closes it with the service.
 * Every notification that asks for it (RevokeApiKey's, DeleteTenant's) is acknowledged once applied.
 */
export function controlFeed(ctx: {
  rabbit: Connection;
  names: TopologyNames;
  logger: Logger;
  /** Names this instance (and its acknowledgements); default a fresh id of service "unknown". */
  instanceId?: string;
}): ControlFeed {
  const open = feeds.get(ctx.rabbit);
  if (open) return open;
  const instanceId = ctx.instanceId ?? `unknown_${randomUUID()}`;
  const listeners = new ControlListeners();
  const acknowledgements = ctx.rabbit.createPublisher({ confirm: false, maxAttempts: 1 });
  const consumer = consumeControlChanges(ctx.rabbit, ctx.names, ctx.logger, async (change) => {
    listeners.dispatch(change);
    // Acknowledged once every listener applied it (dispatch is synchronous), so the announcer may
    // answer its caller. A lost acknowledgement only makes the announcer wait its bound.
    if (change?.ackQueue) {
      await acknowledgements
        .send(
          {
            exchange: "",
            routingKey: change.ackQueue,
            contentType: PROTOBUF_CONTENT_TYPE,
            type: ControlAckSchema.typeName,
          },
          Buffer.from(
            toBinary(
              ControlAckSchema,
              create(ControlAckSchema, { notificationId: change.notificationId, instanceId }),
            ),
          ),
        )
        .catch((err) =>
          ctx.logger.warn({ err, notificationId: change.notificationId }, "control acknowledgement not sent"),
        );
    }
  });
  const feed: ControlFeed = {
    instanceId,
    listen: (listener) => listeners.listen(listener),
    ready: new Promise((resolve) => consumer.once("ready", () => resolve())),
    async close() {
      await consumer.close();
      await acknowledgements.close();
    },
  };
  feeds.set(ctx.rabbit, feed);
  return feed;
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
  onChange: (change: ControlNotification | undefined) => void | Promise<void>,
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
  consumer.on("ready", () => void onChange(undefined));
  return consumer;
}
