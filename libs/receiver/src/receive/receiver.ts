import type { Deduplicator } from "../dedupe/deduplicator.js";
import { type WebhookErrorCode, WebhookVerificationError } from "../errors.js";
import { readHeader, type WebhookHeaders } from "../headers.js";
import { nodeCrypto } from "../node-crypto.js";
import type { Webhook } from "../webhook.js";
import { BodyRejectedError } from "./body.js";

/** A verified webhook, as handed to the handler. */
export interface WebhookEvent {
  /** `webhook-id`: the same on every retry of one event; the key for dedupe. */
  readonly id: string;
  /** The body parsed as JSON; undefined when the body is empty. */
  readonly payload: unknown;
  /** The exact bytes received and verified. */
  readonly rawBody: Uint8Array;
}

/** Options shared by every framework adapter. `TContext` is the framework's request object. */
export interface ReceiverOptions<TContext> {
  /** Verifies each request: `new Webhook(secret)`, or several secrets during a rotation. */
  webhook: Webhook;
  /**
   * Called once per verified webhook (per id, with `dedupe`) with the event and the framework's request.
   * Resolving means success (204); throwing means failure (500), and the sender retries.
   */
  handler: (event: WebhookEvent, context: TContext) => unknown;
  /** Runs the handler once per `webhook-id`. Omitted: it runs for every verified delivery. */
  dedupe?: Deduplicator;
  /** Largest body accepted, in bytes; a larger one is answered 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Told about a failure answered 500: the handler or the dedupe store failed (with the event), or
   * verification crashed (without). The answer never carries the error's message, which may hold
   * internals. Whatever it throws is ignored.
   */
  onError?: (error: unknown, event: WebhookEvent | undefined) => void;
}

/**
 * The `error` field of a JSON error response: a {@link WebhookErrorCode} for a request that failed
 * verification (400), or one of the receiver's own.
 */
export type ReceiverErrorCode =
  | WebhookErrorCode
  | "payload_too_large"
  | "body_already_parsed"
  | "unreadable_body"
  | "duplicate_in_progress"
  | "handler_failed"
  | "internal_error";

/** What to answer, independent of the framework. */
export interface ReceiverResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** A request as the receiver needs it: headers, and a body reader that enforces the size limit. */
export interface ReceiverRequest {
  readonly headers: WebhookHeaders;
  readBody(): Promise<Uint8Array>;
}

/** The response header that marks a duplicate: `1` when already handled, `in-progress` on a 409. */
const DUPLICATE_HEADER = "x-herald-duplicate";
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Verify, dedupe, handle, and say what to answer: the part every adapter shares. */
export class Receiver<TContext> {
  /** The body size limit, for adapters whose framework reads the body. */
  readonly maxBodyBytes: number;
  readonly #options: ReceiverOptions<TContext>;

  constructor(options: ReceiverOptions<TContext>) {
    if (typeof options?.webhook?.verify !== "function") {
      throw new TypeError("Receiver options need webhook: new Webhook(secret).");
    }
    if (typeof options.handler !== "function") {
      throw new TypeError("Receiver options need a handler function.");
    }
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
      throw new RangeError(`maxBodyBytes must be a whole number > 0, got ${maxBodyBytes}.`);
    }
    this.maxBodyBytes = maxBodyBytes;
    this.#options = options;
  }

  /** Never rejects: every failure becomes an error response. */
  async handle(request: ReceiverRequest, context: TContext): Promise<ReceiverResponse> {
    let body: Uint8Array;
    try {
      body = await request.readBody();
    } catch (error) {
      if (error instanceof BodyRejectedError) return errorResponse(error.status, error.code, error.message);
      return errorResponse(400, "unreadable_body", "The request body could not be read to the end.");
    }
    let payload: unknown;
    try {
      // The synchronous path is faster where node:crypto exists; Web Crypto serves the edge runtimes.
      payload = nodeCrypto
        ? this.#options.webhook.verify(body, request.headers)
        : await this.#options.webhook.verifyAsync(body, request.headers);
    } catch (error) {
      if (error instanceof WebhookVerificationError) return errorResponse(400, error.code, error.message);
      return this.#failed(error, undefined);
    }
    const event: WebhookEvent = {
      id: readHeader(request.headers, "webhook-id") ?? "",
      payload,
      rawBody: body,
    };
    try {
      return await this.#run(event, context);
    } catch (error) {
      return this.#failed(error, event);
    }
  }

  #failed(error: unknown, event: WebhookEvent | undefined): ReceiverResponse {
    try {
      this.#options.onError?.(error, event);
    } catch {
      // A logging hook must not change the answer.
    }
    return event === undefined
      ? errorResponse(500, "internal_error", "The webhook could not be verified; the sender will retry.")
      : errorResponse(500, "handler_failed", "The webhook could not be handled; the sender will retry.");
  }

  async #run(event: WebhookEvent, context: TContext): Promise<ReceiverResponse> {
    const { handler, dedupe } = this.#options;
    if (dedupe === undefined) {
      await handler(event, context);
      return { status: 204, headers: {} };
    }
    const result = await dedupe.handleOnce(event.id, () => handler(event, context));
    if (result.status === "ran") return { status: 204, headers: {} };
    if (result.status === "already_done") return { status: 200, headers: { [DUPLICATE_HEADER]: "1" } };
    return errorResponse(
      409,
      "duplicate_in_progress",
      "Another delivery of this webhook-id is being handled; retry later.",
      { [DUPLICATE_HEADER]: "in-progress" },
    );
  }
}

/** `{ error, message }` as JSON: what every non-2xx answer carries. */
export function errorResponse(
  status: number,
  code: ReceiverErrorCode,
  message: string,
  headers: Record<string, string> = {},
): ReceiverResponse {
  return {
    status,
    headers: { ...headers, "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify({ error: code, message }),
  };
}
