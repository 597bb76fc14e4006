import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { context, SpanKind } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { AsyncMessage, Connection, Consumer, RPCClient } from "rabbitmq-client";
import { extractTraceContext, injectTraceContext, inSpan } from "../tracing.js";
import { PROTOBUF_CONTENT_TYPE } from "./messaging.js";

// Request/reply over RabbitMQ's direct reply-to (https://www.rabbitmq.com/docs/direct-reply-to): a
// caller that must answer its own caller synchronously asks whichever instance of another service
// consumes the request queue. Nothing is stored: a request expires in the queue when its caller stops
// waiting, and a lost reply is the caller's timeout.

/**
 * The request queue: a classic queue, as a request lives for seconds and replicating it (a quorum
 * queue) buys nothing; durable, as RabbitMQ 4 deprecates transient queues that are not exclusive.
 */
export const REQUEST_QUEUE_OPTIONS = { durable: true, arguments: { "x-queue-type": "classic" } } as const;

/** No instance consumes the request queue: nobody could answer. */
export class NoResponderError extends Error {
  constructor(queue: string) {
    super(`nothing consumes ${queue}`);
    this.name = "NoResponderError";
  }
}

/** The request was sent but no reply came within the timeout. */
export class ReplyTimeoutError extends Error {
  constructor(queue: string, timeoutMs: number) {
    super(`no reply on ${queue} within ${timeoutMs} ms`);
    this.name = "ReplyTimeoutError";
  }
}

/** Options of {@link ProtoRequestClient}. */
export interface ProtoRequestClientOptions<Q extends DescMessage, R extends DescMessage> {
  /** The request queue's full name. */
  queue: string;
  request: Q;
  reply: R;
  /** How long a request waits for its reply; it also expires in the queue then. */
  timeoutMs: number;
}

/** Sends protobuf requests to a queue and waits for their reply. */
export class ProtoRequestClient<Q extends DescMessage, R extends DescMessage> {
  readonly #rabbit: Connection;
  readonly #client: RPCClient;
  readonly #options: ProtoRequestClientOptions<Q, R>;

  constructor(rabbit: Connection, options: ProtoRequestClientOptions<Q, R>) {
    this.#rabbit = rabbit;
    this.#options = options;
    this.#client = rabbit.createRPCClient({ timeout: options.timeoutMs, maxAttempts: 1 });
  }

  /**
   * Sends `message` and resolves with the reply. Throws {@link NoResponderError} at once when nothing
   * consumes the queue, {@link ReplyTimeoutError} when no reply came in time.
   */
  async request(message: MessageShape<Q>): Promise<MessageShape<R>> {
    const { queue, timeoutMs } = this.#options;
    // Declaring is idempotent and answers the consumer count: a request nobody can take fails now
    // rather than after the timeout.
    const { consumerCount } = await this.#rabbit.queueDeclare({ queue, ...REQUEST_QUEUE_OPTIONS });
    if (consumerCount === 0) throw new NoResponderError(queue);
    const body = Buffer.from(toBinary(this.#options.request, message));
    try {
      const res = await this.#client.send(
        {
          routingKey: queue,
          contentType: PROTOBUF_CONTENT_TYPE,
          type: this.#options.request.typeName,
          headers: injectTraceContext(context.active()),
        },
        body,
      );
      return fromBinary(this.#options.reply, toBytes(res.body));
    } catch (err) {
      if ((err as { code?: string }).code === "RPC_TIMEOUT") throw new ReplyTimeoutError(queue, timeoutMs);
      throw err;
    }
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}

/** Options of {@link serveProtoRequests}. */
export interface ServeRequestsOptions<Q extends DescMessage, R extends DescMessage> {
  queue: string;
  request: Q;
  reply: R;
  /** Requests handled at once by this instance. */
  concurrency: number;
  logger: Logger;
  /** Answers one request; a throw is logged and the caller gets no reply (its timeout). */
  handle(request: MessageShape<Q>): Promise<MessageShape<R>>;
}

/**
 * Consumes a request queue and replies to each request. A request is acked once handled, whatever
 * came of it: it is never retried, as its caller will have stopped waiting.
 */
export function serveProtoRequests<Q extends DescMessage, R extends DescMessage>(
  rabbit: Connection,
  options: ServeRequestsOptions<Q, R>,
): Consumer {
  const { queue, logger } = options;
  const consumer = rabbit.createConsumer(
    {
      queue,
      queueOptions: { queue, ...REQUEST_QUEUE_OPTIONS },
      qos: { prefetchCount: options.concurrency },
      concurrency: options.concurrency,
      requeue: false,
    },
    async (msg: AsyncMessage, reply) => {
      let request: MessageShape<Q>;
      try {
        request = fromBinary(options.request, toBytes(msg.body));
      } catch (err) {
        logger.warn({ err, queue }, "undecodable request dropped");
        return;
      }
      await inSpan(
        `process ${queue}`,
        {
          kind: SpanKind.CONSUMER,
          parent: extractTraceContext((msg.headers ?? {}) as Record<string, unknown>),
        },
        async () => {
          try {
            const answer = await options.handle(request);
            if (msg.replyTo)
              await reply(Buffer.from(toBinary(options.reply, answer)), {
                contentType: PROTOBUF_CONTENT_TYPE,
                type: options.reply.typeName,
              });
          } catch (err) {
            logger.warn({ err, queue }, "request failed; its caller gets no reply");
          }
        },
      );
    },
  );
  consumer.on("error", (err: unknown) => logger.warn({ err, queue }, "rabbitmq consumer error"));
  return consumer;
}

function toBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body;
  if (typeof body === "string") return Buffer.from(body, "latin1");
  throw new TypeError(`unexpected message body of type ${typeof body}`);
}
