import {
  type ApiKeyAuthenticator,
  type Logger,
  type ProtoPublisher,
  publishControlChange,
  type TopologyNames,
} from "@herald/platform";

/**
 * How long a call waits for its change's announcement. While RabbitMQ is unreachable the publisher
 * retries for about a minute; the change is saved, so the caller gets its answer and the announcement
 * goes on in the background.
 */
const ANNOUNCE_WAIT_MS = 2_000;

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

  constructor(
    publisher: ProtoPublisher,
    names: TopologyNames,
    logger: Logger,
    authenticator: ApiKeyAuthenticator,
  ) {
    this.#publisher = publisher;
    this.#names = names;
    this.#logger = logger;
    this.#authenticator = authenticator;
  }

  tenantChanged(tenantId: string): Promise<void> {
    return this.#announce(tenantId, "");
  }

  endpointChanged(tenantId: string, endpointId: string): Promise<void> {
    return this.#announce(tenantId, endpointId);
  }

  /**
   * Every API key of `tenantId` was deleted: forget them here first, so the change holds on this
   * instance even before the notification comes back.
   */
  apiKeysChanged(tenantId: string): Promise<void> {
    this.#authenticator.invalidate(tenantId);
    return this.#announce(tenantId, "");
  }

  /**
   * One API key (of `tenantId`; admin keys: undefined) was revoked: forgotten here at once, and named in
   * the notification so every other instance forgets exactly that key, admin keys included.
   */
  apiKeyRevoked(keyId: string, tenantId: string | undefined): Promise<void> {
    this.#authenticator.forgetKey(keyId);
    return this.#announce(tenantId ?? "", "", keyId);
  }

  async #announce(tenantId: string, endpointId: string, apiKeyId = ""): Promise<void> {
    const change = { tenantId, endpointId, apiKeyId };
    this.#logger.debug(change, "control change");
    const announced = publishControlChange(this.#publisher, this.#names, tenantId, endpointId, apiKeyId).then(
      () => true,
      (err) => {
        this.#logger.warn({ err, ...change }, "control change saved but not announced");
        return true;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      announced,
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), ANNOUNCE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!waited) this.#logger.warn(change, "control change saved; its announcement waits for RabbitMQ");
  }
}
