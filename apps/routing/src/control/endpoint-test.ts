import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Attempt,
  AttemptTrigger,
  type DeliveryTask,
  DeliveryTaskSchema,
  type TestDeliveryReply,
} from "@herald/contracts";
import { FailedPreconditionError, InvalidArgumentError } from "@herald/platform";
import {
  describeViolation,
  type EndpointDocument,
  type EventSchemaCache,
  type EventTypeDocument,
  NoResponderError,
  ReplyTimeoutError,
  type TenantDocument,
} from "@herald/platform/model";
import { checkEventTypeName } from "./event-type-input.js";
import { newId } from "./fields.js";

// EndpointService.TestEndpoint's own rules: which type and payload a test sends, what it is refused
// for, and what delivery's answer becomes (docs/decisions/test-send.md).

/** The payload limit of a tenant without its own: ingest's default (INGEST_MAX_PAYLOAD_BYTES). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * The event type a test sends: the one asked for, or else the endpoint's first subscribed type
 * without a wildcard. An endpoint taking all types, or wildcards only, needs one named.
 */
export function testEventType(requested: string, endpoint: Pick<EndpointDocument, "event_types">): string {
  if (requested !== "") return checkEventTypeName("event_type", requested);
  const concrete = endpoint.event_types.find((type) => !type.includes("*"));
  if (concrete) return concrete;
  throw new InvalidArgumentError(
    "event_type",
    "required: the endpoint subscribes to all types or to wildcards only, so name the type to send (--type)",
  );
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * The payload a test sends: the one given, or the type's first catalog example. Refused when neither
 * exists, when it is over the tenant's payload limit, when the tenant refuses types not in its catalog,
 * and, when the type's payloads are checked (its flag or the tenant's), when it is not JSON or fails the
 * type's schema: the rules ingest applies to a published event.
 */
export function testPayload(
  given: Uint8Array,
  eventType: string,
  type: EventTypeDocument | undefined,
  tenant: TenantDocument,
  schemas: EventSchemaCache,
): Uint8Array {
  const usable = type && !type.archived ? type : undefined;
  if (!usable && tenant.settings.refuse_unknown_event_types) {
    throw new FailedPreconditionError(
      `event_type: "${eventType}" is ${type ? "archived in" : "not in"} tenant "${tenant._id}"'s event type catalog, and the tenant refuses unknown types; test a catalogued type or ${type ? "restore it" : "create it"} (herald event-types ${type ? "update --archived=false" : "create"})`,
    );
  }
  let payload = given;
  if (payload.byteLength === 0) {
    const example = usable?.examples[0];
    if (example === undefined) {
      throw new FailedPreconditionError(
        `event type "${eventType}" has no example in the tenant's catalog, so there is nothing to send; give a payload (--payload '{"…"}' or --payload @file.json) or add an example to the type (herald event-types update ${eventType} --tenant ${tenant._id} --example '…')`,
      );
    }
    payload = encoder.encode(example);
  }
  const max = tenant.settings.max_payload_bytes || DEFAULT_MAX_PAYLOAD_BYTES;
  if (payload.byteLength > max) {
    throw new InvalidArgumentError(
      "payload",
      `${payload.byteLength} bytes is over this tenant's limit of ${max} bytes`,
    );
  }
  if (!usable || usable.schema === "" || !(usable.validate_payloads || tenant.settings.validate_payloads))
    return payload;
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(payload));
  } catch {
    throw new InvalidArgumentError(
      "payload",
      `is not JSON, and event type "${eventType}" checks payloads against its JSON Schema`,
    );
  }
  const violation = schemas.check(tenant._id, usable.name, usable.schema_version, usable.schema)(json);
  if (violation) {
    throw new InvalidArgumentError(
      "payload",
      `fails the schema of event type "${eventType}" (version ${usable.schema_version}) ${describeViolation(violation)}`,
    );
  }
  return payload;
}

/** The task delivery sends: a fresh `evt_test_` id, attempt 1, trigger TEST, the caller's deadline. */
export function testTask(
  endpoint: EndpointDocument,
  eventType: string,
  payload: Uint8Array,
  now: Date,
  deadline: Date,
): DeliveryTask {
  return create(DeliveryTaskSchema, {
    eventId: newId("evt_test"),
    tenantId: endpoint.tenant_id,
    endpointId: endpoint._id,
    eventType,
    payload,
    attempt: 1,
    eventTime: timestampFromDate(now),
    dueTime: timestampFromDate(now),
    trigger: AttemptTrigger.TEST,
    replyDeadline: timestampFromDate(deadline),
  });
}

/**
 * Delivery's reply as the RPC's answer: the attempt, FAILED_PRECONDITION with why none was made, or
 * INTERNAL when delivery failed (its log has the detail, which the caller must not see).
 */
export function testAnswer(reply: TestDeliveryReply): Attempt {
  if (reply.outcome.case === "attempt") return reply.outcome.value;
  if (reply.outcome.case === "refused") throw new FailedPreconditionError(reply.outcome.value);
  throw new ConnectError("the delivery service could not send the test; its log says why", Code.Internal);
}

/** A request to delivery that failed, as the code and message a caller can act on. */
export function testSendError(err: unknown, timeoutMs: number): unknown {
  if (err instanceof NoResponderError) {
    return new ConnectError(
      "no delivery instance is running to send the test; start the delivery service and try again",
      Code.Unavailable,
    );
  }
  if (err instanceof ReplyTimeoutError) {
    return new ConnectError(
      `the delivery service did not answer within ${Math.round(timeoutMs / 1000)} s; it may be overloaded or stopping. The test may still have been sent: look for it in the endpoint's attempts (herald attempts list --tenant … --endpoint …)`,
      Code.DeadlineExceeded,
    );
  }
  return err;
}
