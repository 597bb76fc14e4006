import type { JsonObject } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { CreatePortalLinkResponseSchema } from "@herald/contracts";
import type { Command } from "commander";
import type { Bind } from "../command.js";
import { messageJson } from "../context.js";
import { formatTime } from "../format.js";
import { collect, parsePositiveDuration } from "../parse.js";

interface LinkOptions {
  tenant: string;
  endpoint?: string[];
  readOnly?: boolean;
  ttl?: number;
  linkTtl?: number;
  portalUrl?: string;
}

export const PORTAL_URL_ENV = "HERALD_PORTAL_URL";
export const DEFAULT_PORTAL_URL = "http://127.0.0.1:7005";

/**
 * The portal's address for a link: the tenant in the path (the portal frames and themes by it before
 * any call) and the code in the fragment, which browsers never send to a server or a log.
 */
export function portalLinkUrl(portalUrl: string, tenantId: string, code: string): string {
  return `${portalUrl.replace(/\/+$/, "")}/t/${encodeURIComponent(tenantId)}/#code=${code}`;
}

export function registerPortalCommands(program: Command, bind: Bind): void {
  const portal = program.command("portal").description("the tenant portal in the browser (admin keys)");

  portal
    .command("link")
    .description("mint a one-time link that opens the portal for a tenant; print its URL")
    .requiredOption("--tenant <id>", "tenant id")
    .option("--endpoint <id>", "limit the session to this endpoint (repeatable)", collect)
    .option("--read-only", "the session only reads: no changes, secret reveals or replays")
    .option("--ttl <duration>", "how long the session lasts (default 1h, at most 24h)", parsePositiveDuration)
    .option(
      "--link-ttl <duration>",
      "how long the link may wait to be opened (default 10m, at most 24h)",
      parsePositiveDuration,
    )
    .option(
      "--portal-url <url>",
      `the portal's public address (default: $${PORTAL_URL_ENV} or ${DEFAULT_PORTAL_URL})`,
    )
    .action(
      bind<LinkOptions>(async (ctx, _args, options) => {
        const res = await ctx.clients.portal.createPortalLink({
          tenantId: options.tenant,
          endpointIds: options.endpoint ?? [],
          readOnly: options.readOnly === true,
          sessionTtl: options.ttl !== undefined ? durationFromMs(options.ttl) : undefined,
          linkTtl: options.linkTtl !== undefined ? durationFromMs(options.linkTtl) : undefined,
        });
        const base = options.portalUrl ?? ctx.io.env[PORTAL_URL_ENV] ?? DEFAULT_PORTAL_URL;
        const url = portalLinkUrl(base, options.tenant, res.code);
        if (ctx.json) {
          ctx.printJson({ ...(messageJson(CreatePortalLinkResponseSchema, res) as JsonObject), url });
          return;
        }
        ctx.print(
          [
            `portal link for tenant ${options.tenant} (works once, until ${formatTime(res.expireTime)}):`,
            url,
            `session id: ${res.sessionId} (herald keys revoke ${res.sessionId} ends it)`,
          ].join("\n"),
        );
      }),
    );
}
