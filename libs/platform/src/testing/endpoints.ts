import type { EndpointDocument } from "../model/documents.js";

/**
 * An endpoint document as a test needs it: enabled, every setting at its default, no secrets, created
 * and updated at `create_time` (the Unix epoch unless given); `fields` set or override any field.
 */
export function testEndpoint(fields: Partial<EndpointDocument> = {}): EndpointDocument {
  const time = fields.create_time ?? new Date(0);
  return {
    _id: "ep_1",
    tenant_id: "t1",
    url: "https://example.com/hook",
    description: "",
    event_types: [],
    channels: [],
    headers: {},
    rate_limit_per_second: 0,
    max_concurrency: 0,
    disabled: false,
    disabled_reason: 0,
    retry_schedule_ms: [],
    secrets: [],
    create_time: time,
    update_time: time,
    ...fields,
  };
}
