import type { ServiceConfig } from "../config.js";
import type { Authentication, AuthenticationContext } from "../service.js";
import { ApiKeyAuthenticator } from "./api-keys.js";
import { controlFeed } from "./control.js";
import { keepRegistered, ServiceInstances, thisInstance } from "./instances.js";

/**
 * Herald's RPC authentication: API keys from MongoDB plus the bootstrap admin key. Every service that
 * authenticates callers forgets revoked keys as their control notifications arrive. It opens the
 * instance's control feed, which the service's own caches listen to as well, and registers the instance
 * (once the feed is ready, before the RPC port opens) so that RevokeApiKey and DeleteTenant wait for its
 * acknowledgement.
 */
export async function apiKeyAuthentication(
  ctx: AuthenticationContext<ServiceConfig>,
): Promise<Authentication<ApiKeyAuthenticator>> {
  const authenticator = new ApiKeyAuthenticator(ctx.mongo.db, { adminKey: ctx.config.HERALD_ADMIN_KEY });
  const instance = thisInstance(ctx.service);
  const feed = controlFeed({ ...ctx, instanceId: instance.id });
  feed.listen((change) => authenticator.onControlChange(change));
  await feed.ready;
  const registration = await keepRegistered(new ServiceInstances(ctx.mongo.db), instance, ctx.logger);
  return {
    authenticator,
    async stop() {
      // Unregistered first: from then on nobody waits for this instance's acknowledgements.
      await registration.stop();
      await feed.close();
    },
  };
}
