import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { DeliveryTask } from "@herald/contracts";
import {
  type EndpointDocument,
  endpointHeaders,
  type SecretBox,
  signingSecrets,
} from "@herald/platform/model";
import { signatureHeader } from "./signature.js";

/** The header that names the event's type on every delivery; see docs/decisions/event-type-header.md. */
export const EVENT_TYPE_HEADER = "webhook-event-type";

/** What is POSTed to an endpoint: headers and the exact bytes signed. */
export interface WebhookRequest {
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface WebhookRequestInput {
  task: DeliveryTask;
  endpoint: EndpointDocument;
  box: SecretBox;
  userAgent: string;
  /** When the attempt begins, in ms since the epoch: the signature's timestamp. */
  now: number;
}

/**
 * The request for one attempt: the endpoint's own headers, the Standard Webhooks id, timestamp and
 * signature, the event type, and the body in the endpoint's payload format, signed over the bytes sent.
 */
export function webhookRequest({ task, endpoint, box, userAgent, now }: WebhookRequestInput): WebhookRequest {
  const timestamp = Math.floor(now / 1000);
  const body =
    endpoint.payload_format === "envelope"
      ? envelopeBody(
          task.eventType,
          task.eventTime ? timestampDate(task.eventTime) : new Date(now),
          task.payload,
        )
      : task.payload;
  return {
    headers: {
      // Opened only here, to build the request: never logged, traced or recorded.
      ...endpointHeaders(endpoint, box),
      "content-type": "application/json",
      "user-agent": userAgent,
      "webhook-id": task.eventId,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signatureHeader(
        signingSecrets(endpoint, box, new Date(now)),
        task.eventId,
        timestamp,
        body,
      ),
      [EVENT_TYPE_HEADER]: task.eventType,
    },
    body,
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** The payload as JSON text, or undefined when it is not UTF-8 JSON. */
function jsonText(payload: Uint8Array): string | undefined {
  try {
    const text = utf8.decode(payload);
    JSON.parse(text);
    return text;
  } catch {
    return undefined;
  }
}

/**
 * The Standard Webhooks envelope: `{"type","timestamp","data"}` with the payload's own bytes as `data`,
 * so what the publisher wrote reaches the receiver unchanged inside it. A payload that is not UTF-8 JSON
 * cannot be `data`; it goes base64-encoded as `data_base64`, the member CloudEvents' JSON format uses for
 * binary data, so nothing is lost and the receiver can tell which it got.
 */
export function envelopeBody(eventType: string, eventTime: Date, payload: Uint8Array): Uint8Array {
  const head = `{"type":${JSON.stringify(eventType)},"timestamp":${JSON.stringify(eventTime.toISOString())},`;
  const json = jsonText(payload);
  if (json === undefined) {
    return encoder.encode(`${head}"data_base64":${JSON.stringify(Buffer.from(payload).toString("base64"))}}`);
  }
  return encoder.encode(`${head}"data":${json.trim()}}`);
}
