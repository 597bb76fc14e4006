import { type Endpoint, EndpointTransport, ErrorClass, type ListenDelivery } from "@herald/contracts";
import { formatDurationMs } from "@herald/platform/duration";
import type { Command } from "commander";
import type { Bind } from "../command.js";
import type { Context } from "../context.js";
import { describeError, UsageError } from "../errors.js";
import { deliveryLine, type LocalAnswer, postLocally, reportOf } from "../listen/forward.js";
import { listenWithReconnect } from "../listen/reconnect.js";
import { collect, parsePositiveDuration } from "../parse.js";

interface ListenOptions {
  tenant: string;
  eventType?: string[];
  channel?: string[];
  filter?: string;
  session?: string;
  keep?: boolean;
  localTimeout?: number;
}

/** Time the local receiver has to answer a delivery, unless --local-timeout says otherwise. */
export const DEFAULT_LOCAL_TIMEOUT_MS = 10_000;

/** The local URL deliveries are POSTed to: any absolute http(s) URL (Herald's URL policy does not apply). */
export function checkLocalUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`"${text}" is not a URL; expected e.g. http://localhost:3000/webhooks`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`"${text}" is not an http(s) URL; expected e.g. http://localhost:3000/webhooks`);
  }
  return url.toString();
}

export function registerListenCommand(program: Command, bind: Bind): void {
  program
    .command("listen")
    .description(
      "forward a tenant's deliveries to a URL on this machine, with no public URL: Herald streams each signed delivery here, this POSTs it to <url> and reports the answer as the attempt",
    )
    .argument("<url>", "local URL to POST each delivery to, e.g. http://localhost:3000/webhooks")
    .requiredOption("--tenant <id>", "tenant id")
    .option("--event-type <type>", "event type to take, wildcards such as order.* (repeatable)", collect)
    .option("--channel <channel>", "take only events on this channel (repeatable)", collect)
    .option("--filter <cel>", "CEL expression over the event, e.g. 'payload.amount > 100'")
    .option(
      "--session <endpoint-id>",
      "resume a listen endpoint kept with --keep: the deliveries that came meanwhile arrive now",
    )
    .option("--keep", "keep the listen endpoint when stopped, to resume it with --session")
    .option(
      "--local-timeout <duration>",
      `time <url> has to answer (default ${formatDurationMs(DEFAULT_LOCAL_TIMEOUT_MS)})`,
      parsePositiveDuration,
    )
    .action(bind(listen));
}

async function listen(ctx: Context, args: string[], options: ListenOptions): Promise<void> {
  const localUrl = checkLocalUrl(args[0] ?? "");
  const tenantId = options.tenant;
  const { endpoints, listen: stream } = ctx.clients;
  if (options.session && (options.eventType || options.channel || options.filter !== undefined)) {
    throw new UsageError(
      "--event-type, --channel and --filter make a new session; a resumed one (--session) keeps its own",
    );
  }
  const endpoint = await openSession(ctx, localUrl, options);
  const target = { tenantId, endpointId: endpoint.id };
  const { secrets } = await endpoints.getEndpointSecret(target);
  ctx.note(`herald listen: endpoint ${endpoint.id} → ${localUrl}`);
  const secret = secrets[0];
  if (secret?.secret) ctx.note(`signing secret (verify deliveries with @herald/receiver): ${secret.secret}`);
  else if (secret?.publicKey) ctx.note(`signing public key: ${secret.publicKey}`);
  if (options.keep) {
    ctx.note(
      `kept when stopped; resume with: herald listen --tenant ${tenantId} --session ${endpoint.id} ${localUrl}`,
    );
  }

  const done = new AbortController();
  const stop = ctx.io.interrupted?.(done.signal) ?? done.signal;
  const inFlight = new Set<Promise<void>>();
  const localTimeoutMs = options.localTimeout ?? DEFAULT_LOCAL_TIMEOUT_MS;
  const forward = async (delivery: ListenDelivery) => {
    const answer = await postLocally(localUrl, delivery, { timeoutMs: localTimeoutMs });
    printDelivery(ctx, delivery, answer);
    try {
      await stream.reportDelivery(reportOf(target, delivery, answer), { timeoutMs: ctx.config.timeoutMs });
    } catch (err) {
      ctx.note(`report of ${delivery.eventId} failed (${describeError(err).message}); Herald retries it`);
    }
  };
  try {
    await listenWithReconnect({
      open: (signal) => stream.listen(target, { signal }),
      onMessage(message) {
        if (message.message.case === "ready") ctx.note("connected; waiting for deliveries (Ctrl-C stops)");
        if (message.message.case !== "delivery") return;
        const forwarded = forward(message.message.value).finally(() => inFlight.delete(forwarded));
        inFlight.add(forwarded);
      },
      onDisconnect(err, waitMs) {
        ctx.note(`stream lost (${describeError(err).message}); reconnecting in ${formatDurationMs(waitMs)}`);
      },
      signal: stop,
    });
  } finally {
    await Promise.allSettled(inFlight);
    done.abort();
    if (!options.session && !options.keep) {
      await endpoints
        .deleteEndpoint(target)
        .then(() => ctx.note(`deleted listen endpoint ${endpoint.id}`))
        .catch((err) =>
          ctx.note(`listen endpoint ${endpoint.id} not deleted: ${describeError(err).message}`),
        );
    }
  }
}

/** The listen endpoint to stream: the one --session names, or a new one with the options' selection. */
async function openSession(ctx: Context, localUrl: string, options: ListenOptions): Promise<Endpoint> {
  const { endpoints } = ctx.clients;
  const tenantId = options.tenant;
  if (options.session) {
    const { endpoint } = await endpoints.getEndpoint({ tenantId, endpointId: options.session });
    if (endpoint?.transport !== EndpointTransport.LISTEN) {
      throw new UsageError(`--session: endpoint ${options.session} is not a listen endpoint`);
    }
    return endpoint;
  }
  const { endpoint } = await endpoints.createEndpoint({
    tenantId,
    transport: EndpointTransport.LISTEN,
    description: `herald listen → ${localUrl}`.slice(0, 500),
    eventTypes: options.eventType ?? [],
    channels: options.channel ?? [],
    filter: options.filter ?? "",
  });
  if (!endpoint) throw new Error("CreateEndpoint returned no endpoint");
  return endpoint;
}

function printDelivery(ctx: Context, delivery: ListenDelivery, answer: LocalAnswer): void {
  if (!ctx.json) {
    ctx.print(deliveryLine(delivery, answer, ctx.io.now()));
    return;
  }
  // One JSON object a line, as deliveries come.
  ctx.io.stdout(
    `${JSON.stringify({
      eventId: delivery.eventId,
      eventType: delivery.eventType,
      attempt: delivery.attempt,
      status: answer.status,
      latencyMs: Math.round(answer.latencyMs),
      error: answer.errorClass === ErrorClass.UNSPECIFIED ? "" : answer.errorMessage,
    })}\n`,
  );
}
