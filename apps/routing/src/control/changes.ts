import type { Logger, ProtoPublisher, TopologyNames } from "@herald/platform";
import {
  type AckInbox,
  type AckRequest,
  type ApiKeyAuthenticator,
  describeInstance,
  MAX_API_KEY_CACHE_TTL_MS,
  publishControlChange,
  type ServiceInstances,
} from "@herald/platform/model";

/**
 * How long a call waits for its change's announcement. While RabbitMQ is unreachable the publisher
 * retries for about a minute; the change is saved, so the caller gets its answer and the announcement
 * goes on in the background.
 */
const ANNOUNCE_WAIT_MS = 2_000;

/**
 * How long RevokeApiKey and DeleteTenant wait, from the moment the change was saved, for every live
 * instance to acknowledge it. It equals the key cache's bound (MAX_API_KEY_CACHE_TTL_MS): an instance that
 * has not acknowledged by then trusts no key it read before the change any more, so when the call answers
 * the change holds on every instance either way.
 */
const ACK_WAIT_MS = MAX_API_KEY_CACHE_TTL_MS;

/**
 * Announces control-plane changes on `herald.control` so every instance of every service drops its
 * cached copy at once. A change is saved before it is announced; if the announcement fails or is slow
 * the call still succeeds (the change happened) and caches catch up when their entries expire (API
 * keys: 1 s).
 */
export class ControlChanges {
  readonly #publisher: ProtoPublisher;
  readonly #names: TopologyNames;
  readonly #logger: Logger;
  readonly #authenticator: ApiKeyAuthenticator;
  readonly #instances: ServiceInstances;
  readonly #inbox: AckInbox;

  constructor(
    publisher: ProtoPublisher,
    names: TopologyNames,
    logger: Logger,
    authenticator: ApiKeyAuthenticator,
    acknowledgements: { instances: ServiceInstances; inbox: AckInbox },
  ) {
    this.#publisher = publisher;
    this.#names = names;
    this.#logger = logger;
    this.#authenticator = authenticator;
    this.#instances = acknowledgements.instances;
    this.#inbox = acknowledgements.inbox;
  }

  async tenantChanged(tenantId: string): Promise<void> {
    await this.#announce(tenantId, "");
  }

  async endpointChanged(tenantId: string, endpointId: string): Promise<void> {
    await this.#announce(tenantId, endpointId);
  }

  /** One type of the tenant's event type catalog changed: caches drop that type only. */
  async eventTypeChanged(tenantId: string, name: string): Promise<void> {
    await this.#announce(tenantId, "", "", name);
  }

  /**
   * The tenant was deleted, and every API key of it: its keys are forgotten here first, then the call
   * waits until every live instance acknowledged the deletion (audit's cached tenant guards the tenant's
   * records), or {@link ACK_WAIT_MS}.
   */
  async tenantDeleted(tenantId: string): Promise<void> {
    const savedAt = performance.now();
    this.#authenticator.invalidate(tenantId);
    await this.#announceAcknowledged(savedAt, tenantId, "");
  }

  /**
   * One API key (of `tenantId`; admin keys: undefined) was revoked: forgotten here at once, and named in
   * the notification so every other instance forgets exactly that key, admin keys included. Answers once
   * every live instance acknowledged, or {@link ACK_WAIT_MS} after the revocation was saved: either way
   * no instance accepts the key any more.
   */
  async apiKeyRevoked(keyId: string, tenantId: string | undefined): Promise<void> {
    const savedAt = performance.now();
    this.#authenticator.forgetKey(keyId);
    await this.#announceAcknowledged(savedAt, tenantId ?? "", "", keyId);
  }

  /**
   * Announces a change saved at `savedAt` (performance.now()) and waits for the acknowledgements of the
   * instances registered as live, until {@link ACK_WAIT_MS} after `savedAt`. The registry is read after
   * the change was saved: an instance registering later read nothing before the change. When the
   * registry cannot be read, or RabbitMQ cannot take the announcement or an acknowledgement, it waits
   * the whole bound.
   */
  async #announceAcknowledged(
    savedAt: number,
    tenantId: string,
    endpointId: string,
    apiKeyId = "",
  ): Promise<void> {
    const live = await this.#instances.live().catch((err) => {
      this.#logger.warn({ err }, "live instances not read; waiting the acknowledgement bound");
      return undefined;
    });
    const wait = this.#inbox.acks.expect(
      live?.map((instance) => instance.id),
      savedAt + ACK_WAIT_MS - performance.now(),
    );
    // Not awaited: acknowledgements come only after RabbitMQ routed the announcement, and when it cannot
    // take it the wait runs to its bound, which holds without any announcement.
    void this.#announce(tenantId, endpointId, apiKeyId, "", {
      notificationId: wait.notificationId,
      ackQueue: this.#inbox.queue,
    });
    const outcome = await wait.outcome;
    if (outcome.missing.length > 0) {
      const byId = new Map((live ?? []).map((instance) => [instance.id, describeInstance(instance)]));
      this.#logger.warn(
        {
          notificationId: wait.notificationId,
          tenantId,
          apiKeyId,
          missing: outcome.missing.map((id) => byId.get(id)),
        },
        "control change not acknowledged by every live instance in time; their caches expire what it changed within 1 s",
      );
    }
  }

  /** Publishes the change; true once RabbitMQ confirmed it within {@link ANNOUNCE_WAIT_MS}. */
  async #announce(
    tenantId: string,
    endpointId: string,
    apiKeyId = "",
    eventType = "",
    ack?: AckRequest,
  ): Promise<boolean> {
    const change = { tenantId, endpointId, apiKeyId, eventType };
    this.#logger.debug(change, "control change");
    const announced = publishControlChange(
      this.#publisher,
      this.#names,
      tenantId,
      endpointId,
      apiKeyId,
      eventType,
      ack,
    ).then(
      () => "confirmed" as const,
      (err) => {
        this.#logger.warn({ err, ...change }, "control change saved but not announced");
        return "failed" as const;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      announced,
      new Promise<"pending">((resolve) => {
        timer = setTimeout(() => resolve("pending"), ANNOUNCE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === "pending") {
      this.#logger.warn(change, "control change saved; its announcement waits for RabbitMQ");
    }
    return outcome === "confirmed";
  }
}
