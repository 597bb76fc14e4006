import { create } from "@bufbuild/protobuf";
import {
  ArchiveEventTypeResponseSchema,
  CreateEventTypeResponseSchema,
  type EventType,
  GetEventTypeResponseSchema,
  ListEventTypesResponseSchema,
  UpdateEventTypeResponseSchema,
} from "@herald/contracts";
import type { Command } from "commander";
import { type Bind, idArg } from "../command.js";
import type { Context } from "../context.js";
import { UsageError } from "../errors.js";
import { formatTime, NONE, renderFields, renderTable, truncate } from "../format.js";
import { printList } from "../pages.js";
import { collect } from "../parse.js";

interface TenantOption {
  tenant: string;
}

interface EventTypeOptions extends TenantOption {
  description?: string;
  schemaFile?: string;
  example?: string[];
  exampleFile?: string[];
  deprecated?: boolean;
  validatePayloads?: boolean;
}

interface UpdateOptions extends EventTypeOptions {
  archived?: boolean;
  clearSchema?: boolean;
  clearExamples?: boolean;
}

function typeState(type: EventType): string {
  if (type.archived) return "archived";
  return type.deprecated ? "deprecated" : "active";
}

export function eventTypeRows(types: readonly EventType[]): string {
  return renderTable(
    ["name", "state", "schema", "validates", "description"],
    types.map((t) => [
      t.name,
      typeState(t),
      t.schema === "" ? NONE : `v${t.schemaVersion}`,
      t.validatePayloads ? "yes" : "no",
      truncate(t.description, 60) || NONE,
    ]),
  );
}

export function eventTypeDetails(type: EventType | undefined): string {
  if (!type) return NONE;
  return renderFields([
    ["name", type.name],
    ["tenant", type.tenantId],
    ["description", type.description || NONE],
    ["state", typeState(type)],
    ["validates payloads", type.validatePayloads ? "yes" : "no (unless the tenant validates every type)"],
    ["schema version", type.schema === "" ? NONE : String(type.schemaVersion)],
    ["schema", type.schema || NONE],
    ...type.examples.map((e, i) => [i === 0 ? "examples" : "", e] as const),
    ["created", formatTime(type.createTime)],
    ["updated", formatTime(type.updateTime)],
  ]);
}

async function readText(ctx: Context, path: string, option: string): Promise<string> {
  try {
    return new TextDecoder().decode(await (path === "-" ? ctx.io.readStdin() : ctx.io.readFile(path)));
  } catch (err) {
    throw new UsageError(`cannot read ${option} ${path}: ${(err as Error).message}`);
  }
}

/** Examples from --example (JSON text) and --example-file, in that order; undefined when none given. */
async function readExamples(ctx: Context, options: EventTypeOptions): Promise<string[] | undefined> {
  if (options.example === undefined && options.exampleFile === undefined) return undefined;
  const files = await Promise.all(
    (options.exampleFile ?? []).map((path) => readText(ctx, path, "--example-file")),
  );
  return [...(options.example ?? []), ...files];
}

function tenantOption(command: Command): Command {
  return command.requiredOption("--tenant <id>", "tenant id");
}

function eventTypeOptions(command: Command): Command {
  return command
    .option("--description <text>", "what the event means and when it is sent")
    .option("--schema-file <path>", "JSON Schema (draft 2020-12) of the payload (- for stdin)")
    .option("--example <json>", "an example payload; it must pass the schema (repeatable)", collect)
    .option("--example-file <path>", "an example payload from a file (repeatable)", collect)
    .option("--deprecated", "mark the type deprecated: still accepted, but on its way out")
    .option("--validate-payloads", "refuse published payloads that fail the schema");
}

export function registerEventTypeCommands(program: Command, bind: Bind): void {
  const types = program
    .command("event-types")
    .description("manage a tenant's event type catalog: descriptions, JSON Schemas, examples");

  tenantOption(types.command("list").description("list a tenant's event types"))
    .option("--include-archived", "list archived types too")
    .action(
      bind<TenantOption & { includeArchived?: boolean }>(async (ctx, _args, options) => {
        await printList(ctx, {
          call: (paging) =>
            ctx.clients.eventTypes.listEventTypes({
              tenantId: options.tenant,
              includeArchived: options.includeArchived ?? false,
              ...paging,
            }),
          items: (res) => res.eventTypes,
          schema: ListEventTypesResponseSchema,
          response: (page) => create(ListEventTypesResponseSchema, { eventTypes: page.items }),
          empty: "no event types",
          rows: eventTypeRows,
        });
      }),
    );

  tenantOption(
    types.command("get").description("show an event type with its schema").argument("<name>", "type name"),
  ).action(
    bind<TenantOption>(async (ctx, args, options) => {
      const res = await ctx.clients.eventTypes.getEventType({ tenantId: options.tenant, name: idArg(args) });
      ctx.output(GetEventTypeResponseSchema, res, () => eventTypeDetails(res.eventType));
    }),
  );

  eventTypeOptions(
    tenantOption(
      types
        .command("create")
        .description("add an event type to the catalog")
        .argument("<name>", 'type name, e.g. "order.created"'),
    ),
  ).action(
    bind<EventTypeOptions>(async (ctx, args, options) => {
      const res = await ctx.clients.eventTypes.createEventType({
        tenantId: options.tenant,
        name: idArg(args),
        description: options.description ?? "",
        schema: options.schemaFile ? await readText(ctx, options.schemaFile, "--schema-file") : "",
        examples: (await readExamples(ctx, options)) ?? [],
        deprecated: options.deprecated ?? false,
        validatePayloads: options.validatePayloads ?? false,
      });
      ctx.output(CreateEventTypeResponseSchema, res, () => eventTypeDetails(res.eventType));
    }),
  );

  eventTypeOptions(
    tenantOption(
      types
        .command("update")
        .description("change an event type; what is not given is kept, examples given replace them all")
        .argument("<name>", "type name"),
    ),
  )
    .option("--no-deprecated", "no longer deprecated")
    .option("--no-validate-payloads", "accept payloads whatever the schema says")
    .option("--archived", "archive the type (as event-types archive)")
    .option("--no-archived", "restore an archived type")
    .option("--clear-schema", "remove the schema (payload validation must be off)")
    .option("--clear-examples", "remove the examples")
    .action(
      bind<UpdateOptions>(async (ctx, args, options) => {
        if (options.clearSchema && options.schemaFile) {
          throw new UsageError("give --schema-file or --clear-schema, not both");
        }
        const examples = options.clearExamples ? [] : await readExamples(ctx, options);
        const update = {
          description: options.description,
          schema: options.clearSchema
            ? ""
            : options.schemaFile
              ? await readText(ctx, options.schemaFile, "--schema-file")
              : undefined,
          examples: examples ? { items: examples } : undefined,
          deprecated: options.deprecated,
          archived: options.archived,
          validatePayloads: options.validatePayloads,
        };
        if (Object.values(update).every((v) => v === undefined)) {
          throw new UsageError("nothing to update: give at least one option to change");
        }
        const res = await ctx.clients.eventTypes.updateEventType({
          tenantId: options.tenant,
          name: idArg(args),
          ...update,
        });
        ctx.output(UpdateEventTypeResponseSchema, res, () => eventTypeDetails(res.eventType));
      }),
    );

  tenantOption(
    types
      .command("archive")
      .description("archive an event type: hidden from lists, refused by tenants that refuse unknown types")
      .argument("<name>", "type name"),
  ).action(
    bind<TenantOption>(async (ctx, args, options) => {
      const res = await ctx.clients.eventTypes.archiveEventType({
        tenantId: options.tenant,
        name: idArg(args),
      });
      ctx.output(ArchiveEventTypeResponseSchema, res, () => `event type ${idArg(args)} archived`);
    }),
  );
}
