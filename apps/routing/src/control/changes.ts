import type { ControlNotification } from "@herald/contracts";
import {
  type ApiKeyAuthenticator,
  type Logger,
  type ProtoPublisher,
  publishControlChange,
  type TopologyNames,
} from "@herald/platform";

/**
 * Announces control-plane changes on `herald.control` so every routing and delivery instance drops its
 * cached copy at once. A change is saved before it is announced; if the announcement fails the call
 * still succeeds (the change happened) and caches catch up when their entries expire.
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
   * API keys of `tenantId` (admin keys: undefined) were revoked or deleted: forget them here first, so
   * the change holds on this instance even before the notification comes back.
   */
  apiKeysChanged(tenantId: string | undefined): Promise<void> {
    this.#authenticator.invalidate(tenantId);
    return this.#announce(tenantId ?? "", "");
  }

  async #announce(tenantId: string, endpointId: string): Promise<void> {
    this.#logger.debug({ tenantId, endpointId }, "control change");
    try {
      await publishControlChange(this.#publisher, this.#names, tenantId, endpointId);
    } catch (err) {
      this.#logger.warn({ err, tenantId, endpointId }, "control change saved but not announced");
    }
  }
}

/**
 * What to do with a control notification here: a tenant-wide change (endpoint_id empty) may be a key
 * revocation or a tenant deletion, so that tenant's cached keys go (every key for an admin key, whose
 * tenant_id is empty). `undefined` means notifications may have been missed: forget every key.
 */
export function forgetRevokedKeys(authenticator: ApiKeyAuthenticator) {
  return (change: ControlNotification | undefined): void => {
    if (change === undefined) authenticator.invalidate();
    else if (change.endpointId === "") authenticator.invalidate(change.tenantId || undefined);
  };
}
