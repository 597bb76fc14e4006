import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { type Code, ConnectError } from "@connectrpc/connect";
import {
  type DeliveryTask,
  ErrorClass,
  type ListenResponse,
  ListenResponseSchema,
  type ReportDeliveryRequest,
} from "@herald/contracts";
import { InvalidArgumentError } from "@herald/platform";
import { WebhookRequestError, type WebhookResponse } from "../webhook-client.js";
import type { WebhookRequest } from "../webhook-request.js";

/** Response body kept from a report, as from an HTTP response (WebhookClient's maxResponseBytes). */
export const MAX_REPORTED_BODY = 4096;
/** Characters of a reported error message kept. */
export const MAX_REPORTED_ERROR = 500;

/** A delivery handed to a stream that ended before it was reported: the task goes back to its queue. */
export class ListenStreamClosedError extends Error {
  constructor(endpointId: string) {
    super(`the listen stream of endpoint ${endpointId} ended`);
    this.name = "ListenStreamClosedError";
  }
}

/**
 * Why a stream was ended from Herald's side, for its client: a newer stream took over (ABORTED), the key
 * was revoked (UNAUTHENTICATED), the endpoint or tenant is gone (NOT_FOUND), or Herald is shutting down
 * (UNAVAILABLE, worth a reconnect).
 */
export class ListenStreamEndedError extends ConnectError {
  // Named "ConnectError" still (ConnectError's own name): connect-es tells its errors by that name.
  constructor(code: Code, message: string) {
    super(message, code);
  }
}

/** Options of {@link ListenStream}. */
export interface ListenStreamOptions {
  tenantId: string;
  endpointId: string;
  /** The API key the stream was opened with. */
  keyId: string;
  /** How long a delivery waits for its report before it fails as unreported. */
  reportTimeoutMs: number;
  /** A heartbeat goes out after this long without a message. */
  heartbeatMs: number;
  /** Makes the id of each delivery; default {@link newDeliveryId} without an instance. */
  deliveryId?: () => string;
  now?: () => number;
}

/** A delivery id: `ld_<instance>_<random>`, so any instance can tell which one awaits its report. */
export function newDeliveryId(instanceId: string): string {
  return `ld_${instanceId}_${randomBytes(12).toString("hex")}`;
}

/** The instance a delivery id names, or undefined when it is not one. */
export function instanceOfDeliveryId(deliveryId: string): string | undefined {
  return /^ld_([0-9a-f]{1,32})_[0-9a-f]{24}$/.exec(deliveryId)?.[1];
}

interface PendingDelivery {
  settle(outcome: WebhookResponse | Error): void;
}

/**
 * One open Listen stream: the messages it sends (ready, deliveries, heartbeats) and the deliveries
 * awaiting their report. `forward` is what an HTTP POST is to other endpoints: it resolves with the
 * reported answer as a response, or rejects as a request error (no answer, or no report in time), or
 * with ListenStreamClosedError when the stream ends first.
 */
export class ListenStream {
  readonly tenantId: string;
  readonly endpointId: string;
  readonly keyId: string;
  readonly #options: ListenStreamOptions;
  readonly #outbox: ListenResponse[] = [];
  readonly #pending = new Map<string, PendingDelivery>();
  #wake: (() => void) | undefined;
  #closed = false;
  #endedBecause: ListenStreamEndedError | undefined;

  constructor(options: ListenStreamOptions) {
    this.#options = options;
    this.tenantId = options.tenantId;
    this.endpointId = options.endpointId;
    this.keyId = options.keyId;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Deliveries sent and not yet reported. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * The stream's messages: `ready` first, then each delivery as it is forwarded, and a heartbeat after
   * every `heartbeatMs` of silence, until the stream is closed; then it throws why, if Herald ended it.
   */
  async *messages(): AsyncGenerator<ListenResponse> {
    yield create(ListenResponseSchema, {
      message: { case: "ready", value: { reportTimeout: durationFromMs(this.#options.reportTimeoutMs) } },
    });
    while (true) {
      const next = this.#outbox.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.#closed) {
        if (this.#endedBecause) throw this.#endedBecause;
        return;
      }
      const woken = await this.#sleep(this.#options.heartbeatMs);
      if (!woken && !this.#closed) {
        yield create(ListenResponseSchema, { message: { case: "heartbeat", value: {} } });
      }
    }
  }

  /** Sends the request for `task` down the stream and waits for its report. */
  forward(task: DeliveryTask, request: WebhookRequest): Promise<WebhookResponse> {
    if (this.#closed) return Promise.reject(new ListenStreamClosedError(this.endpointId));
    const deliveryId = this.#options.deliveryId?.() ?? newDeliveryId("0");
    const now = this.#options.now ?? Date.now;
    const sentAt = now();
    return new Promise<WebhookResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(deliveryId);
        reject(
          new WebhookRequestError(
            "listen_unreported",
            `herald listen did not report the delivery within ${this.#options.reportTimeoutMs} ms`,
            now() - sentAt,
          ),
        );
      }, this.#options.reportTimeoutMs);
      this.#pending.set(deliveryId, {
        settle: (outcome) => {
          clearTimeout(timer);
          this.#pending.delete(deliveryId);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        },
      });
      this.#send(
        create(ListenResponseSchema, {
          message: {
            case: "delivery",
            value: {
              deliveryId,
              eventId: task.eventId,
              eventType: task.eventType,
              attempt: task.attempt,
              headers: request.headers,
              body: request.body,
            },
          },
        }),
      );
    });
  }

  /**
   * Settles the delivery a report names with its outcome; false when this stream awaits no such
   * delivery (reported already, timed out, or never sent here).
   */
  report(report: ReportDeliveryRequest): boolean {
    const pending = this.#pending.get(report.deliveryId);
    if (!pending) return false;
    pending.settle(reportedOutcome(report));
    return true;
  }

  /**
   * Ends the stream: every delivery still awaiting its report goes back to the queue. `because` tells the
   * client why Herald ended it; without it, the client hung up.
   */
  close(because?: ListenStreamEndedError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#endedBecause = because;
    for (const pending of [...this.#pending.values()]) {
      pending.settle(new ListenStreamClosedError(this.endpointId));
    }
    this.#wake?.();
  }

  #send(message: ListenResponse): void {
    this.#outbox.push(message);
    this.#wake?.();
  }

  /** Resolves true when woken by a message or close, false after `ms`. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve(true);
      };
    });
  }
}

const NO_ANSWER_CLASSES: Partial<Record<ErrorClass, WebhookRequestError["errorClass"]>> = {
  [ErrorClass.TIMEOUT]: "timeout",
  [ErrorClass.DNS]: "dns",
  [ErrorClass.TLS]: "tls",
  [ErrorClass.CONNECTION]: "connection",
};

/**
 * Checks a report's fields, so a bad one is refused before it settles anything: a status is 0 (no
 * answer) or 100-599.
 */
export function checkReport(report: ReportDeliveryRequest): void {
  if (report.status !== 0 && (report.status < 100 || report.status > 599)) {
    throw new InvalidArgumentError(
      "status",
      `${report.status} is not an HTTP status: use 100-599, or 0 for no answer`,
    );
  }
  if (
    report.status === 0 &&
    report.errorClass !== ErrorClass.UNSPECIFIED &&
    !NO_ANSWER_CLASSES[report.errorClass]
  ) {
    throw new InvalidArgumentError(
      "error_class",
      "with status 0 use ERROR_CLASS_TIMEOUT, ERROR_CLASS_CONNECTION, ERROR_CLASS_DNS or ERROR_CLASS_TLS",
    );
  }
}

/** What a report stands for: the local receiver's response, or the request error that left none. */
export function reportedOutcome(report: ReportDeliveryRequest): WebhookResponse | WebhookRequestError {
  if (report.status > 0) {
    return {
      status: report.status,
      headers: {},
      body: report.body.slice(0, MAX_REPORTED_BODY),
      latencyMs: report.latencyMs,
    };
  }
  return new WebhookRequestError(
    NO_ANSWER_CLASSES[report.errorClass] ?? "connection",
    `local receiver: ${report.errorMessage.slice(0, MAX_REPORTED_ERROR) || "no answer"}`,
    report.latencyMs,
  );
}
