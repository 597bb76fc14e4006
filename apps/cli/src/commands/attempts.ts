import { create } from "@bufbuild/protobuf";
import { ListAttemptsResponseSchema } from "@herald/contracts";
import { type Command, Option } from "commander";
import type { Bind } from "../command.js";
import { printList } from "../pages.js";
import { parsePositiveCount } from "../parse.js";
import { attemptRows, auditPaging, DEFAULT_LIST_LIMIT, timeWindow } from "./events.js";

interface ListOptions {
  tenant: string;
  event?: string;
  endpoint?: string;
  failed?: boolean;
  succeeded?: boolean;
  since?: string;
  until?: string;
  limit: number;
}

export function registerAttemptCommands(program: Command, bind: Bind): void {
  const attempts = program.command("attempts").description("the log of delivery attempts");

  attempts
    .command("list")
    .description("list a tenant's delivery attempts, newest first")
    .requiredOption("--tenant <id>", "tenant id")
    .option("--event <id>", "only attempts of this event")
    .option("--endpoint <id>", "only attempts to this endpoint")
    .addOption(new Option("--failed", "only failed attempts").conflicts("succeeded"))
    .option("--succeeded", "only successful attempts")
    .option("--since <when>", "at or after: a duration back (1h, 7d) or an ISO time")
    .option("--until <when>", "before: a duration back or an ISO time")
    .option("--limit <n>", "most attempts to show", parsePositiveCount, DEFAULT_LIST_LIMIT)
    .action(
      bind<ListOptions>(async (ctx, _args, options) => {
        const window = timeWindow(options, ctx.io.now());
        const success = options.failed ? false : options.succeeded ? true : undefined;
        await printList(ctx, {
          call: (paging) =>
            ctx.clients.audit.listAttempts({
              tenantId: options.tenant,
              eventId: options.event ?? "",
              endpointId: options.endpoint ?? "",
              success,
              ...window,
              ...paging,
            }),
          items: (res) => res.attempts,
          ...auditPaging(options.limit),
          schema: ListAttemptsResponseSchema,
          response: (page) =>
            create(ListAttemptsResponseSchema, { attempts: page.items, nextPageToken: page.nextPageToken }),
          empty: "no attempts",
          rows: (attempts) => attemptRows(attempts, true),
        });
      }),
    );
}
