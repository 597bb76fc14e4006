// Documents as tests insert them or hand them to the code under test: every field at its default, so a
// test states only what it is about.
import {
  defaultEndpointDocument,
  defaultTenantDocument,
  type EndpointDocument,
  type EventTypeDocument,
  eventTypeId,
  type TenantDocument,
  type TenantSettingsDocument,
} from "../model/documents.js";

/**
 * An endpoint document: enabled, every setting at its default, no secrets, created and updated at
 * `create_time` (the Unix epoch unless given); `fields` set or override any field.
 */
export function testEndpoint(fields: Partial<EndpointDocument> = {}): EndpointDocument {
  return defaultEndpointDocument(
    { _id: "ep_1", tenant_id: "t1", url: "https://example.com/hook" },
    fields.create_time ?? new Date(0),
    fields,
  );
}

/**
 * Tenant `id` (named after it): enabled, the platform's settings but for `settings`, created and updated
 * at `create_time` (the Unix epoch unless given); `fields` set or override the other fields.
 */
export function testTenant(
  id: string,
  {
    settings,
    ...fields
  }: Omit<Partial<TenantDocument>, "settings"> & { settings?: Partial<TenantSettingsDocument> } = {},
): TenantDocument {
  const tenant = defaultTenantDocument(id, fields.create_time ?? new Date(0), fields);
  return { ...tenant, settings: { ...tenant.settings, ...settings } };
}

/**
 * Event type `name` of `tenantId`: no schema, examples or description, active, its payloads checked
 * (once it has a schema), created and updated at `create_time` (the Unix epoch unless given); `fields`
 * set or override any field.
 */
export function testEventType(
  tenantId: string,
  name: string,
  fields: Partial<EventTypeDocument> = {},
): EventTypeDocument {
  const time = fields.create_time ?? new Date(0);
  return {
    _id: eventTypeId(tenantId, name),
    tenant_id: tenantId,
    name,
    description: "",
    schema: "",
    examples: [],
    deprecated: false,
    archived: false,
    validate_payloads: true,
    schema_version: 1,
    create_time: time,
    update_time: time,
    ...fields,
  };
}
