import type { ServiceConfig } from "../config.js";
import type { Authentication, AuthenticationContext } from "../service.js";
import { ApiKeyAuthenticator } from "./api-keys.js";
import { controlFeed } from "./control.js";

/**
 * Herald's RPC authentication: API keys from MongoDB plus the bootstrap admin key. Every service that
 * authenticates callers forgets revoked keys as their control notifications arrive. It opens the
 * instance's control feed, which the service's own caches listen to as well.
 */
export async function apiKeyAuthentication(
  ctx: AuthenticationContext<ServiceConfig>,
): Promise<Authentication<ApiKeyAuthenticator>> {
  const authenticator = new ApiKeyAuthenticator(ctx.mongo.db, { adminKey: ctx.config.HERALD_ADMIN_KEY });
  const feed = controlFeed(ctx);
  feed.listen((change) => authenticator.onControlChange(change));
  await feed.ready;
  return { authenticator, consumers: [feed.consumer] };
}
