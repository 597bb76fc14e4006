// The load generator's second gRPC client: connect-es's gRPC transport for Node over HTTP/2, a stock
// client as @grpc/grpc-js is, with the shape of the e2e suite's gRPC client so the load runs take either.
// What each costs the load-generating process per call is measured side by side (single-grpc-connect).
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { IngestService } from "@herald/contracts";
import type { GrpcIngestClient } from "../e2e/support/clients.js";
import { publishEventInput, publishEventsInput, publishEventsResults } from "./ingest-messages.js";

/** A refused call, with its gRPC code as grpc-js's errors carry it. */
const asGrpcError = (err: unknown) =>
  err instanceof ConnectError
    ? Object.assign(new Error(err.message), { code: err.code, details: err.rawMessage })
    : err;

/** IngestService over gRPC (HTTP/2) to `baseUrl` (http://host:port), on one connection. */
export function connectGrpcIngestClient(baseUrl: string): GrpcIngestClient {
  const sessionManager = new Http2SessionManager(baseUrl);
  const client = createClient(IngestService, createGrpcTransport({ baseUrl, sessionManager }));
  const headers = (token: string) => ({ authorization: `Bearer ${token}` });
  return {
    async publishEvent(request, token, metadata) {
      try {
        const res = await client.publishEvent(publishEventInput(request), {
          headers: { ...headers(token), ...metadata },
        });
        return { event_id: res.eventId, duplicate: res.duplicate };
      } catch (err) {
        throw asGrpcError(err);
      }
    },
    async publishEvents(request, token) {
      try {
        return publishEventsResults(
          await client.publishEvents(publishEventsInput(request), { headers: headers(token) }),
        );
      } catch (err) {
        throw asGrpcError(err);
      }
    },
    close: () => sessionManager.abort(),
  };
}
