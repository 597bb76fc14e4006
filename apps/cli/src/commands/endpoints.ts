import { create } from "@bufbuild/protobuf";
import {
  CreateEndpointResponseSchema,
  DeleteEndpointResponseSchema,
  DisableEndpointResponseSchema,
  EnableEndpointResponseSchema,
  type Endpoint,
  GetEndpointResponseSchema,
  ListEndpointsResponseSchema,
  type PayloadFormat,
  SignatureScheme,
  UpdateEndpointResponseSchema,
} from "@herald/contracts";
import type { Command } from "commander";
import { type Bind, idArg } from "../command.js";
import { UsageError } from "../errors.js";
import {
  endpointStateName,
  formatLimit,
  formatList,
  formatRecord,
  formatSchedule,
  formatTime,
  NONE,
  payloadFormatName,
  renderFields,
  renderTable,
  signatureSchemeName,
} from "../format.js";
import { printList } from "../pages.js";
import {
  collect,
  collectKeyValue,
  parseCount,
  parseDurationList,
  parsePayloadFormat,
  parseSignatureScheme,
} from "../parse.js";
import { registerEndpointTestCommand } from "./endpoint-test.js";
import { registerHealthCommand } from "./health.js";
import { retrySchedule } from "./tenants.js";

interface TenantOption {
  tenant: string;
}

interface EndpointOptions extends TenantOption {
  url?: string;
  description?: string;
  eventType?: string[];
  channel?: string[];
  header?: Record<string, string>;
  rateLimit?: number;
  maxConcurrency?: number;
  retrySchedule?: number[];
  secret?: string;
  signatureScheme?: SignatureScheme;
  payloadFormat?: PayloadFormat;
  filter?: string;
}

interface UpdateOptions extends EndpointOptions {
  clearEventTypes?: boolean;
  clearChannels?: boolean;
  clearHeaders?: boolean;
  clearFilter?: boolean;
}

export function endpointRows(endpoints: readonly Endpoint[]): string {
  return renderTable(
    ["id", "url", "state", "event types", "channels", "created"],
    endpoints.map((e) => [
      e.id,
      e.url,
      endpointStateName(e),
      e.eventTypes.length === 0 ? "all" : e.eventTypes.join(","),
      formatList(e.channels),
      formatTime(e.createTime),
    ]),
  );
}

export function endpointDetails(endpoint: Endpoint | undefined): string {
  if (!endpoint) return NONE;
  const secrets = endpoint.secrets.map(
    (s) =>
      `${s.id} ${s.scheme === SignatureScheme.V1A ? "v1a" : "v1"} (created ${formatTime(s.createTime)}${s.expireTime ? `, expires ${formatTime(s.expireTime)}` : ", current"})`,
  );
  // Receivers verify v1a with these; they are public, so they are shown here (v1 secrets never are).
  const publicKeys = endpoint.secrets.filter((s) => s.publicKey !== "").map((s) => s.publicKey);
  return renderFields([
    ["id", endpoint.id],
    ["tenant", endpoint.tenantId],
    ["url", endpoint.url],
    ["description", endpoint.description || NONE],
    ["state", endpointStateName(endpoint)],
    ["event types", endpoint.eventTypes.length === 0 ? "all" : endpoint.eventTypes.join(",")],
    ["channels", formatList(endpoint.channels)],
    ["headers", formatRecord(endpoint.headers)],
    ["rate limit", endpoint.rateLimitPerSecond === 0 ? "unlimited" : `${endpoint.rateLimitPerSecond}/s`],
    ["max concurrency", formatLimit(endpoint.maxConcurrency, "platform default")],
    ["retry schedule", formatSchedule(endpoint.retrySchedule?.delays, "inherited from the tenant")],
    ["signature scheme", signatureSchemeName(endpoint.signatureScheme)],
    ...secrets.map((s, i) => [i === 0 ? "secrets" : "", s] as const),
    ...publicKeys.map((key, i) => [i === 0 ? "public keys" : "", key] as const),
    ["payload format", payloadFormatName(endpoint.payloadFormat)],
    ["filter", endpoint.filter || NONE],
    ["created", formatTime(endpoint.createTime)],
    ["updated", formatTime(endpoint.updateTime)],
  ]);
}

function tenantOption(command: Command): Command {
  return command.requiredOption("--tenant <id>", "tenant id");
}

function endpointOptions(command: Command, urlRequired: boolean): Command {
  if (urlRequired) command.requiredOption("--url <url>", "where deliveries are POSTed");
  else command.option("--url <url>", "where deliveries are POSTed");
  return command
    .option("--description <text>", "what the endpoint is for")
    .option("--event-type <type>", "event type to deliver, wildcards such as order.* (repeatable)", collect)
    .option("--channel <channel>", "deliver only events on this channel (repeatable)", collect)
    .option("--header <key=value>", "extra request header on every delivery (repeatable)", collectKeyValue)
    .option("--rate-limit <n>", "requests per second (0: unlimited)", parseCount)
    .option("--max-concurrency <n>", "requests in flight at once (0: platform default)", parseCount)
    .option(
      "--retry-schedule <delays>",
      'delays before each retry, e.g. 5s,1m,30m ("" inherits the tenant\'s)',
      parseDurationList,
    )
    .option(
      "--payload-format <raw|envelope>",
      'request body: the payload as published (raw), or {"type","timestamp","data"} (envelope)',
      parsePayloadFormat,
    )
    .option(
      "--filter <cel>",
      "deliver only events for which this CEL expression is true, e.g. 'payload.amount > 100'",
    );
}

export function registerEndpointCommands(program: Command, bind: Bind): void {
  const endpoints = program.command("endpoints").description("manage a tenant's webhook endpoints");

  tenantOption(endpoints.command("list").description("list a tenant's endpoints")).action(
    bind<TenantOption>(async (ctx, _args, options) => {
      await printList(ctx, {
        call: (paging) => ctx.clients.endpoints.listEndpoints({ tenantId: options.tenant, ...paging }),
        items: (res) => res.endpoints,
        schema: ListEndpointsResponseSchema,
        response: (page) => create(ListEndpointsResponseSchema, { endpoints: page.items }),
        empty: "no endpoints",
        rows: endpointRows,
      });
    }),
  );

  tenantOption(
    endpoints.command("get").description("show an endpoint").argument("<id>", "endpoint id"),
  ).action(
    bind<TenantOption>(async (ctx, args, options) => {
      const res = await ctx.clients.endpoints.getEndpoint({
        tenantId: options.tenant,
        endpointId: idArg(args),
      });
      ctx.output(GetEndpointResponseSchema, res, () => endpointDetails(res.endpoint));
    }),
  );

  endpointOptions(tenantOption(endpoints.command("create").description("create an endpoint")), true)
    .option("--secret <whsec_...>", "v1 signing secret; generated when left out")
    .option(
      "--signature-scheme <v1|v1a>",
      "v1: HMAC-SHA256 with a whsec_ secret (default); v1a: ed25519, Herald generates the key pair",
      parseSignatureScheme,
    )
    .action(
      bind<EndpointOptions>(async (ctx, _args, options) => {
        const res = await ctx.clients.endpoints.createEndpoint({
          tenantId: options.tenant,
          url: options.url ?? "",
          description: options.description ?? "",
          eventTypes: options.eventType ?? [],
          channels: options.channel ?? [],
          headers: options.header ?? {},
          rateLimitPerSecond: options.rateLimit ?? 0,
          maxConcurrency: options.maxConcurrency ?? 0,
          retrySchedule: options.retrySchedule ? retrySchedule(options.retrySchedule) : undefined,
          secret: options.secret ?? "",
          signatureScheme: options.signatureScheme,
          payloadFormat: options.payloadFormat,
          filter: options.filter ?? "",
        });
        ctx.output(CreateEndpointResponseSchema, res, () => endpointDetails(res.endpoint));
      }),
    );

  endpointOptions(
    tenantOption(
      endpoints
        .command("update")
        .description("change an endpoint; what is not given is kept, lists and headers given are replaced")
        .argument("<id>", "endpoint id"),
    ),
    false,
  )
    .option("--clear-event-types", "deliver every event type")
    .option("--clear-channels", "deliver events of every channel")
    .option("--clear-headers", "send no extra headers")
    .option("--clear-filter", "remove the filter: deliver every matching event")
    .action(
      bind<UpdateOptions>(async (ctx, args, options) => {
        const eventTypes = options.clearEventTypes ? [] : options.eventType;
        const channels = options.clearChannels ? [] : options.channel;
        const headers = options.clearHeaders ? {} : options.header;
        const update = {
          url: options.url,
          description: options.description,
          eventTypes: eventTypes ? { values: eventTypes } : undefined,
          channels: channels ? { values: channels } : undefined,
          headers: headers ? { entries: headers } : undefined,
          rateLimitPerSecond: options.rateLimit,
          maxConcurrency: options.maxConcurrency,
          retrySchedule: options.retrySchedule ? retrySchedule(options.retrySchedule) : undefined,
          payloadFormat: options.payloadFormat,
          filter: options.clearFilter ? "" : options.filter,
        };
        if (Object.values(update).every((v) => v === undefined)) {
          throw new UsageError("nothing to update: give at least one option to change");
        }
        const res = await ctx.clients.endpoints.updateEndpoint({
          tenantId: options.tenant,
          endpointId: idArg(args),
          ...update,
        });
        ctx.output(UpdateEndpointResponseSchema, res, () => endpointDetails(res.endpoint));
      }),
    );

  tenantOption(
    endpoints
      .command("disable")
      .description("stop delivering to an endpoint")
      .argument("<id>", "endpoint id"),
  ).action(
    bind<TenantOption>(async (ctx, args, options) => {
      const res = await ctx.clients.endpoints.disableEndpoint({
        tenantId: options.tenant,
        endpointId: idArg(args),
      });
      ctx.output(DisableEndpointResponseSchema, res, () => `endpoint ${idArg(args)} disabled`);
    }),
  );

  tenantOption(
    endpoints.command("enable").description("deliver to an endpoint again").argument("<id>", "endpoint id"),
  ).action(
    bind<TenantOption>(async (ctx, args, options) => {
      const res = await ctx.clients.endpoints.enableEndpoint({
        tenantId: options.tenant,
        endpointId: idArg(args),
      });
      ctx.output(EnableEndpointResponseSchema, res, () => `endpoint ${idArg(args)} enabled`);
    }),
  );

  tenantOption(
    endpoints.command("delete").description("delete an endpoint").argument("<id>", "endpoint id"),
  ).action(
    bind<TenantOption>(async (ctx, args, options) => {
      const res = await ctx.clients.endpoints.deleteEndpoint({
        tenantId: options.tenant,
        endpointId: idArg(args),
      });
      ctx.output(DeleteEndpointResponseSchema, res, () => `endpoint ${idArg(args)} deleted`);
    }),
  );

  registerHealthCommand(endpoints, bind);
  registerEndpointTestCommand(endpoints, bind);
}
