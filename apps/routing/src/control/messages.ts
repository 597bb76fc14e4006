import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type ApiKey,
  ApiKeySchema,
  type Endpoint,
  EndpointSchema,
  EndpointTransport,
  type EventType,
  EventTypeSchema,
  PayloadFormat,
  SignatureScheme,
  type Tenant,
  TenantSchema,
} from "@herald/contracts";
import {
  type ApiKeyDocument,
  type EndpointDocument,
  type EventTypeDocument,
  maskedHeaders,
  type TenantDocument,
} from "@herald/platform/model";
import { retryScheduleMessage } from "./fields.js";
import { currentScheme, validSecretDocuments } from "./secrets.js";

// Stored documents as API messages. Nothing secret crosses here: endpoints carry secret metadata and
// header names only, API keys no hash.

export function tenantMessage(tenant: TenantDocument): Tenant {
  return create(TenantSchema, {
    id: tenant._id,
    name: tenant.name,
    metadata: tenant.metadata,
    disabled: tenant.disabled,
    settings: {
      rateLimitPerSecond: tenant.settings.rate_limit_per_second,
      maxPayloadBytes: tenant.settings.max_payload_bytes,
      retrySchedule: retryScheduleMessage(tenant.settings.retry_schedule_ms),
      retentionDays: tenant.settings.retention_days ?? 0,
      refuseUnknownEventTypes: tenant.settings.refuse_unknown_event_types ?? false,
      validatePayloads: tenant.settings.validate_payloads ?? false,
      deliveryWeight: tenant.settings.delivery_weight ?? 1,
      portal: {
        frameAncestors: tenant.settings.portal?.frame_ancestors ?? [],
        brandColor: tenant.settings.portal?.brand_color ?? "",
        logoUrl: tenant.settings.portal?.logo_url ?? "",
      },
    },
    createTime: timestampFromDate(tenant.create_time),
    updateTime: timestampFromDate(tenant.update_time),
  });
}

/**
 * The endpoint with the metadata of the secrets valid at `now`, and its custom headers' names only:
 * their values are masked, as secrets they usually are.
 */
export function endpointMessage(endpoint: EndpointDocument, now: Date): Endpoint {
  return create(EndpointSchema, {
    id: endpoint._id,
    tenantId: endpoint.tenant_id,
    url: endpoint.url,
    description: endpoint.description,
    eventTypes: endpoint.event_types,
    channels: endpoint.channels,
    headers: maskedHeaders(endpoint),
    rateLimitPerSecond: endpoint.rate_limit_per_second,
    maxConcurrency: endpoint.max_concurrency,
    disabled: endpoint.disabled,
    disabledReason: endpoint.disabled_reason,
    retrySchedule: retryScheduleMessage(endpoint.retry_schedule_ms),
    secrets: validSecretDocuments(endpoint.secrets, now).map((secret) => ({
      id: secret.id,
      createTime: timestampFromDate(secret.create_time),
      expireTime: secret.expire_time ? timestampFromDate(secret.expire_time) : undefined,
      scheme: secret.scheme === "v1a" ? SignatureScheme.V1A : SignatureScheme.V1,
      publicKey: secret.public_key ?? "",
    })),
    createTime: timestampFromDate(endpoint.create_time),
    updateTime: timestampFromDate(endpoint.update_time),
    signatureScheme:
      currentScheme(endpoint.secrets, now) === "v1a" ? SignatureScheme.V1A : SignatureScheme.V1,
    payloadFormat: endpoint.payload_format === "envelope" ? PayloadFormat.ENVELOPE : PayloadFormat.RAW,
    filter: endpoint.filter ?? "",
    transport: endpoint.listen ? EndpointTransport.LISTEN : EndpointTransport.HTTP,
  });
}

export function apiKeyMessage(key: ApiKeyDocument): ApiKey {
  return create(ApiKeySchema, {
    id: key._id,
    name: key.name,
    tenantId: key.tenant_id ?? "",
    scopes: key.scopes,
    revoked: key.revoked,
    createTime: timestampFromDate(key.create_time),
    ...(key.expire_time && { expireTime: timestampFromDate(key.expire_time) }),
  });
}

export function eventTypeMessage(type: EventTypeDocument): EventType {
  return create(EventTypeSchema, {
    tenantId: type.tenant_id,
    name: type.name,
    description: type.description,
    schema: type.schema,
    examples: type.examples,
    deprecated: type.deprecated,
    archived: type.archived,
    validatePayloads: type.validate_payloads,
    schemaVersion: type.schema_version,
    createTime: timestampFromDate(type.create_time),
    updateTime: timestampFromDate(type.update_time),
  });
}
