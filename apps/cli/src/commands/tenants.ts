import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import {
  CreateTenantResponseSchema,
  DeleteTenantResponseSchema,
  DisableTenantResponseSchema,
  EnableTenantResponseSchema,
  GetTenantResponseSchema,
  ListTenantsResponseSchema,
  PortalSettingsSchema,
  type RetrySchedule,
  RetryScheduleSchema,
  type Tenant,
  type TenantSettings,
  UpdateTenantResponseSchema,
} from "@herald/contracts";
import type { Command } from "commander";
import { type Bind, idArg } from "../command.js";
import type { Context } from "../context.js";
import { AbortedError, UsageError } from "../errors.js";
import {
  formatLimit,
  formatList,
  formatRecord,
  formatSchedule,
  formatTime,
  NONE,
  renderFields,
  renderTable,
} from "../format.js";
import { printList } from "../pages.js";
import { collectKeyValue, parseCount, parseDurationList } from "../parse.js";

interface SettingsOptions {
  rateLimit?: number;
  maxPayloadBytes?: number;
  retrySchedule?: number[];
  retentionDays?: number;
  deliveryWeight?: number;
  refuseUnknownEventTypes?: boolean;
  validatePayloads?: boolean;
  portalFrameAncestors?: string;
  portalBrandColor?: string;
  portalLogoUrl?: string;
}

interface CreateOptions extends SettingsOptions {
  name: string;
  metadata?: Record<string, string>;
}

interface UpdateOptions extends SettingsOptions {
  name?: string;
  metadata?: Record<string, string>;
}

export function retrySchedule(delaysMs: readonly number[]): RetrySchedule {
  return create(RetryScheduleSchema, { delays: delaysMs.map(durationFromMs) });
}

function tenantState(tenant: Tenant): string {
  return tenant.disabled ? "disabled" : "enabled";
}

export function tenantRows(tenants: readonly Tenant[]): string {
  return renderTable(
    ["id", "name", "state", "rate limit", "max payload", "retry schedule", "created"],
    tenants.map((t) => [
      t.id,
      t.name,
      tenantState(t),
      formatLimit(t.settings?.rateLimitPerSecond ?? 0, "default"),
      formatLimit(t.settings?.maxPayloadBytes ?? 0, "default"),
      formatSchedule(t.settings?.retrySchedule?.delays),
      formatTime(t.createTime),
    ]),
  );
}

export function tenantDetails(tenant: Tenant | undefined): string {
  if (!tenant) return NONE;
  return renderFields([
    ["id", tenant.id],
    ["name", tenant.name],
    ["state", tenantState(tenant)],
    [
      "rate limit",
      formatLimit(tenant.settings?.rateLimitPerSecond ?? 0, "platform default") + perSecond(tenant),
    ],
    ["max payload", formatLimit(tenant.settings?.maxPayloadBytes ?? 0, "platform default") + bytes(tenant)],
    ["retry schedule", formatSchedule(tenant.settings?.retrySchedule?.delays, "platform default")],
    ["retention", formatLimit(tenant.settings?.retentionDays ?? 0, "platform default") + days(tenant)],
    ["delivery weight", String(tenant.settings?.deliveryWeight || 1)],
    ["unknown event types", tenant.settings?.refuseUnknownEventTypes ? "refused" : "accepted"],
    ["payload validation", tenant.settings?.validatePayloads ? "every type" : "types that ask for it"],
    ["portal framed by", formatList(tenant.settings?.portal?.frameAncestors ?? [])],
    [
      "portal look",
      [tenant.settings?.portal?.brandColor, tenant.settings?.portal?.logoUrl].filter(Boolean).join(" ") ||
        NONE,
    ],
    ["metadata", formatRecord(tenant.metadata)],
    ["created", formatTime(tenant.createTime)],
    ["updated", formatTime(tenant.updateTime)],
  ]);
}

const perSecond = (t: Tenant) => ((t.settings?.rateLimitPerSecond ?? 0) > 0 ? " events/s" : "");
const days = (t: Tenant) => ((t.settings?.retentionDays ?? 0) > 0 ? " days" : "");
const bytes = (t: Tenant) => ((t.settings?.maxPayloadBytes ?? 0) > 0 ? " bytes" : "");

/** The settings after applying the options given to `current` (UpdateTenant replaces them whole). */
export function mergeSettings(
  current: TenantSettings | undefined,
  options: SettingsOptions,
): Omit<TenantSettings, "$typeName"> {
  return {
    rateLimitPerSecond: options.rateLimit ?? current?.rateLimitPerSecond ?? 0,
    maxPayloadBytes: options.maxPayloadBytes ?? current?.maxPayloadBytes ?? 0,
    retrySchedule:
      options.retrySchedule !== undefined ? retrySchedule(options.retrySchedule) : current?.retrySchedule,
    retentionDays: options.retentionDays ?? current?.retentionDays ?? 0,
    deliveryWeight: options.deliveryWeight ?? current?.deliveryWeight ?? 0,
    refuseUnknownEventTypes: options.refuseUnknownEventTypes ?? current?.refuseUnknownEventTypes ?? false,
    validatePayloads: options.validatePayloads ?? current?.validatePayloads ?? false,
    portal: create(PortalSettingsSchema, {
      frameAncestors:
        options.portalFrameAncestors !== undefined
          ? options.portalFrameAncestors
              .split(",")
              .map((o) => o.trim())
              .filter(Boolean)
          : (current?.portal?.frameAncestors ?? []),
      brandColor: options.portalBrandColor ?? current?.portal?.brandColor ?? "",
      logoUrl: options.portalLogoUrl ?? current?.portal?.logoUrl ?? "",
    }),
  };
}

function settingsOptions(command: Command): Command {
  return command
    .option("--rate-limit <n>", "events per second the tenant may publish (0: platform default)", parseCount)
    .option("--max-payload-bytes <n>", "largest payload accepted, in bytes (0: platform default)", parseCount)
    .option(
      "--retry-schedule <delays>",
      'delays before each retry, e.g. 5s,1m,30m ("" inherits the platform\'s)',
      parseDurationList,
    )
    .option(
      "--retention-days <n>",
      "days the tenant's events, deliveries and attempts are kept (0: platform default)",
      parseCount,
    )
    .option(
      "--delivery-weight <n>",
      "the tenant's turns per round when tenants contend for ingest and delivery, 1-100 (default 1)",
      parseCount,
    )
    .option("--refuse-unknown-event-types", "refuse events whose type is not in the tenant's catalog")
    .option("--no-refuse-unknown-event-types", "accept events of any type (the default)")
    .option("--validate-payloads", "check every payload against its type's schema")
    .option("--no-validate-payloads", "check payloads only of types that ask for it (the default)")
    .option(
      "--portal-frame-ancestors <origins>",
      'origins that may embed the tenant portal, comma-separated, e.g. https://app.example.com ("" none)',
    )
    .option("--portal-brand-color <#rrggbb>", "the portal's accent colour (\"\" Herald's)")
    .option("--portal-logo-url <https-url>", 'logo in the portal\'s header ("" none)');
}

export function registerTenantCommands(program: Command, bind: Bind): void {
  const tenants = program.command("tenants").description("manage tenants (admin keys)");

  tenants
    .command("list")
    .description("list every tenant")
    .action(
      bind(async (ctx) => {
        await printList(ctx, {
          call: (paging) => ctx.clients.tenants.listTenants(paging),
          items: (res) => res.tenants,
          schema: ListTenantsResponseSchema,
          response: (page) => create(ListTenantsResponseSchema, { tenants: page.items }),
          empty: "no tenants",
          rows: tenantRows,
        });
      }),
    );

  tenants
    .command("get")
    .description("show a tenant")
    .argument("<id>", "tenant id")
    .action(
      bind(async (ctx, args) => {
        const res = await ctx.clients.tenants.getTenant({ tenantId: idArg(args) });
        ctx.output(GetTenantResponseSchema, res, () => tenantDetails(res.tenant));
      }),
    );

  settingsOptions(
    tenants
      .command("create")
      .description("create a tenant")
      .argument("[id]", "tenant id ([a-zA-Z0-9_-], 1-64 characters); generated when left out")
      .requiredOption("--name <name>", "display name")
      .option("--metadata <key=value>", "metadata entry (repeatable)", collectKeyValue),
  ).action(
    bind<CreateOptions>(async (ctx, args, options) => {
      const res = await ctx.clients.tenants.createTenant({
        tenantId: args[0] ?? "",
        name: options.name,
        metadata: options.metadata ?? {},
        settings: mergeSettings(undefined, options),
      });
      ctx.output(CreateTenantResponseSchema, res, () => tenantDetails(res.tenant));
    }),
  );

  settingsOptions(
    tenants
      .command("update")
      .description("change a tenant's name, metadata or settings; what is not given is kept")
      .argument("<id>", "tenant id")
      .option("--name <name>", "display name")
      .option(
        "--metadata <key=value>",
        "metadata entry (repeatable; replaces all metadata)",
        collectKeyValue,
      ),
  ).action(
    bind<UpdateOptions>(async (ctx, args, options) => {
      const tenantId = idArg(args);
      const changesSettings =
        options.rateLimit !== undefined ||
        options.maxPayloadBytes !== undefined ||
        options.retrySchedule !== undefined ||
        options.retentionDays !== undefined ||
        options.deliveryWeight !== undefined ||
        options.refuseUnknownEventTypes !== undefined ||
        options.validatePayloads !== undefined ||
        options.portalFrameAncestors !== undefined ||
        options.portalBrandColor !== undefined ||
        options.portalLogoUrl !== undefined;
      if (options.name === undefined && options.metadata === undefined && !changesSettings) {
        throw new UsageError("nothing to update: give --name, --metadata or a setting");
      }
      // UpdateTenant replaces settings whole: start from the current ones so unnamed settings stay.
      const current = changesSettings
        ? (await ctx.clients.tenants.getTenant({ tenantId })).tenant?.settings
        : undefined;
      const res = await ctx.clients.tenants.updateTenant({
        tenantId,
        name: options.name,
        metadata: options.metadata ? { entries: options.metadata } : undefined,
        settings: changesSettings ? mergeSettings(current, options) : undefined,
      });
      ctx.output(UpdateTenantResponseSchema, res, () => tenantDetails(res.tenant));
    }),
  );

  tenants
    .command("disable")
    .description("refuse the tenant's new events and stop its deliveries")
    .argument("<id>", "tenant id")
    .action(
      bind(async (ctx, args) => {
        const res = await ctx.clients.tenants.disableTenant({ tenantId: idArg(args) });
        ctx.output(DisableTenantResponseSchema, res, () => `tenant ${idArg(args)} disabled`);
      }),
    );

  tenants
    .command("enable")
    .description("accept the tenant's events and deliver them again")
    .argument("<id>", "tenant id")
    .action(
      bind(async (ctx, args) => {
        const res = await ctx.clients.tenants.enableTenant({ tenantId: idArg(args) });
        ctx.output(EnableTenantResponseSchema, res, () => `tenant ${idArg(args)} enabled`);
      }),
    );

  tenants
    .command("delete")
    .description(
      "delete the tenant: its keys and endpoints at once (queued deliveries are dropped), then all its events, deliveries and attempts; the id can be used again once that purge has finished",
    )
    .argument("<id>", "tenant id")
    .option("-y, --yes", "do not ask for confirmation (required when not at a terminal)")
    .action(
      bind<{ yes?: boolean }>(async (ctx, args, options) => {
        const tenantId = idArg(args);
        if (!options.yes && !(await confirmDeletion(ctx, tenantId))) {
          throw new AbortedError(`tenant ${tenantId} not deleted`);
        }
        const res = await ctx.clients.tenants.deleteTenant({ tenantId });
        ctx.output(
          DeleteTenantResponseSchema,
          res,
          () => `tenant ${tenantId} deleted; its data is being purged`,
        );
      }),
    );
}

/**
 * Asks the person at the terminal to type the tenant id. Without a terminal nobody can answer, so the
 * command refuses rather than guess: scripts pass --yes.
 */
async function confirmDeletion(ctx: Context, tenantId: string): Promise<boolean> {
  if (!ctx.io.stdinIsTty) {
    throw new UsageError(
      `deleting tenant ${tenantId} removes all its data for good; pass --yes to confirm when not at a terminal`,
    );
  }
  const answer = await ctx.io.readLine(
    `Delete tenant ${tenantId} with its keys, endpoints, events and attempts? This cannot be undone.\nType the tenant id to confirm: `,
  );
  return answer.trim() === tenantId;
}
