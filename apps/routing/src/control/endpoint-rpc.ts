import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { DisabledReason, type EndpointService, Scope, SignatureScheme } from "@herald/contracts";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  KeyedSerializer,
  NotFoundError,
  PermissionDeniedError,
} from "@herald/platform";
import {
  authorizeEndpoint,
  authorizeTenant,
  authorizeWrite,
  type EndpointDocument,
  endpointHeaders,
  HEADER_VALUE_MASK,
  isListenEndpoint,
  listenUrl,
  principalOf,
  sealHeaders,
  unmaskHeaders,
  visibleEndpoints,
} from "@herald/platform/model";
import type { ControlPlaneDeps } from "./deps.js";
import {
  checkSignatureScheme,
  checkSuppliedSecret,
  parseEndpointPatch,
  parseNewEndpoint,
} from "./endpoint-input.js";
import { testAnswer, testEventType, testPayload, testSendError, testTask } from "./endpoint-test.js";
import { checkObjectId, checkTenantId, durationToMs, newId } from "./fields.js";
import { endpointMessage } from "./messages.js";
import { pageRequest, toPage } from "./pagination.js";
import {
  currentScheme,
  DEFAULT_ROTATION_OVERLAP_MS,
  MAX_ROTATION_OVERLAP_MS,
  newSealedSecret,
  rotateSecretDocuments,
  sealedUnderCurrentKey,
  validSecretDocuments,
} from "./secrets.js";
import { checkEndpointUrl } from "./url-policy.js";

/**
 * The headers a request asks for, sealed for storage: a masked value (what reads show) keeps the value
 * stored under that name, so a client can send back what it read.
 */
function sealedHeaders(
  field: string,
  requested: Record<string, string>,
  stored: Readonly<Record<string, string>>,
  box: ControlPlaneDeps["secretBox"],
): Pick<EndpointDocument, "headers" | "sealed_headers" | "header_names"> {
  const unmasked = unmaskHeaders(requested, stored);
  if ("unknown" in unmasked) {
    throw new InvalidArgumentError(
      `${field}[${JSON.stringify(unmasked.unknown)}]`,
      `${JSON.stringify(HEADER_VALUE_MASK)} stands for the stored value, and the endpoint has no such header; send the value itself`,
    );
  }
  return sealHeaders(unmasked.headers, box);
}

/** Rotations retried after a concurrent change to the same endpoint before giving up. */
const ROTATION_ATTEMPTS = 5;

/**
 * The tenant a call names, once the caller may manage its endpoints. Permission comes before anything
 * else, so a key of another tenant learns nothing, not even whether the tenant exists.
 */
function managedTenant(ctx: HandlerContext, tenantId: string): string {
  authorizeTenant(principalOf(ctx), tenantId, Scope.ENDPOINTS_MANAGE);
  return checkTenantId("tenant_id", tenantId);
}

/**
 * The tenant and endpoint a call names, once the caller may see that endpoint (a portal session may be
 * limited to some) and, for a change, may change things (a read-only session may not).
 */
function namedEndpoint(
  ctx: HandlerContext,
  req: { tenantId: string; endpointId: string },
  access: "read" | "write",
): { tenantId: string; id: string } {
  const tenantId = managedTenant(ctx, req.tenantId);
  const principal = principalOf(ctx);
  if (access === "write") authorizeWrite(principal);
  const id = checkObjectId("endpoint_id", req.endpointId);
  authorizeEndpoint(principal, id);
  return { tenantId, id };
}

/** EndpointService: keys with endpoints:manage on the tenant, or admin keys. */
export function endpointService(deps: ControlPlaneDeps): ServiceImpl<typeof EndpointService> {
  const { tenants, endpoints, changes, secretBox } = deps;
  const rotations = new KeyedSerializer();

  async function changed(endpoint: EndpointDocument) {
    await changes.endpointChanged(endpoint.tenant_id, endpoint._id);
    return { endpoint: endpointMessage(endpoint, deps.now()) };
  }

  return {
    async createEndpoint(req, ctx) {
      const tenantId = managedTenant(ctx, req.tenantId);
      const principal = principalOf(ctx);
      authorizeWrite(principal);
      // A session limited to some endpoints could not see the one it made.
      if (visibleEndpoints(principal)) {
        throw new PermissionDeniedError("this session is limited to some endpoints and may not create one");
      }
      const input = parseNewEndpoint(req);
      await tenants.get(tenantId);
      // A listen endpoint is never dialled: the CLI posts to the developer's own URL, which Herald never sees.
      if (input.transport === "http") await checkEndpointUrl(input.url, deps.urlPolicy);
      const headers = sealedHeaders("headers", input.headers, {}, secretBox);
      if (req.validateOnly) return {};
      const now = deps.now();
      const id = newId("ep");
      const endpoint: EndpointDocument = {
        _id: id,
        tenant_id: tenantId,
        url: input.transport === "listen" ? listenUrl(id) : input.url,
        ...(input.transport === "listen" && { listen: { key_id: principal.keyId }, listen_seen_time: now }),
        description: input.description,
        event_types: input.event_types,
        channels: input.channels,
        ...headers,
        rate_limit_per_second: input.rate_limit_per_second,
        max_concurrency: input.max_concurrency,
        disabled: false,
        disabled_reason: DisabledReason.UNSPECIFIED,
        retry_schedule_ms: input.retry_schedule_ms,
        ...(input.payload_format === "envelope" ? { payload_format: "envelope" } : {}),
        ...(input.filter ? { filter: input.filter } : {}),
        secrets: [newSealedSecret(input.signature_scheme, input.secret, secretBox, now)],
        create_time: now,
        update_time: now,
      };
      await endpoints.insert(endpoint);
      // No transactions: had the tenant been deleted meanwhile, take the endpoint back out.
      if (!(await tenants.find(tenantId))) {
        await endpoints.delete(tenantId, endpoint._id).catch(() => undefined);
        throw new NotFoundError("tenant", tenantId);
      }
      return changed(endpoint);
    },

    async getEndpoint(req, ctx) {
      const { tenantId, id } = namedEndpoint(ctx, req, "read");
      const endpoint = await endpoints.get(tenantId, id);
      return { endpoint: endpointMessage(endpoint, deps.now()) };
    },

    async listEndpoints(req, ctx) {
      const tenantId = managedTenant(ctx, req.tenantId);
      const request = pageRequest(req.pageSize, req.pageToken);
      const page = toPage(
        await endpoints.list(tenantId, request.afterId, request.size + 1, visibleEndpoints(principalOf(ctx))),
        request.size,
      );
      const now = deps.now();
      return {
        endpoints: page.items.map((endpoint) => endpointMessage(endpoint, now)),
        nextPageToken: page.nextPageToken,
      };
    },

    async updateEndpoint(req, ctx) {
      const { tenantId, id } = namedEndpoint(ctx, req, "write");
      const { headers, payload_format, filter, ...patch } = parseEndpointPatch(req);
      if (patch.url !== undefined) {
        if (isListenEndpoint(await endpoints.get(tenantId, id))) {
          throw new FailedPreconditionError(
            `endpoint "${id}" is a listen endpoint: its URL is Herald's; create an HTTP endpoint for a URL of your own`,
          );
        }
        await checkEndpointUrl(patch.url, deps.urlPolicy);
      }
      const sealed =
        headers === undefined
          ? {}
          : sealedHeaders(
              "headers.entries",
              headers,
              Object.values(headers).includes(HEADER_VALUE_MASK)
                ? endpointHeaders(await endpoints.get(tenantId, id), secretBox)
                : {},
              secretBox,
            );
      // The raw format is the field's absence, as in endpoints written before the option existed.
      const format = payload_format === "envelope" ? { payload_format } : {};
      // No filter is no field, as in endpoints written before filters existed.
      const filterField = filter ? { filter } : {};
      const unset = [
        ...(payload_format === "raw" ? (["payload_format"] as const) : []),
        ...(filter === "" ? (["filter"] as const) : []),
      ];
      return changed(
        await endpoints.update(
          tenantId,
          id,
          { ...patch, ...sealed, ...format, ...filterField, update_time: deps.now() },
          unset,
        ),
      );
    },

    async deleteEndpoint(req, ctx) {
      const { tenantId, id } = namedEndpoint(ctx, req, "write");
      await endpoints.delete(tenantId, id);
      await changes.endpointChanged(tenantId, id);
      return {};
    },

    async enableEndpoint(req, ctx) {
      const { tenantId, id } = namedEndpoint(ctx, req, "write");
      const endpoint = await endpoints.update(
        tenantId,
        id,
        { disabled: false, disabled_reason: DisabledReason.UNSPECIFIED, update_time: deps.now() },
        // A fresh start: the failure window counts from the next failure.
        ["failing_since"],
      );
      return changed(endpoint);
    },

    async disableEndpoint(req, ctx) {
      const { tenantId, id } = namedEndpoint(ctx, req, "write");
      const endpoint = await endpoints.update(tenantId, id, {
        disabled: true,
        disabled_reason: DisabledReason.MANUAL,
        update_time: deps.now(),
      });
      return changed(endpoint);
    },

    async rotateSecret(req, ctx) {
      const { tenantId, id } = namedEndpoint(ctx, req, "write");
      const overlapMs = req.overlap ? durationToMs("overlap", req.overlap) : DEFAULT_ROTATION_OVERLAP_MS;
      if (overlapMs > MAX_ROTATION_OVERLAP_MS) {
        throw new InvalidArgumentError(
          "overlap",
          "must be at most 7 days (604800s); 0s ends the old secret now",
        );
      }
      const requested = checkSignatureScheme("signature_scheme", req.signatureScheme);
      // A supplied secret is a whsec_ one: it asks for v1 unless the request says otherwise.
      const supplied = checkSuppliedSecret("secret", req.secret, requested ?? "v1");
      const rotated = await rotations.run(`${tenantId}/${id}`, async () => {
        for (let attempt = 0; attempt < ROTATION_ATTEMPTS; attempt++) {
          const current = await endpoints.get(tenantId, id);
          const now = deps.now();
          const scheme = requested ?? (supplied ? "v1" : currentScheme(current.secrets, now));
          const next = newSealedSecret(scheme, supplied, secretBox, now);
          const secrets = rotateSecretDocuments(current.secrets, next, overlapMs, now).map((kept) =>
            sealedUnderCurrentKey(kept, secretBox),
          );
          const written = await endpoints.replaceSecrets(current, secrets, now);
          if (written) return written;
        }
        throw new ConnectError("the endpoint kept changing during the rotation; try again", Code.Aborted);
      });
      return changed(rotated);
    },

    async getEndpointSecret(req, ctx) {
      // A secret lets its holder sign as Herald: a read-only session may not reveal it.
      const { tenantId, id } = namedEndpoint(ctx, req, "write");
      const endpoint = await endpoints.get(tenantId, id);
      return {
        // A v1a private key is never returned, nor even opened here: receivers need the public key only.
        secrets: validSecretDocuments(endpoint.secrets, deps.now()).map((secret) => ({
          id: secret.id,
          secret: secret.scheme === "v1a" ? "" : secretBox.open(secret.sealed),
          expireTime: secret.expire_time ? timestampFromDate(secret.expire_time) : undefined,
          scheme: secret.scheme === "v1a" ? SignatureScheme.V1A : SignatureScheme.V1,
          publicKey: secret.public_key ?? "",
        })),
      };
    },

    async testEndpoint(req, ctx) {
      // A test sends a request and writes to the attempt log: a read-only session may not.
      const { tenantId, id } = namedEndpoint(ctx, req, "write");
      const [tenant, endpoint] = await Promise.all([tenants.get(tenantId), endpoints.get(tenantId, id)]);
      const eventType = testEventType(req.eventType, endpoint);
      const type = await deps.eventTypes.get(tenantId, eventType).catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      });
      const payload = testPayload(req.payload, eventType, type, tenant, deps.schemas);
      const now = deps.now();
      const task = testTask(
        endpoint,
        eventType,
        payload,
        now,
        new Date(now.getTime() + deps.testSend.timeoutMs),
      );
      try {
        return { attempt: testAnswer(await deps.testSend.client.request(task)) };
      } catch (err) {
        throw testSendError(err, deps.testSend.timeoutMs);
      }
    },
  };
}
