import type { Interceptor } from "@connectrpc/connect";
import { SpanKind } from "@opentelemetry/api";
import type { Logger } from "pino";
import { toConnectError, UnauthenticatedError } from "../errors.js";
import { extractTraceContextFromHeaders, inSpan } from "../tracing.js";
import { type Authenticator, principalKey } from "./authentication.js";

/**
 * Opens a SERVER span per call, continuing the caller's W3C trace context from the request headers.
 * Span name and attributes follow the RPC semantic conventions.
 */
export function tracingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const parent = extractTraceContextFromHeaders(req.header);
    const service = req.service.typeName;
    const method = req.method.name;
    return inSpan(
      `${service}/${method}`,
      {
        kind: SpanKind.SERVER,
        parent,
        attributes: {
          "rpc.system": "grpc",
          "rpc.service": service,
          "rpc.method": method,
          "herald.rpc.protocol": req.header.get("content-type") ?? "",
        },
      },
      async (span) => {
        try {
          return await next(req);
        } catch (err) {
          const { error } = toConnectError(err);
          span.setAttribute("rpc.grpc.status_code", error.code);
          throw err;
        }
      },
    );
  };
}

/**
 * Turns thrown errors into the gRPC status the client sees. Expected errors keep their message;
 * anything else is logged in full here and becomes INTERNAL with no detail.
 */
export function errorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      const { error, expected } = toConnectError(err);
      if (!expected) logger.error({ err, rpc: `${req.service.typeName}/${req.method.name}` }, "rpc failed");
      throw error;
    }
  };
}

/** Options of {@link authInterceptor}. */
export interface AuthInterceptorOptions {
  /** Fully-qualified services callable without a key, e.g. "grpc.health.v1.Health". */
  publicServices?: string[];
  /** Methods callable without a key, as "service/Method", e.g. "herald.v1.PortalService/ExchangePortalLink". */
  publicMethods?: string[];
}

/** Resolves `authorization: Bearer <key>` to a principal for the handlers; refuses calls without one. */
export function authInterceptor(
  authenticator: Authenticator,
  options: AuthInterceptorOptions = {},
): Interceptor {
  const publicServices = new Set(options.publicServices ?? []);
  const publicMethods = new Set(options.publicMethods ?? []);
  return (next) => async (req) => {
    if (publicServices.has(req.service.typeName)) return next(req);
    if (publicMethods.has(`${req.service.typeName}/${req.method.name}`)) return next(req);
    const header = req.header.get("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw new UnauthenticatedError();
    const principal = await authenticator.authenticate(match[1]);
    if (!principal) throw new UnauthenticatedError("invalid or revoked API key");
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
}
