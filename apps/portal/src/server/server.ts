import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join, normalize, sep } from "node:path";
import type { FrameAncestors } from "./frame-ancestors.js";
import { COMMON_HEADERS, contentSecurityPolicy, contentTypeOf } from "./headers.js";
import { connectError, type ForwardResponse, forwardRpc, MAX_RPC_BODY_BYTES } from "./rpc-forward.js";
import type { UpstreamFetch } from "./upstream.js";

export interface PortalServerOptions {
  /** The built browser app (vite's output). */
  staticDir: string;
  upstreams: { routing: string; audit: string };
  frameAncestors: Pick<FrameAncestors, "of">;
  /** The HTTP client to the services (UpstreamClient's, with the TLS files); default fetch. */
  fetch?: UpstreamFetch;
  /** Told why a forwarded call found its service unavailable; the browser is not. */
  onUpstreamError?: (service: "routing" | "audit", error: unknown) => void;
}

const TENANT_PATH = /^\/t\/([a-zA-Z0-9_-]{1,64})(\/[^?]*)?$/;

/**
 * The portal's HTTP server: the app's files, its document under /t/<tenant>/… (with the tenant's frame
 * ancestors in its CSP), and /rpc/<service>/<method>, the one same-origin entry to the services
 * (docs/decisions/portal.md).
 */
export function createPortalServer(options: PortalServerOptions): Server {
  const files = new Map<string, Promise<Buffer | undefined>>();
  const read = (path: string) => {
    let file = files.get(path);
    if (!file) {
      file = readFile(path).catch(() => undefined);
      files.set(path, file);
    }
    return file;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://portal");
    for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value);
    if (url.pathname === "/healthz") return send(res, 200, "text/plain", "ok\n");
    if (url.pathname.startsWith("/rpc/")) return sendRpc(res, await rpc(req, url.pathname.slice(5)));
    if (req.method !== "GET" && req.method !== "HEAD")
      return send(res, 405, "text/plain", "method not allowed\n");
    if (url.pathname.startsWith("/assets/")) {
      const path = normalize(join(options.staticDir, url.pathname));
      const body = path.startsWith(options.staticDir + sep) ? await read(path) : undefined;
      if (!body) return send(res, 404, "text/plain", "not found\n");
      // Vite names assets by their content's hash: they never change under one name.
      res.setHeader("cache-control", "public, max-age=31536000, immutable");
      return send(res, 200, contentTypeOf(path), body);
    }
    const tenant = TENANT_PATH.exec(url.pathname);
    if (!tenant)
      return send(
        res,
        404,
        "text/plain",
        "not found: open the portal with a link from `herald portal link`\n",
      );
    const html = await read(join(options.staticDir, "index.html"));
    if (!html)
      return send(res, 503, "text/plain", "the portal is not built: run `npx nx run @herald/portal:build`\n");
    res.setHeader(
      "content-security-policy",
      contentSecurityPolicy(await options.frameAncestors.of(tenant[1] ?? "")),
    );
    res.setHeader("cache-control", "no-store");
    return send(res, 200, "text/html; charset=utf-8", html);
  }

  async function rpc(req: IncomingMessage, name: string): Promise<ForwardResponse> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_RPC_BODY_BYTES) return connectError(413, "resource_exhausted", "request too large");
      chunks.push(chunk);
    }
    return forwardRpc(
      { method: req.method ?? "", rpc: name, headers: req.headers, body: Buffer.concat(chunks) },
      options.upstreams,
      options.fetch,
      options.onUpstreamError,
    );
  }

  return createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, "text/plain", "internal error\n");
      else res.destroy();
    });
  });
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.statusCode = status;
  res.setHeader("content-type", type);
  res.end(body);
}

function sendRpc(res: ServerResponse, answer: ForwardResponse): void {
  res.statusCode = answer.status;
  res.setHeader("cache-control", "no-store");
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.end(answer.body);
}
