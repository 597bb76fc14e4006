import type { Logger, ProtoPublisher, TopologyNames } from "@herald/platform";
import { type ApiKeyAuthenticator, type ControlFeed, publishControlChange } from "@herald/platform/model";

/**
 * How long a call waits for its change's announcement. While RabbitMQ is unreachable the publisher
 * retries for about a minute; the change is saved, so the caller gets its answer and the announcement
 * goes on in the background.
 */
const ANNOUNCE_WAIT_MS = 2_000;

/**
 * How long RevokeApiKey and DeleteTenant wait for their notification to come back to this instance. Past
 * 1 s the key cache's own bound has every instance refusing the key anyway.
 */
const NOTICE_WAIT_MS = 1_000;

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
  readonly #feed: ControlFeed;

  constructor(
    publisher: ProtoPublisher,
    names: TopologyNames,
    logger: Logger,
    authenticator: ApiKeyAuthenticator,
    feed: ControlFeed,
  ) {
    this.#publisher = publisher;
    this.#names = names;
    this.#logger = logger;
    this.#authenticator = authenticator;
    this.#feed = feed;
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
   * The tenant was deleted, and every API key of it: its keys are forgotten here first, so the change
   * holds on this instance even before the notification comes back. Answering once it came back narrows
   * the time in which another instance (audit, whose cached tenant guards the tenant's records) has not
   * applied it yet.
   */
  async tenantDeleted(tenantId: string): Promise<void> {
    this.#authenticator.invalidate(tenantId);
    const noticed = this.#feed.noticeOf(
      (change) => change.tenantId === tenantId && !change.endpointId && !change.apiKeyId,
      NOTICE_WAIT_MS,
    );
    if (await this.#announce(tenantId, "")) await noticed;
  }

  /**
   * One API key (of `tenantId`; admin keys: undefined) was revoked: forgotten here at once, and named in
   * the notification so every other instance forgets exactly that key, admin keys included.
   */
  async apiKeyRevoked(keyId: string, tenantId: string | undefined): Promise<void> {
    this.#authenticator.forgetKey(keyId);
    const noticed = this.#feed.noticeOf((change) => change.apiKeyId === keyId, NOTICE_WAIT_MS);
    // Answering once this instance got its own notification back narrows the time in which another
    // instance, whose queue got it at the same moment, has not applied it yet.
    if (await this.#announce(tenantId ?? "", "", keyId)) await noticed;
  }

  /** Publishes the change; true once RabbitMQ confirmed it within {@link ANNOUNCE_WAIT_MS}. */
  async #announce(tenantId: string, endpointId: string, apiKeyId = "", eventType = ""): Promise<boolean> {
    const change = { tenantId, endpointId, apiKeyId, eventType };
    this.#logger.debug(change, "control change");
    const announced = publishControlChange(
      this.#publisher,
      this.#names,
      tenantId,
      endpointId,
      apiKeyId,
      eventType,
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
