// Test support for the audit integration tests, kept out of the build.
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuditService } from "@herald/contracts";

/** An AuditService client of the service on `port`, calling with the API key `key`. */
export function auditClient(port: number, key: string): Client<typeof AuditService> {
  const transport = createConnectTransport({
    baseUrl: `http://127.0.0.1:${port}`,
    httpVersion: "1.1",
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${key}`);
        return next(req);
      },
    ],
  });
  return createClient(AuditService, transport);
}
