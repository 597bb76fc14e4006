import type { ServiceConfig } from "../config.js";
import type { Authentication, AuthenticationContext } from "../service.js";
import { ApiKeyAuthenticator } from "./api-keys.js";
import { consumeControlChanges } from "./control.js";

/**
 * Herald's RPC authentication: API keys from MongoDB plus the bootstrap admin key. Every service that
 * authenticates callers forgets revoked keys as their control notifications arrive.
 */
export async function apiKeyAuthentication(
  ctx: AuthenticationContext<ServiceConfig>,
): Promise<Authentication<ApiKeyAuthenticator>> {
  const authenticator = new ApiKeyAuthenticator(ctx.mongo.db, { adminKey: ctx.config.HERALD_ADMIN_KEY });
  const keyRevocations = consumeControlChanges(ctx.rabbit, ctx.names, ctx.logger, (change) =>
    authenticator.onControlChange(change),
  );
  await new Promise((resolve) => keyRevocations.once("ready", resolve));
  return { authenticator, consumers: [keyRevocations] };
}
