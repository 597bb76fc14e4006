import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { type Attributes, context, SpanKind } from "@opentelemetry/api";
import pLimit from "p-limit";
import type { Logger } from "pino";
import type { Connection, Consumer } from "rabbitmq-client";
import { carriedTraceContext, injectTraceContext, inSpan } from "../tracing.js";
import { handleBatch, republishEachAlone } from "./batch-handling.js";
import { BatchPublisher, type BatchPublisherOptions } from "./batch-publisher.js";
import { nextTierMs, type TierChoice, tierFor } from "./delay-tiers.js";
import { HeavyKeys, type HeavyKeysOptions } from "./heavy-keys.js";
import { batchDecoder, consumeProto, type MessageMeta, type ProtoPublisher } from "./messaging.js";
import { RoundRobinSlots } from "./round-robin-slots.js";
import { HEAVY_TENANT, OVERFLOW_SHARD, shardOf, type TopologyNames } from "./topology.js";
import type { WeightOf } from "./weights.js";

// Every queue is declared once, as a QueueSpec (Herald's are in model/queues.ts), and used through
// openQueue: publish items, consume them one by one, or publish one to come back later (publishAt).
// Batching, trace context, failed-item splitting, acks and the retry tiers live here, not in the services.

/** How a queue's messages carry several items at once. */
export interface QueueBatch<I extends DescMessage, B extends DescMessage> {
  /** Schema of the message that carries several items. */
  schema: B;
  itemsOf(batch: MessageShape<B>): MessageShape<I>[];
  of(items: MessageShape<I>[]): MessageShape<B>;
  /** Items one message carries at most. */
  maxItems: number;
  /** Bytes of items (as `itemBytes` counts them) one message carries at most; a bigger item goes alone. */
  maxBytes?: number;
  itemBytes?(item: MessageShape<I>): number;
  /** Messages awaiting their confirm at once (see BatchPublisher); default no limit. */
  maxUnconfirmed?: number;
  /** Longest an item waits for others to share its message (see BatchPublisher), in ms; default 0. */
  maxDelayMs?: number;
}

/** A work queue: its exchange and queue, what its messages hold, and how items travel. */
export interface QueueSpec<I extends DescMessage, B extends DescMessage = DescMessage> {
  /** What its items are, for logs ("events"). */
  itemsName: string;
  /** The exchange its items are published to. */
  exchange(names: TopologyNames): string;
  /** The queue bound to it, which consumers read. */
  queue(names: TopologyNames): string;
  /** Schema of one item; a message of this type holds one item alone. */
  item: I;
  /** The message id of an item's message. */
  idOf(item: MessageShape<I>): string;
  /** Several items to a message; absent when every message holds one. */
  batch?: QueueBatch<I, B>;
  /**
   * Where an item carries its own trace context, so each item of a batch continues its own trace;
   * without it, items continue their message's.
   */
  trace?: {
    of(item: MessageShape<I>): Record<string, string>;
    set(item: MessageShape<I>, carrier: Record<string, string>): void;
  };
  /**
   * A queue sharded by tenant: an item is published to its tenant's shard (QUEUE_SHARDS queues behind a
   * direct exchange), or to the overflow shard while its tenant publishes heavily (HEAVY_TENANT), so one
   * tenant's backlog fills a shard of its own; consumers read every shard, the overflow shard and the
   * unsharded queue (where the retry tiers and earlier versions send items) as lanes.
   */
  shards?: {
    /** The direct exchange the shards are bound to. */
    exchange(names: TopologyNames): string;
    /** The key an item is sharded and scheduled by (its tenant). */
    keyOf(item: MessageShape<I>): string;
  };
  /** Adjusts an item that came in a message of its own, before it is handled. */
  alone?(item: MessageShape<I>): void;
  /** Attributes of the span an item is handled in. */
  spanAttributes?(item: MessageShape<I>): Attributes;
  /**
   * When an item is due, for a queue whose items can wait in the retry tiers (`publishAt`): an item
   * that comes back early is sent on to its next hop before it is handled.
   */
  due?: {
    of(item: MessageShape<I>): number | undefined;
    set(item: MessageShape<I>, dueMs: number): MessageShape<I>;
  };
}

/** What opening a queue needs; a ServiceContext is one. */
export interface QueueContext {
  rabbit: Connection;
  publisher: ProtoPublisher;
  names: TopologyNames;
  logger: Logger;
  /** The retry tiers, for queues with a `due`. */
  config?: { RETRY_TIERS: readonly number[] };
  /** When a sharded queue's tenant is heavy (its items go to the overflow shard); default HEAVY_TENANT. */
  heavyTenant?: HeavyKeysOptions;
  /**
   * Tenants' weights (settings.delivery_weight, from memory): a sharded queue's tenant is heavy from its
   * weight × the threshold, and the round-robin slots of `consume` give it that many turns; default 1 each.
   */
  tenantWeight?: WeightOf;
}

/** Options of {@link Queue.consume}. */
export interface ConsumeItemsOptions<Item> {
  /** Messages handled at once. */
  concurrency: number;
  /** Messages fetched ahead; default 2 × concurrency. */
  prefetch?: number;
  /**
   * Items handled at once, across all the messages being handled; default no bound but the messages'.
   * An item waits for its slot before its span starts; on a sharded queue the slots go round robin
   * across the items' keys (tenants).
   */
  itemsAtOnce?: number;
  /** Name of the span each item is handled in. */
  span: string;
  /** Handles one item; throwing sends it back to the queue (alone, when it came with others). */
  handle(item: Item): Promise<unknown>;
  /** Told of each item that came back before it was due and was sent on to its next hop. */
  onForwarded?(item: Item): void;
}

/** Options of {@link Queue.consumeMessages}. */
export interface ConsumeMessagesOptions<Item> {
  concurrency: number;
  prefetch?: number;
  /** Handles a message's items together; resolving acks the message, throwing requeues it whole. */
  handle(items: Item[], meta: MessageMeta): Promise<void>;
}

/** Options of {@link Queue.publishAt}: how late the item may come back. */
export type PublishAtOptions = TierChoice & {
  /** The time `due` is counted from, in ms since the epoch; default the clock's. */
  now?: number;
};

/** One queue, opened on a service's connection. */
export interface Queue<Item> {
  /** Publishes an item (several to a message when the queue batches); resolves once RabbitMQ confirmed it. */
  publish(item: Item): Promise<void>;
  /** Publishes an item in a message of its own; resolves once RabbitMQ confirmed it. */
  publishAlone(item: Item): Promise<void>;
  /**
   * Publishes an item to come back to the queue at `due` (ms since the epoch), through the retry tiers;
   * its due is set on it. Resolves once RabbitMQ confirmed it.
   */
  publishAt(item: Item, due: number, options?: PublishAtOptions): Promise<void>;
  /**
   * Consumes the queue item by item: each in a span of its own trace, a message acked once all its items
   * are handled, and those that failed sent back alone. One consumer per lane (the queue, and each shard
   * of a sharded queue), each with its share of `concurrency` and `prefetch` (see {@link laneShare}).
   */
  consume(options: ConsumeItemsOptions<Item>): Consumer[];
  /**
   * Consumes the queue a message at a time, its items together (writers that batch across messages,
   * as audit: docs/decisions/audit-consumes-whole-messages.md); not for a sharded queue.
   */
  consumeMessages(options: ConsumeMessagesOptions<Item>): Consumer;
  /** Waits until every item handed to `publish` or `publishAt` so far was published. */
  drain(): Promise<void>;
}

/** Opens `spec` on a service's connection. Publishing batches are created on first use. */
export function openQueue<I extends DescMessage, B extends DescMessage>(
  spec: QueueSpec<I, B>,
  ctx: QueueContext,
): Queue<MessageShape<I>> {
  type Item = MessageShape<I>;
  const { publisher, names } = ctx;
  const exchange = spec.exchange(names);
  const queue = spec.queue(names);
  const shards = spec.shards;
  const shardExchange = shards?.exchange(names);
  const lanes = shards ? [queue, ...names.shardQueues(queue)] : [queue];
  const heavy = shards && new HeavyKeys({ ...(ctx.heavyTenant ?? HEAVY_TENANT), weightOf: ctx.tenantWeight });
  /**
   * Where an item is published: the overflow shard while its tenant publishes heavily, else its tenant's
   * shard; the queue's exchange when not sharded.
   */
  const target = (item: Item): { exchange: string; routingKey?: string } => {
    if (!shards || !shardExchange || !heavy) return { exchange };
    const key = shards.keyOf(item);
    return { exchange: shardExchange, routingKey: heavy.count(key) ? OVERFLOW_SHARD : String(shardOf(key)) };
  };
  /** Batch publishers by routing key: a message holds items of one shard only. */
  const batches = new Map<string, BatchPublisher<Item, B>>();

  const publishAlone = (item: Item) =>
    publisher.publish({ ...target(item), messageId: spec.idOf(item) }, spec.item, item);

  const tiers = (): readonly number[] => {
    const tiersMs = ctx.config?.RETRY_TIERS;
    if (!spec.due || !tiersMs?.length) throw new Error(`${spec.itemsName} cannot wait in the retry tiers`);
    return tiersMs;
  };

  /** Publishes the queue's batch messages to `to`, gathering items as `gathering` says (default not at all). */
  const batchPublisher = (
    batch: QueueBatch<I, B>,
    to: { exchange: string; routingKey?: string },
    gathering: Pick<BatchPublisherOptions<Item, B>, "maxUnconfirmed" | "maxDelayMs"> = {},
  ) =>
    new BatchPublisher<Item, B>(publisher, {
      ...to,
      schema: batch.schema,
      message: batch.of,
      maxItems: batch.maxItems,
      maxBytes: batch.maxBytes,
      itemBytes: batch.itemBytes,
      ...gathering,
    });

  /** Publishes `item` with the batch publisher `key` of `batchers`, made by `make` on first use. */
  const publishBatched = <K>(
    batchers: Map<K, BatchPublisher<Item, B>>,
    key: K,
    item: Item,
    make: () => BatchPublisher<Item, B>,
  ): Promise<void> => {
    let batcher = batchers.get(key);
    if (!batcher) {
      batcher = make();
      batchers.set(key, batcher);
    }
    // In a message of several, each item carries its own trace on (a message alone carries it in its
    // headers), from the span that publishes it.
    spec.trace?.set(item, injectTraceContext());
    return batcher.publish(item);
  };

  /** Batch publishers to the retry tiers, by tier: items sent back in the same turn share a message. */
  const tierBatches = new Map<number, BatchPublisher<Item, B>>();

  /**
   * Publishes `item` to the retry tier `tierMs`, from which it dead-letters back to the queue. Items sent
   * back together (the tasks of one fanned-out event for endpoints that are all slow or failing) go in one
   * message, as the queue's own publishing does: a message costs the broker a log entry, a confirm, a
   * dead-lettering and a delivery whatever it holds. Nothing waits for others to join: a retry's time is
   * its tier's.
   */
  const publishToTier = (item: Item, tierMs: number): Promise<void> => {
    const batch = spec.batch;
    if (!batch) {
      return publisher.publish(
        { exchange: names.exchanges.retry, routingKey: String(tierMs), messageId: spec.idOf(item) },
        spec.item,
        item,
      );
    }
    return publishBatched(tierBatches, tierMs, item, () =>
      batchPublisher(batch, { exchange: names.exchanges.retry, routingKey: String(tierMs) }),
    );
  };

  const decode = decodeItems(spec);

  return {
    publish(item) {
      const batch = spec.batch;
      if (!batch) return publishAlone(item);
      const to = target(item);
      return publishBatched(batches, to.routingKey ?? "", item, () =>
        batchPublisher(batch, to, { maxUnconfirmed: batch.maxUnconfirmed, maxDelayMs: batch.maxDelayMs }),
      );
    },

    publishAlone,

    async publishAt(item, due, options = {}) {
      const now = options.now ?? Date.now();
      const { tierMs, waitMs } = tierFor(due - now, tiers(), options);
      const delayed = spec.due?.set(item, now + waitMs) ?? item;
      await publishToTier(delayed, tierMs);
    },

    consume(options) {
      const slot = itemSlots(options.itemsAtOnce, shards?.keyOf, ctx.tenantWeight);
      const handleItem = (item: Item) => {
        // Taken before waiting for a slot, which may run the item from another item's context.
        const parent = spec.trace ? carriedTraceContext(spec.trace.of(item)) : context.active();
        return slot(item, () =>
          inSpan(options.span, { kind: SpanKind.INTERNAL, parent }, async (span) => {
            if (spec.spanAttributes) span.setAttributes(spec.spanAttributes(item));
            const due = spec.due?.of(item);
            const hop = due === undefined ? undefined : nextTierMs(due - Date.now(), tiers());
            if (hop === undefined) return options.handle(item);
            // Came back early from a tier shorter than its wait: on to the next hop, unhandled.
            span.setAttribute("herald.retry_tier_ms", hop);
            await publishToTier(item, hop);
            options.onForwarded?.(item);
          }),
        );
      };
      const sendBackAlone = spec.batch
        ? republishEachAlone(publisher, {
            exchange,
            schema: spec.batch.schema,
            batchOf: spec.batch.of,
            idOf: spec.idOf,
            logger: ctx.logger,
            itemsName: spec.itemsName,
          })
        : async () => undefined; // a message of one item fails whole, so this is never called
      const share = laneShare(options, lanes.length);
      return lanes.map((lane) =>
        consumeProto(ctx.rabbit, {
          names,
          queue: lane,
          schema: spec.item,
          decode,
          ...share,
          logger: ctx.logger,
          handler: (items) => handleBatch(items, handleItem, sendBackAlone),
        }),
      );
    },

    consumeMessages(options) {
      if (shards) throw new Error(`${spec.itemsName}: a sharded queue is consumed item by item`);
      return consumeProto(ctx.rabbit, {
        names,
        queue,
        schema: spec.item,
        decode,
        concurrency: options.concurrency,
        prefetch: options.prefetch,
        logger: ctx.logger,
        handler: (items, meta) => options.handle(items, meta),
      });
    },

    drain: async () => {
      await Promise.all([...batches.values(), ...tierBatches.values()].map((b) => b.drain()));
    },
  };
}

/**
 * Each lane's consumer of a queue read in `lanes` lanes: a lane alone can still take the whole
 * `concurrency`'s worth of items when the others are idle only if its share is large enough, so each gets
 * twice its even share (at least 2 messages): the messages in memory stay within twice a single queue's.
 */
export function laneShare(
  options: { concurrency: number; prefetch?: number },
  lanes: number,
): { concurrency: number; prefetch: number } {
  const prefetch = options.prefetch ?? options.concurrency * 2;
  if (lanes <= 1) return { concurrency: options.concurrency, prefetch };
  return {
    concurrency: Math.max(2, Math.ceil((options.concurrency * 2) / lanes)),
    prefetch: Math.max(2, Math.ceil((prefetch * 2) / lanes)),
  };
}

/**
 * The slot an item waits for: none, first come first served, or round robin by `keyOf` (a tenant),
 * weighted by `weightOf`.
 */
function itemSlots<Item>(
  size: number | undefined,
  keyOf: ((item: Item) => string) | undefined,
  weightOf: WeightOf | undefined,
): <T>(item: Item, run: () => Promise<T>) => Promise<T> {
  if (!size) return (_item, run) => run();
  if (keyOf) {
    const slots = new RoundRobinSlots(size, weightOf);
    return (item, run) => slots.run(keyOf(item), run);
  }
  const limit = pLimit(size);
  return (_item, run) => limit(run);
}

/**
 * Decodes a message of `spec`'s queue into its items, telling a batch from one item alone by its AMQP
 * `type` (an item published alone on purpose, or by an older instance during a rolling upgrade). Throws
 * on a body that is neither.
 */
export function decodeItems<I extends DescMessage, B extends DescMessage>(
  spec: QueueSpec<I, B>,
): (body: Uint8Array, type: string | undefined) => MessageShape<I>[] {
  const alone = (item: MessageShape<I>) => {
    spec.alone?.(item);
    return item;
  };
  const batch = spec.batch;
  if (!batch) {
    const decodeOne = batchDecoder(spec.item, spec.item, alone);
    return (body, type) => [decodeOne(body, type)];
  }
  const decodeBatch = batchDecoder(batch.schema, spec.item, (item) => batch.of([alone(item)]));
  return (body, type) => batch.itemsOf(decodeBatch(body, type));
}
