import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { RecoverResponseSchema, RedeliverResponseSchema, RedriveResponseSchema } from "@herald/contracts";
import type { Command } from "commander";
import type { Bind } from "../command.js";
import type { Context } from "../context.js";
import { plural } from "../format.js";
import { type RequeueResult, requeueUntilDone } from "../requeue.js";
import { parseTimeOption } from "./events.js";

interface RedeliverOptions {
  tenant: string;
  event: string;
  endpoint: string;
}

interface RecoverOptions {
  tenant: string;
  endpoint: string;
  since: string;
  until?: string;
}

interface RedriveOptions {
  tenant: string;
  endpoint?: string;
}

/** Runs Recover or Redrive to the end, with a progress line per call on stderr. */
async function requeueAll(
  ctx: Context,
  schema: typeof RecoverResponseSchema | typeof RedriveResponseSchema,
  call: () => Promise<RequeueResult>,
): Promise<void> {
  const total = await requeueUntilDone(call, (batch, sum, more) =>
    ctx.note(`requeued ${batch} (total ${sum})${more ? "…" : ""}`),
  );
  if (total.stalled) {
    ctx.note(
      "stopped: the server reports more matching deliveries but requeued none of them (their events or endpoints may be gone)",
    );
  }
  const res = create(schema, { requeued: total.requeued, truncated: total.stalled });
  ctx.output(schema, res, () => `requeued ${plural(total.requeued, "delivery", "deliveries")}`);
}

export function registerReplayCommands(program: Command, bind: Bind): void {
  program
    .command("redeliver")
    .description("send one event to one endpoint again, whatever happened before")
    .requiredOption("--tenant <id>", "tenant id")
    .requiredOption("--event <id>", "event id")
    .requiredOption("--endpoint <id>", "endpoint id")
    .action(
      bind<RedeliverOptions>(async (ctx, _args, options) => {
        const res = await ctx.clients.audit.redeliver({
          tenantId: options.tenant,
          eventId: options.event,
          endpointId: options.endpoint,
        });
        ctx.output(
          RedeliverResponseSchema,
          res,
          () => `requeued event ${options.event} for endpoint ${options.endpoint}`,
        );
      }),
    );

  program
    .command("recover")
    .description("send again every failed or dead delivery of an endpoint in a time window")
    .requiredOption("--tenant <id>", "tenant id")
    .requiredOption("--endpoint <id>", "endpoint id")
    .requiredOption("--since <when>", "window start: a duration back (2h, 1d) or an ISO time")
    .option("--until <when>", "window end (default now): a duration back or an ISO time")
    .action(
      bind<RecoverOptions>(async (ctx, _args, options) => {
        const now = ctx.io.now();
        const since = timestampFromDate(parseTimeOption("--since", options.since, now));
        // A fixed end, so deliveries that fail again while this runs are not picked up again.
        const until = timestampFromDate(options.until ? parseTimeOption("--until", options.until, now) : now);
        await requeueAll(ctx, RecoverResponseSchema, () =>
          ctx.clients.audit.recover({ tenantId: options.tenant, endpointId: options.endpoint, since, until }),
        );
      }),
    );

  program
    .command("redrive")
    .description("send again every dead-lettered delivery of a tenant, or of one endpoint")
    .requiredOption("--tenant <id>", "tenant id")
    .option("--endpoint <id>", "only this endpoint's")
    .action(
      bind<RedriveOptions>(async (ctx, _args, options) => {
        await requeueAll(ctx, RedriveResponseSchema, () =>
          ctx.clients.audit.redrive({ tenantId: options.tenant, endpointId: options.endpoint ?? "" }),
        );
      }),
    );
}
