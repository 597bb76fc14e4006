#!/usr/bin/env node
import { fileURLToPath } from "node:url";
import { loadPortalConfig, upstreamTlsFiles } from "./config.js";
import { FrameAncestors } from "./frame-ancestors.js";
import { createPortalServer } from "./server.js";
import { UpstreamClient } from "./upstream.js";

const log = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(fields)}\n`);

let config: ReturnType<typeof loadPortalConfig>;
let upstream: UpstreamClient;
try {
  config = loadPortalConfig(process.env);
  upstream = new UpstreamClient(upstreamTlsFiles(config), {
    onReload: (error) =>
      error
        ? log({ level: "warn", msg: "TLS files refused, the previous ones kept", error: error.message })
        : log({ level: "info", msg: "TLS files reloaded" }),
  });
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
const server = createPortalServer({
  staticDir: fileURLToPath(new URL("../web", import.meta.url)),
  upstreams: { routing: config.HERALD_ROUTING_URL, audit: config.HERALD_AUDIT_URL },
  frameAncestors: new FrameAncestors({
    routingUrl: config.HERALD_ROUTING_URL,
    adminKey: config.HERALD_ADMIN_KEY,
    fetch: upstream.fetch,
  }),
  fetch: upstream.fetch,
  onUpstreamError: (service, error) =>
    log({ level: "warn", msg: "service unavailable", service, error: causeOf(error) }),
});
server.listen(config.PORTAL_PORT, config.HOST, () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.PORTAL_PORT;
  log({ msg: "portal listening", url: `http://${config.HOST}:${port}` });
});
const stop = () => {
  server.close(() => void upstream.close().finally(() => process.exit(0)));
  server.closeIdleConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

/** fetch's "fetch failed" with the reason underneath, e.g. a certificate refused: no headers or bodies. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return [(error as Error).message, cause?.code, cause?.message].filter(Boolean).join(": ");
}
