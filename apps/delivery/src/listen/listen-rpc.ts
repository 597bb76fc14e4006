import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { DisabledReason, type ListenResponse, type ListenService, Scope } from "@herald/contracts";
import { InvalidArgumentError, NotFoundError, toConnectError } from "@herald/platform";
import {
  authorizeEndpoint,
  authorizeListener,
  authorizeTenant,
  authorizeWrite,
  type EndpointDocument,
  type EndpointStore,
  principalOf,
} from "@herald/platform/model";
import type { Logger } from "pino";
import type { ListenHub } from "./listen-hub.js";
import { checkReport, type ListenStream, ListenStreamEndedError } from "./listen-stream.js";

/** What the ListenService handlers need. */
export interface ListenRpcDeps {
  hub: ListenHub;
  endpoints: Pick<EndpointStore, "get">;
  /**
   * Starts taking the endpoint's tasks into the stream; resolves with a function that stops (after the
   * tasks in flight went back to the queue or were settled).
   */
  attach(stream: ListenStream, endpoint: EndpointDocument): Promise<() => Promise<void>>;
  /** Marks the endpoint as seen now, so it does not expire while a stream is open; must not throw. */
  touch(endpoint: EndpointDocument): Promise<void>;
  /** How often an open stream marks its endpoint as seen. */
  touchEveryMs: number;
  logger: Logger;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The listen endpoint a call names, once the caller may listen on it: a key of its tenant with
 * endpoints:manage that created it (or an admin key). Another tenant's key is refused before anything is
 * read; an endpoint of another tenant is not found.
 */
async function listenedEndpoint(
  deps: ListenRpcDeps,
  ctx: HandlerContext,
  req: { tenantId: string; endpointId: string },
): Promise<EndpointDocument> {
  const principal = principalOf(ctx);
  authorizeTenant(principal, req.tenantId, Scope.ENDPOINTS_MANAGE);
  authorizeWrite(principal);
  if (!ID.test(req.tenantId)) {
    throw new InvalidArgumentError("tenant_id", "required: 1-64 characters of a-z, A-Z, 0-9, _ or -");
  }
  if (!ID.test(req.endpointId)) {
    throw new InvalidArgumentError("endpoint_id", "required: the id of a listen endpoint (ep_…)");
  }
  authorizeEndpoint(principal, req.endpointId);
  const endpoint = await deps.endpoints.get(req.tenantId, req.endpointId);
  authorizeListener(principal, endpoint);
  return endpoint;
}

/**
 * Why a disabled listen endpoint takes no stream: its deliveries would all be recorded as DEAD. Enabling
 * it (herald endpoints enable) lets it listen again.
 */
export function listenEndpointDisabled(endpoint: EndpointDocument): ListenStreamEndedError {
  return new ListenStreamEndedError(
    Code.FailedPrecondition,
    `listen endpoint "${endpoint._id}" is disabled (${disabledReasonName(endpoint.disabled_reason)}); enable it with herald endpoints enable, then listen again`,
  );
}

const DISABLED_REASONS: Record<number, string> = {
  [DisabledReason.MANUAL]: "by hand",
  [DisabledReason.GONE]: "the local receiver answered 410 Gone",
  [DisabledReason.FAILING]: "its deliveries failed for too long",
};

function disabledReasonName(reason: number): string {
  return DISABLED_REASONS[reason] ?? "disabled";
}

/** ListenService: hands listen endpoints' deliveries to streams and takes their reports. */
export function listenService(deps: ListenRpcDeps): ServiceImpl<typeof ListenService> {
  return {
    async *listen(req, ctx): AsyncGenerator<ListenResponse> {
      let endpoint: EndpointDocument;
      try {
        endpoint = await listenedEndpoint(deps, ctx, req);
        if (endpoint.disabled) throw listenEndpointDisabled(endpoint);
      } catch (err) {
        // Errors of a streaming handler bypass the unary error interceptor: map them here.
        const { error, expected } = toConnectError(err);
        if (!expected) deps.logger.error({ err }, "listen refused");
        throw error;
      }
      const stream = deps.hub.open(endpoint.tenant_id, endpoint._id, principalOf(ctx).keyId);
      const onAbort = () => deps.hub.close(stream);
      ctx.signal.addEventListener("abort", onAbort);
      const touching = setInterval(() => void deps.touch(endpoint), deps.touchEveryMs);
      let detach: (() => Promise<void>) | undefined;
      deps.logger.info({ tenantId: endpoint.tenant_id, endpointId: endpoint._id }, "listen stream opened");
      try {
        await deps.touch(endpoint);
        detach = await deps.attach(stream, endpoint);
        yield* stream.messages();
      } catch (err) {
        const { error, expected } = toConnectError(err);
        if (!expected) deps.logger.error({ err }, "listen stream failed");
        throw error;
      } finally {
        clearInterval(touching);
        ctx.signal.removeEventListener("abort", onAbort);
        deps.hub.close(stream);
        await detach?.();
        deps.logger.info({ tenantId: endpoint.tenant_id, endpointId: endpoint._id }, "listen stream closed");
      }
    },

    async reportDelivery(req, ctx) {
      await listenedEndpoint(deps, ctx, req);
      checkReport(req);
      const route = await deps.hub.report(req);
      if (route === "unknown") {
        throw new NotFoundError("delivery awaiting a report", req.deliveryId);
      }
      return {};
    },
  };
}
