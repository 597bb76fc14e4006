import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { context, type Link, SpanKind } from "@opentelemetry/api";
import type { Logger } from "pino";
import {
  type AsyncMessage,
  type Connection,
  type Consumer,
  ConsumerStatus,
  type Publisher,
} from "rabbitmq-client";
import { extractTraceContext, injectTraceContext, inSpan } from "../tracing.js";
import {
  messagingDestination,
  messagingSpanName,
  processSpanAttributes,
  publishSpanAttributes,
} from "./messaging-spans.js";
import { DELIVERY_LIMIT, type TopologyNames, workQueueArguments } from "./topology.js";

export const PROTOBUF_CONTENT_TYPE = "application/x-protobuf";

/** Where and how to publish one message. */
export interface PublishTarget {
  exchange: string;
  routingKey?: string;
  /** Extra AMQP headers; trace context is added. */
  headers?: Record<string, string | number>;
  messageId?: string;
  /** Spans the message also stands for (a batch of records from several traces). */
  links?: Link[];
}

/**
 * Publishes protobuf messages with publisher confirms: `publish` resolves only once RabbitMQ has taken
 * responsibility for the message. Messages are persistent and carry the active W3C trace context.
 */
export class ProtoPublisher {
  readonly #publisher: Publisher;

  constructor(rabbit: Connection) {
    this.#publisher = rabbit.createPublisher({ confirm: true, maxAttempts: 3 });
  }

  async publish<S extends DescMessage>(
    target: PublishTarget,
    schema: S,
    message: MessageShape<S>,
  ): Promise<void> {
    await inSpan(
      messagingSpanName("publish", messagingDestination(target.exchange, target.routingKey)),
      {
        kind: SpanKind.PRODUCER,
        attributes: publishSpanAttributes(target.exchange, target.routingKey, target.messageId),
        links: target.links,
      },
      async () => {
        // Wrapped in a Buffer: rabbitmq-client JSON-encodes a bare Uint8Array.
        const body = Buffer.from(toBinary(schema, message));
        await this.#publisher.send(
          {
            exchange: target.exchange,
            routingKey: target.routingKey ?? "",
            durable: true,
            contentType: PROTOBUF_CONTENT_TYPE,
            type: schema.typeName,
            messageId: target.messageId,
            headers: { ...target.headers, ...injectTraceContext(context.active()) },
          },
          body,
        );
      },
    );
  }

  close(): Promise<void> {
    return this.#publisher.close();
  }
}

/**
 * A {@link ConsumeOptions.decode} for a queue of batch messages that also takes single items, told
 * apart by AMQP `type` (published alone on purpose, or by an older instance during a rolling upgrade):
 * a single item becomes a batch of one. Throws on a body that is neither.
 */
export function batchDecoder<B extends DescMessage, I extends DescMessage>(
  batchSchema: B,
  itemSchema: I,
  batchOfOne: (item: MessageShape<I>) => MessageShape<B>,
): (body: Uint8Array, type: string | undefined) => MessageShape<B> {
  return (body, type) =>
    type === itemSchema.typeName ? batchOfOne(fromBinary(itemSchema, body)) : fromBinary(batchSchema, body);
}

/** What a handler learns about a message besides its body. */
export interface MessageMeta {
  headers: Record<string, unknown>;
  redelivered: boolean;
  messageId?: string;
}

/** Options of {@link consumeProto}; `M` is what `decode` makes of a body (default the schema's message). */
export interface ConsumeOptions<S extends DescMessage, M = MessageShape<S>> {
  names: TopologyNames;
  queue: string;
  schema: S;
  /** Messages fetched ahead; default 2 × concurrency. */
  prefetch?: number;
  /** Messages handled at once; default 16. */
  concurrency?: number;
  /**
   * Queue arguments, which must equal the topology's or RabbitMQ refuses the declaration; default the
   * work-queue arguments. Use `exclusive` for a per-instance queue (control broadcasts).
   */
  queueOptions?: {
    /** Only check that the queue exists (declared by the caller, whose arguments may differ). */
    passive?: boolean;
    durable?: boolean;
    exclusive?: boolean;
    autoDelete?: boolean;
    arguments?: Record<string, unknown>;
  };
  /** Exchange to bind a per-instance queue to. */
  bindExchange?: string;
  /**
   * Decodes a body; default `fromBinary(schema, body)`. It gets the message's AMQP `type` too, so a
   * queue can still take the message type it carried before (from an older instance, during a rolling
   * upgrade). Throwing parks the message as undecodable.
   */
  decode?: (body: Uint8Array, type: string | undefined) => M;
  logger: Logger;
  /**
   * Handles one message. Resolving acks it. Throwing requeues it after a short pause (transient
   * failures such as MongoDB being down); RabbitMQ parks it after the queue's delivery limit.
   */
  handler: (message: M, meta: MessageMeta) => Promise<void>;
}

/** Pause before a failed message goes back to the queue, so an outage does not become a hot loop. */
const REQUEUE_PAUSE_MS = 1_000;

/**
 * Consumes protobuf messages with manual acks. Each message is handled in a CONSUMER span that
 * continues the publisher's trace. Undecodable messages are parked at once rather than retried.
 */
export function consumeProto<S extends DescMessage, M = MessageShape<S>>(
  rabbit: Connection,
  options: ConsumeOptions<S, M>,
): Consumer {
  const concurrency = options.concurrency ?? 16;
  const queueOptions = options.queueOptions ?? {
    durable: true,
    arguments: workQueueArguments(options.names),
  };
  // Handler failures are logged where they happen; the consumer then emits them again as "error".
  const logged = new WeakSet<object>();
  const consumer = rabbit.createConsumer(
    {
      queue: options.queue,
      queueOptions: { queue: options.queue, ...queueOptions },
      queueBindings: options.bindExchange
        ? [{ exchange: options.bindExchange, queue: options.queue }]
        : undefined,
      qos: { prefetchCount: options.prefetch ?? concurrency * 2 },
      concurrency,
      requeue: true,
    },
    async (msg: AsyncMessage) => {
      let message: M;
      let bodySize = 0;
      try {
        const body = toBytes(msg.body);
        bodySize = body.byteLength;
        message = options.decode ? options.decode(body, msg.type) : (fromBinary(options.schema, body) as M);
      } catch (err) {
        options.logger.error(
          { err, queue: options.queue, messageId: msg.messageId },
          "undecodable message parked",
        );
        return ConsumerStatus.DROP;
      }
      const headers = (msg.headers ?? {}) as Record<string, unknown>;
      await inSpan(
        messagingSpanName("process", messagingDestination(msg.exchange, msg.routingKey)),
        {
          kind: SpanKind.CONSUMER,
          parent: extractTraceContext(headers),
          attributes: processSpanAttributes({
            exchange: msg.exchange,
            routingKey: msg.routingKey,
            queue: options.queue,
            messageId: msg.messageId,
            deliveryTag: msg.deliveryTag,
            bodySize,
          }),
        },
        async () => {
          try {
            await options.handler(message, {
              headers,
              redelivered: msg.redelivered,
              messageId: msg.messageId,
            });
          } catch (err) {
            // A quorum queue counts earlier failed deliveries in x-delivery-count and parks the message
            // when this one fails too: say so here, as the parked queue keeps only the recent ones.
            const failures = Number(headers["x-delivery-count"] ?? 0);
            if (failures >= DELIVERY_LIMIT)
              options.logger.error(
                { err, queue: options.queue, messageId: msg.messageId, deliveries: failures + 1 },
                "message parked after failing too often",
              );
            else
              options.logger.warn(
                { err, queue: options.queue, messageId: msg.messageId },
                "message requeued",
              );
            if (typeof err === "object" && err !== null) logged.add(err);
            await new Promise((resolve) => setTimeout(resolve, REQUEUE_PAUSE_MS));
            throw err;
          }
        },
      );
      return ConsumerStatus.ACK;
    },
  );
  // A Consumer emits "error" for every failed handler, failed ack, channel error and failed (re)setup
  // (e.g. while RabbitMQ restarts). Without a listener, EventEmitter throws it, and the first MongoDB or
  // RabbitMQ hiccup would crash the service. The consumer recovers by itself; the error only needs logging.
  consumer.on("error", (err: unknown) => {
    if (typeof err === "object" && err !== null && logged.has(err)) return;
    options.logger.warn({ err, queue: options.queue }, "rabbitmq consumer error");
  });
  return consumer;
}

function toBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body;
  if (typeof body === "string") return Buffer.from(body, "latin1");
  throw new TypeError(`unexpected message body of type ${typeof body}`);
}
