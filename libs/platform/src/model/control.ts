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

/** Told of each control notification; `undefined` when some may have been missed (drop everything). */
export type ControlListener = (change: ControlNotification | undefined) => void;

/**
 * Hands each control notification to its listeners, then to those waiting for it. Pure, so the fan-out
 * is tested without a broker; {@link controlFeed} feeds it from RabbitMQ.
 */
export class ControlListeners {
  readonly #listeners: ControlListener[] = [];
  readonly #waiters = new Set<(change: ControlNotification) => void>();

  /** Adds a listener; it hears every notification from now on. */
  listen(listener: ControlListener): void {
    this.#listeners.push(listener);
  }

  /**
   * Resolves true when a notification that `matches` arrives (after every listener applied it), false
   * after `timeoutMs`. RabbitMQ puts a notification in every instance's queue at once, so an instance
   * seeing its own announcement come back means the others have theirs too (though not that they have
   * applied it).
   */
  noticeOf(matches: (change: ControlNotification) => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (noticed: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(noticed);
      };
      const waiter = (change: ControlNotification) => {
        if (matches(change)) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Applies a notification, or `undefined` when some may have been missed. */
  dispatch(change: ControlNotification | undefined): void {
    for (const listener of this.#listeners) listener(change);
    if (change) for (const waiter of [...this.#waiters]) waiter(change);
  }
}

/**
 * The control notifications of one service instance: one consumer, which every cache of the instance
 * (API keys, tenants and endpoints, circuits) listens to.
 */
export interface ControlFeed {
  listen: ControlListeners["listen"];
  noticeOf: ControlListeners["noticeOf"];
  /** Resolves once the consumer is ready, so no notification from then on is missed. */
  ready: Promise<void>;
  /** The consumer, stopped with the service. */
  consumer: Consumer;
}

const feeds = new WeakMap<Connection, ControlFeed>();

/**
 * The control feed of the service instance connected by `rabbit`, opened on first use. The service's
 * authentication (apiKeyAuthentication) opens it, and hands its consumer to runService to stop.
 */
export function controlFeed(ctx: { rabbit: Connection; names: TopologyNames; logger: Logger }): ControlFeed {
  const open = feeds.get(ctx.rabbit);
  if (open) return open;
  const listeners = new ControlListeners();
  const consumer = consumeControlChanges(ctx.rabbit, ctx.names, ctx.logger, (change) =>
    listeners.dispatch(change),
  );
  const feed: ControlFeed = {
    listen: (listener) => listeners.listen(listener),
    noticeOf: (matches, timeoutMs) => listeners.noticeOf(matches, timeoutMs),
    ready: new Promise((resolve) => consumer.once("ready", () => resolve())),
    consumer,
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
