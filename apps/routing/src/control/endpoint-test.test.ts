import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { AttemptTrigger, TestDeliveryReplySchema } from "@herald/contracts";
import { FailedPreconditionError, InvalidArgumentError } from "@herald/platform";
import {
  type EndpointDocument,
  EventSchemaCache,
  type EventTypeDocument,
  NoResponderError,
  ReplyTimeoutError,
  type TenantDocument,
} from "@herald/platform/model";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  testAnswer,
  testEventType,
  testPayload,
  testSendError,
  testTask,
} from "./endpoint-test.js";

const NOW = new Date("2026-03-01T12:00:00Z");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const tenant = (settings: Partial<TenantDocument["settings"]> = {}): TenantDocument => ({
  _id: "t1",
  name: "t1",
  metadata: {},
  disabled: false,
  settings: { rate_limit_per_second: 0, max_payload_bytes: 0, retry_schedule_ms: [], ...settings },
  create_time: NOW,
  update_time: NOW,
});

const type = (patch: Partial<EventTypeDocument> = {}): EventTypeDocument => ({
  _id: "t1:order.created",
  tenant_id: "t1",
  name: "order.created",
  description: "",
  schema: JSON.stringify({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    required: ["id"],
    properties: { id: { type: "integer" } },
  }),
  examples: ['{"id":1}'],
  deprecated: false,
  archived: false,
  validate_payloads: true,
  schema_version: 1,
  create_time: NOW,
  update_time: NOW,
  ...patch,
});

const schemas = new EventSchemaCache();
const payloadOf = (given: string, t: EventTypeDocument | undefined, ten = tenant()) =>
  decoder.decode(testPayload(encoder.encode(given), "order.created", t, ten, schemas));

describe("testEventType", () => {
  it("takes the type asked for, else the endpoint's first type without a wildcard", () => {
    expect(testEventType("invoice.paid", { event_types: ["order.*"] })).toBe("invoice.paid");
    expect(testEventType("", { event_types: ["order.*", "order.created", "x"] })).toBe("order.created");
  });

  it("refuses a missing type for an endpoint of all types or wildcards, and a malformed one", () => {
    expect(() => testEventType("", { event_types: [] })).toThrow(/name the type to send/);
    expect(() => testEventType("", { event_types: ["order.*"] })).toThrow(InvalidArgumentError);
    expect(() => testEventType("Order Created", { event_types: [] })).toThrow(/event_type/);
  });
});

describe("testPayload", () => {
  it("sends the payload given, or the type's first example", () => {
    expect(payloadOf('{"id":7}', type())).toBe('{"id":7}');
    expect(payloadOf("", type({ examples: ['{"id":2}', '{"id":3}'] }))).toBe('{"id":2}');
  });

  it("refuses when there is neither a payload nor an example, saying what to do", () => {
    for (const t of [type({ examples: [] }), undefined]) {
      const attempt = () => payloadOf("", t);
      expect(attempt).toThrow(FailedPreconditionError);
      expect(attempt).toThrow(/--payload/);
    }
  });

  it("checks the type's schema when the type or the tenant validates payloads", () => {
    expect(() => payloadOf('{"id":"x"}', type())).toThrow(/at "\/id": must be integer/);
    expect(() => payloadOf("not json", type())).toThrow(/is not JSON/);
    const unchecked = type({ validate_payloads: false });
    expect(payloadOf('{"id":"x"}', unchecked)).toBe('{"id":"x"}');
    expect(() => payloadOf('{"id":"x"}', unchecked, tenant({ validate_payloads: true }))).toThrow(
      InvalidArgumentError,
    );
  });

  it("refuses a payload over the tenant's limit, or the default one", () => {
    expect(() => payloadOf(`"${"x".repeat(100)}"`, undefined, tenant({ max_payload_bytes: 50 }))).toThrow(
      /over this tenant's limit of 50 bytes/,
    );
    expect(() => payloadOf(`"${"x".repeat(DEFAULT_MAX_PAYLOAD_BYTES)}"`, undefined)).toThrow(
      InvalidArgumentError,
    );
  });

  it("refuses an uncatalogued or archived type when the tenant refuses unknown types", () => {
    const strict = tenant({ refuse_unknown_event_types: true });
    expect(() => payloadOf("{}", undefined, strict)).toThrow(/not in tenant "t1"'s event type catalog/);
    expect(() => payloadOf("{}", type({ archived: true }), strict)).toThrow(FailedPreconditionError);
    expect(payloadOf("{}", undefined)).toBe("{}");
  });
});

describe("testTask", () => {
  it("is attempt 1 with trigger TEST, a fresh evt_test_ id and the caller's deadline", () => {
    const endpoint = { _id: "ep_1", tenant_id: "t1" } as EndpointDocument;
    const deadline = new Date(NOW.getTime() + 20_000);
    const a = testTask(endpoint, "order.created", encoder.encode("{}"), NOW, deadline);
    const b = testTask(endpoint, "order.created", encoder.encode("{}"), NOW, deadline);
    expect(a).toMatchObject({ tenantId: "t1", endpointId: "ep_1", attempt: 1, trigger: AttemptTrigger.TEST });
    expect(a.eventId).toMatch(/^evt_test_[0-9a-f]{20}$/);
    expect(a.eventId).not.toBe(b.eventId);
    expect(Number(a.replyDeadline?.seconds)).toBe(deadline.getTime() / 1000);
  });
});

describe("testAnswer and testSendError", () => {
  it("maps delivery's refusal to FAILED_PRECONDITION with its reason, its failure to INTERNAL", () => {
    const refused = create(TestDeliveryReplySchema, {
      outcome: { case: "refused", value: "tenant is disabled" },
    });
    expect(() => testAnswer(refused)).toThrow(/tenant is disabled/);
    const failed = create(TestDeliveryReplySchema, { outcome: { case: "failed", value: true } });
    expect(() => testAnswer(failed)).toThrow(expect.objectContaining({ code: Code.Internal }));
    expect(() => testAnswer(create(TestDeliveryReplySchema))).toThrow(/could not send the test/);
  });

  it("maps no delivery instance to UNAVAILABLE and no answer in time to DEADLINE_EXCEEDED", () => {
    const none = testSendError(new NoResponderError("q"), 20_000) as ConnectError;
    expect(none.code).toBe(Code.Unavailable);
    expect(none.rawMessage).toMatch(/no delivery instance is running/);
    const late = testSendError(new ReplyTimeoutError("q", 20_000), 20_000) as ConnectError;
    expect(late.code).toBe(Code.DeadlineExceeded);
    expect(late.rawMessage).toMatch(/did not answer within 20 s/);
    const other = new Error("x");
    expect(testSendError(other, 1)).toBe(other);
    expect(none).toBeInstanceOf(ConnectError);
  });
});
