#!/usr/bin/env node
import { fileURLToPath } from "node:url";
import { loadPortalConfig } from "./config.js";
import { FrameAncestors } from "./frame-ancestors.js";
import { createPortalServer } from "./server.js";

const config = loadPortalConfig(process.env);
const server = createPortalServer({
  staticDir: fileURLToPath(new URL("../web", import.meta.url)),
  upstreams: { routing: config.HERALD_ROUTING_URL, audit: config.HERALD_AUDIT_URL },
  frameAncestors: new FrameAncestors({
    routingUrl: config.HERALD_ROUTING_URL,
    adminKey: config.HERALD_ADMIN_KEY,
  }),
});
server.listen(config.PORTAL_PORT, config.HOST, () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.PORTAL_PORT;
  process.stdout.write(
    `${JSON.stringify({ msg: "portal listening", url: `http://${config.HOST}:${port}` })}\n`,
  );
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
