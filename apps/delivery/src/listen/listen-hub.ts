import { Code } from "@connectrpc/connect";
import type { ControlNotification, ReportDeliveryRequest } from "@herald/contracts";
import {
  instanceOfDeliveryId,
  ListenStream,
  ListenStreamEndedError,
  newDeliveryId,
} from "./listen-stream.js";

/** Options of {@link ListenHub}. */
export interface ListenHubOptions {
  /** This instance's id, in the delivery ids it makes (hex). */
  instanceId: string;
  reportTimeoutMs: number;
  heartbeatMs: number;
  /** Hands a report to the instance that sent the delivery; resolves once RabbitMQ has it. */
  relayReport(instanceId: string, report: ReportDeliveryRequest): Promise<void>;
}

/** Where a report went: settled here, relayed to the instance that awaits it, or awaited nowhere. */
export type ReportRoute = "settled" | "relayed" | "unknown";

/**
 * The Listen streams this delivery instance holds, one per endpoint: a newer stream for an endpoint
 * closes the older one (the client reconnected before the server noticed the old one was gone). Reports
 * of deliveries sent by another instance are relayed to it, so clients may report to any instance.
 */
export class ListenHub {
  readonly #options: ListenHubOptions;
  readonly #streams = new Map<string, ListenStream>();

  constructor(options: ListenHubOptions) {
    this.#options = options;
  }

  get instanceId(): string {
    return this.#options.instanceId;
  }

  /** Streams open now. */
  get size(): number {
    return this.#streams.size;
  }

  /** Opens a stream for the endpoint, ending the one this instance held for it. */
  open(tenantId: string, endpointId: string, keyId: string): ListenStream {
    this.#streams
      .get(endpointId)
      ?.close(
        new ListenStreamEndedError(
          Code.Aborted,
          `a newer Listen stream on endpoint "${endpointId}" took over (another herald listen, or a reconnect)`,
        ),
      );
    const stream = new ListenStream({
      tenantId,
      endpointId,
      keyId,
      reportTimeoutMs: this.#options.reportTimeoutMs,
      heartbeatMs: this.#options.heartbeatMs,
      deliveryId: () => newDeliveryId(this.#options.instanceId),
    });
    this.#streams.set(endpointId, stream);
    return stream;
  }

  /** Closes the stream (saying why, when Herald ends it) and forgets it, unless a newer one took its place. */
  close(stream: ListenStream, because?: ListenStreamEndedError): void {
    stream.close(because);
    if (this.#streams.get(stream.endpointId) === stream) this.#streams.delete(stream.endpointId);
  }

  /** Closes every stream `filter` picks, saying why. */
  closeAll(because: ListenStreamEndedError, filter: (stream: ListenStream) => boolean = () => true): void {
    for (const stream of [...this.#streams.values()]) if (filter(stream)) this.close(stream, because);
  }

  /**
   * Ends the streams a control-plane change takes away: those of a revoked key at once, and those whose
   * endpoint (or tenant) changed and `ended` then gives a reason to end (deleted, disabled). Never rejects;
   * a failed check keeps the stream.
   */
  async applyControlChange(
    change: ControlNotification | undefined,
    ended: (stream: ListenStream) => Promise<ListenStreamEndedError | undefined>,
  ): Promise<void> {
    if (!change) return;
    if (change.apiKeyId) {
      this.closeAll(
        new ListenStreamEndedError(Code.Unauthenticated, "the API key of this Listen stream was revoked"),
        (stream) => stream.keyId === change.apiKeyId,
      );
      return;
    }
    if (change.eventType) return;
    const affected = [...this.#streams.values()].filter(
      (stream) =>
        stream.tenantId === change.tenantId &&
        (!change.endpointId || stream.endpointId === change.endpointId),
    );
    for (const stream of affected) {
      const because = await ended(stream).catch(() => undefined);
      if (because) this.close(stream, because);
    }
  }

  /**
   * Routes a report (already authorized for its tenant and endpoint) to the delivery it names: settled
   * here when this instance sent it, else relayed to the instance its id names.
   */
  async report(report: ReportDeliveryRequest): Promise<ReportRoute> {
    const instance = instanceOfDeliveryId(report.deliveryId);
    if (instance === undefined) return "unknown";
    if (instance !== this.#options.instanceId) {
      await this.#options.relayReport(instance, report);
      return "relayed";
    }
    return this.settle(report) ? "settled" : "unknown";
  }

  /** Settles a report of a delivery this instance sent; false when no stream awaits it. */
  settle(report: ReportDeliveryRequest): boolean {
    const stream = this.#streams.get(report.endpointId);
    if (!stream || stream.tenantId !== report.tenantId) return false;
    return stream.report(report);
  }
}
