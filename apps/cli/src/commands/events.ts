import { create, type JsonObject } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Attempt,
  type Delivery,
  type EventSummary,
  GetEventResponseSchema,
  ListAttemptsResponseSchema,
  ListEventsResponseSchema,
  PublishEventResponseSchema,
  type SkippedEndpoint,
} from "@herald/contracts";
import { type Command, Option } from "commander";
import { type Bind, idArg } from "../command.js";
import type { Context } from "../context.js";
import { messageJson } from "../context.js";
import { UsageError } from "../errors.js";
import {
  attemptError,
  attemptWaited,
  deliveryStateName,
  formatList,
  formatPayload,
  formatTime,
  NONE,
  plural,
  renderFields,
  renderTable,
  skipReasonName,
  triggerName,
} from "../format.js";
import { collectPages, printList } from "../pages.js";
import { checkJsonPayload, collect, parsePositiveCount, parseTime } from "../parse.js";

/** The audit API's largest page. */
export const AUDIT_PAGE_SIZE = 200;

/** An audit list's paging for {@link printList}: at most `limit` items, in audit's largest pages. */
export function auditPaging(limit: number) {
  return { limit, maxPageSize: AUDIT_PAGE_SIZE };
}
/** Most attempts `events get` shows; an event with more is a story for `attempts list`. */
const EVENT_ATTEMPTS_LIMIT = 1_000;
export const DEFAULT_LIST_LIMIT = 50;

interface PublishOptions {
  tenant: string;
  type: string;
  data?: string;
  file?: string;
  idempotencyKey?: string;
  channel?: string[];
}

interface GetOptions {
  tenant: string;
}

interface ListOptions {
  tenant: string;
  type?: string;
  since?: string;
  until?: string;
  limit: number;
}

/** The payload from --data, --file (`-` is stdin) or stdin, checked to be a JSON object. */
async function readPayload(ctx: Context, options: PublishOptions): Promise<Uint8Array> {
  if (options.data !== undefined) return checkJsonPayload(new TextEncoder().encode(options.data), "--data");
  if (options.file !== undefined && options.file !== "-") {
    let bytes: Uint8Array;
    try {
      bytes = await ctx.io.readFile(options.file);
    } catch (err) {
      throw new UsageError(`cannot read --file ${options.file}: ${(err as Error).message}`);
    }
    return checkJsonPayload(bytes, options.file);
  }
  if (options.file === undefined && ctx.io.stdinIsTty) {
    throw new UsageError("no payload: pass --data '{...}', --file payload.json, or pipe JSON on stdin");
  }
  return checkJsonPayload(await ctx.io.readStdin(), "stdin");
}

/** An event's deliveries as a table; _waited_ is all its attempts' waits, for what the longest was. */
export function deliveryRows(deliveries: readonly Delivery[]): string {
  return renderTable(
    ["endpoint", "state", "attempts", "last status", "last attempt", "next attempt", "waited"],
    deliveries.map((d) => [
      d.endpointId,
      deliveryStateName(d.state),
      String(d.attemptCount),
      d.lastResponseStatus === 0 ? NONE : String(d.lastResponseStatus),
      formatTime(d.lastAttemptTime),
      formatTime(d.nextAttemptTime),
      attemptWaited(d),
    ]),
  );
}

/** The endpoints that did not take an event, and why; a filter's expression (and error) follow it. */
export function skippedRows(skipped: readonly SkippedEndpoint[]): string {
  return renderTable(
    ["endpoint", "why not", "filter"],
    skipped.map((s) => [
      s.endpointId,
      skipReasonName(s.reason),
      s.filter === "" ? "" : s.detail === "" ? s.filter : `${s.filter} (${s.detail})`,
    ]),
  );
}

/** Attempts as a table; `withEvent` adds the event column (lists across events). */
export function attemptRows(attempts: readonly Attempt[], withEvent: boolean): string {
  return renderTable(
    [
      "time",
      "attempt id",
      ...(withEvent ? ["event"] : []),
      "endpoint",
      "#",
      "trigger",
      "result",
      "status",
      "latency",
      "waited",
      "error",
    ],
    attempts.map((a) => [
      formatTime(a.attemptTime),
      a.id,
      ...(withEvent ? [a.eventId] : []),
      a.endpointId,
      String(a.attemptNumber),
      triggerName(a.trigger),
      a.success ? "succeeded" : "failed",
      a.responseStatus === 0 ? NONE : String(a.responseStatus),
      `${a.latencyMs}ms`,
      attemptWaited(a),
      attemptError(a),
    ]),
  );
}

export function eventRows(events: readonly EventSummary[]): string {
  return renderTable(
    ["id", "type", "channels", "idempotency key", "created"],
    events.map((e) => [
      e.id,
      e.eventType,
      formatList(e.channels),
      e.idempotencyKey || NONE,
      formatTime(e.createTime),
    ]),
  );
}

function routedText(event: EventSummary): string {
  if (!event.routed) return "not yet";
  return event.endpointIds.length === 0
    ? "yes, matched no endpoint"
    : `yes, to ${plural(event.endpointIds.length, "endpoint")}`;
}

export function eventDetails(
  event: EventSummary | undefined,
  payload: Uint8Array,
  deliveries: readonly Delivery[],
  attempts: readonly Attempt[],
  skipped: { endpoints: readonly SkippedEndpoint[]; omitted: number } = { endpoints: [], omitted: 0 },
): string {
  if (!event) return NONE;
  const skippedCount = skipped.endpoints.length + skipped.omitted;
  return [
    renderFields([
      ["event", event.id],
      ["tenant", event.tenantId],
      ["type", event.eventType],
      ["channels", formatList(event.channels)],
      ["idempotency key", event.idempotencyKey || NONE],
      ["created", formatTime(event.createTime)],
      ["routed", routedText(event)],
      ["payload", formatPayload(payload)],
    ]),
    "",
    `deliveries (${deliveries.length}):`,
    deliveries.length === 0 ? "  none" : deliveryRows(deliveries),
    "",
    `not delivered to (${skippedCount}):`,
    skippedCount === 0 ? "  none" : skippedRows(skipped.endpoints),
    ...(skipped.omitted > 0 ? [`  and ${plural(skipped.omitted, "more endpoint")}`] : []),
    "",
    `attempts (${attempts.length}, newest first):`,
    attempts.length === 0 ? "  none" : attemptRows(attempts, false),
  ].join("\n");
}

export function registerEventCommands(program: Command, bind: Bind): void {
  const events = program.command("events").description("publish events and see what happened to them");

  events
    .command("publish")
    .description("publish one event; the payload is a JSON object from --data, --file or stdin")
    .requiredOption("--tenant <id>", "tenant id")
    .requiredOption("--type <event-type>", "event type, e.g. order.created")
    .addOption(new Option("--data <json>", "the payload").conflicts("file"))
    .option("--file <path>", "read the payload from a file (- for stdin)")
    .option("--idempotency-key <key>", "publishing again with this key returns the first event")
    .option("--channel <channel>", "channel the event is published on (repeatable)", collect)
    .action(
      bind<PublishOptions>(async (ctx, _args, options) => {
        const payload = await readPayload(ctx, options);
        const res = await ctx.clients.ingest.publishEvent({
          tenantId: options.tenant,
          event: {
            eventType: options.type,
            payload,
            idempotencyKey: options.idempotencyKey ?? "",
            channels: options.channel ?? [],
          },
        });
        ctx.output(PublishEventResponseSchema, res, () =>
          res.duplicate
            ? `event ${res.eventId} (duplicate: this idempotency key was used before; nothing was published)`
            : `event ${res.eventId} published`,
        );
      }),
    );

  events
    .command("get")
    .description("show an event, its delivery to each endpoint and every attempt")
    .argument("<id>", "event id")
    .requiredOption("--tenant <id>", "tenant id")
    .action(
      bind<GetOptions>(async (ctx, args, options) => {
        const eventId = idArg(args);
        const [event, attempts] = await Promise.all([
          ctx.clients.audit.getEvent({ tenantId: options.tenant, eventId }),
          collectPages(
            async (pageSize, pageToken) => {
              const res = await ctx.clients.audit.listAttempts({
                tenantId: options.tenant,
                eventId,
                pageSize,
                pageToken,
              });
              return { items: res.attempts, nextPageToken: res.nextPageToken };
            },
            { limit: EVENT_ATTEMPTS_LIMIT, maxPageSize: AUDIT_PAGE_SIZE },
          ),
        ]);
        if (ctx.json) {
          // One document: GetEvent's answer plus the attempts, as ListAttempts spells them.
          const attemptsJson = messageJson(
            ListAttemptsResponseSchema,
            create(ListAttemptsResponseSchema, { attempts: attempts.items }),
          ) as JsonObject;
          ctx.printJson({
            ...(messageJson(GetEventResponseSchema, event) as JsonObject),
            attempts: attemptsJson.attempts ?? [],
          });
          return;
        }
        ctx.print(
          eventDetails(event.event, event.payload, event.deliveries, attempts.items, {
            endpoints: event.skippedEndpoints,
            omitted: event.skippedEndpointsOmitted,
          }),
        );
        if (attempts.nextPageToken !== "") {
          ctx.note(
            `(only the newest ${attempts.items.length} attempts; see herald attempts list --event ${eventId})`,
          );
        }
      }),
    );

  events
    .command("list")
    .description("list a tenant's events, newest first")
    .requiredOption("--tenant <id>", "tenant id")
    .option("--type <event-type>", "only this event type")
    .option("--since <when>", "created at or after: a duration back (1h, 7d) or an ISO time")
    .option("--until <when>", "created before: a duration back or an ISO time")
    .option("--limit <n>", "most events to show", parsePositiveCount, DEFAULT_LIST_LIMIT)
    .action(
      bind<ListOptions>(async (ctx, _args, options) => {
        const window = timeWindow(options, ctx.io.now());
        await printList(ctx, {
          call: (paging) =>
            ctx.clients.audit.listEvents({
              tenantId: options.tenant,
              eventType: options.type ?? "",
              ...window,
              ...paging,
            }),
          items: (res) => res.events,
          ...auditPaging(options.limit),
          schema: ListEventsResponseSchema,
          response: (page) =>
            create(ListEventsResponseSchema, { events: page.items, nextPageToken: page.nextPageToken }),
          empty: "no events",
          rows: eventRows,
        });
      }),
    );
}

/**
 * Times are parsed when the command runs, not when commander reads the option, so every relative
 * time of one command is measured from the same `now`.
 */
export function parseTimeOption(option: string, text: string, now: Date): Date {
  try {
    return parseTime(text, now);
  } catch (err) {
    throw new UsageError(`${option} ${text}: ${(err as Error).message}`);
  }
}

/** The window of a list command's `--since` / `--until`, each unset when its option is. */
export function timeWindow(
  options: { since?: string; until?: string },
  now: Date,
): { startTime?: Timestamp; endTime?: Timestamp } {
  return {
    ...(options.since
      ? { startTime: timestampFromDate(parseTimeOption("--since", options.since, now)) }
      : {}),
    ...(options.until ? { endTime: timestampFromDate(parseTimeOption("--until", options.until, now)) } : {}),
  };
}
