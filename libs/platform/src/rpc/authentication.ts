import { createContextKey } from "@connectrpc/connect";

/** Resolves a bearer token to its caller, or undefined when the token is unknown or revoked. */
export interface Authenticator<P = unknown> {
  authenticate(token: string): Promise<P | undefined>;
}

/** Where {@link authInterceptor} leaves the caller for the handlers; the model reads it as its Principal. */
export const principalKey = createContextKey<unknown>(undefined, { description: "principal" });
