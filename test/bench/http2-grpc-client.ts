// The load generator's leanest gRPC client: unary calls written on node:http2 directly (one stream per
// call: request headers, one length-prefixed protobuf message, the answer's message and its
// grpc-status trailer), with the e2e suite's gRPC client's shape so the load runs take it. It measures
// what a stock client's own work weighs in single-grpc (single-grpc-lean); the judged scenarios keep
// stock grpc-js.
import http2 from "node:http2";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  PublishEventRequestSchema,
  PublishEventResponseSchema,
  PublishEventsRequestSchema,
  PublishEventsResponseSchema,
} from "@herald/contracts";
import type { GrpcIngestClient } from "../e2e/support/clients.js";
import { publishEventInput, publishEventsInput, publishEventsResults } from "./ingest-messages.js";

/** A call that ended with a gRPC status other than OK, shaped as grpc-js's errors are. */
class GrpcStatusError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, details: string) {
    super(`${code} ${details}`);
    this.code = code;
    this.details = details;
  }
}

/** IngestService over gRPC to `baseUrl` (http://host:port), on one HTTP/2 connection. */
export function http2GrpcIngestClient(baseUrl: string): GrpcIngestClient {
  const session = http2.connect(baseUrl);
  // A connection that fails fails the calls on it; the session's own error must not end the process.
  session.on("error", () => undefined);

  const call = <I extends DescMessage, O extends DescMessage>(
    method: string,
    input: I,
    output: O,
    message: MessageInitShape<I>,
    headers: Record<string, string>,
  ) =>
    new Promise<MessageShape<O>>((resolve, reject) => {
      const body = toBinary(input, create(input, message));
      const frame = Buffer.allocUnsafe(5 + body.length);
      frame[0] = 0;
      frame.writeUInt32BE(body.length, 1);
      frame.set(body, 5);
      const stream = session.request({
        ":method": "POST",
        ":path": `/herald.v1.IngestService/${method}`,
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let details = "";
      const takeStatus = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] === undefined) return;
        status = String(h["grpc-status"]);
        details = decodeURIComponent(String(h["grpc-message"] ?? ""));
      };
      stream.on("response", takeStatus);
      stream.on("trailers", takeStatus);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("end", () => {
        if (status !== "0")
          return reject(new GrpcStatusError(Number(status ?? 2), details || "no grpc-status"));
        const answer = Buffer.concat(chunks);
        if (answer.length < 5) return reject(new GrpcStatusError(13, "no message in the answer"));
        resolve(fromBinary(output, answer.subarray(5, 5 + answer.readUInt32BE(1))));
      });
      stream.end(frame);
    });

  return {
    async publishEvent(request, token, metadata) {
      const res = await call(
        "PublishEvent",
        PublishEventRequestSchema,
        PublishEventResponseSchema,
        publishEventInput(request),
        { authorization: `Bearer ${token}`, ...metadata },
      );
      return { event_id: res.eventId, duplicate: res.duplicate };
    },
    async publishEvents(request, token) {
      return publishEventsResults(
        await call(
          "PublishEvents",
          PublishEventsRequestSchema,
          PublishEventsResponseSchema,
          publishEventsInput(request),
          { authorization: `Bearer ${token}` },
        ),
      );
    },
    close: () => session.close(),
  };
}
