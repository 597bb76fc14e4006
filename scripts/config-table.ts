// Writes README.md's configuration table from the services' config schemas: `npm run docs:config`. The
// schemas are imported from the services' builds, so that script builds them first (node runs this file as
// it is). Each variable's meaning and shown default live in its schema; see the note at the top of
// libs/platform/src/config.ts. test/e2e/config-table.test.ts fails when README.md's table is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatDurationMs } from "@herald/platform/duration";
import type { z } from "zod";

/** Each service's config schema module and its export, in the order of the table's services column. */
const SCHEMA_MODULES = {
  ingest: ["apps/ingest/dist/service.js", "configSchema"],
  routing: ["apps/routing/dist/service.js", "configSchema"],
  delivery: ["apps/delivery/dist/service.js", "configSchema"],
  audit: ["apps/audit/dist/config.js", "configSchema"],
  portal: ["apps/portal/dist/server/config.js", "portalConfigSchema"],
} as const;

/** The services "all" stands for; the portal, which is no RPC service, is named beside it. */
const ALL_SERVICES: readonly Service[] = ["ingest", "routing", "delivery", "audit"];

export type Service = keyof typeof SCHEMA_MODULES;
export type ConfigSchemas = Record<Service, z.ZodObject>;

const REPO_ROOT = new URL("../", import.meta.url);
export const README_PATH = fileURLToPath(new URL("README.md", REPO_ROOT));

const START_MARKER = "<!-- config-table:start";
const START_LINE = `${START_MARKER}: written by npm run docs:config from the config schemas -->`;
const END_LINE = "<!-- config-table:end -->";

interface Row {
  variable: string;
  services: string;
  default: string;
  meaning: string;
}

/** Variables that no config schema reads but operators set. */
const EXTRA_ROWS: Row[] = [
  // The OpenTelemetry SDK reads its own variables (telemetry.ts starts it).
  {
    variable: "`OTEL_*`",
    services: "all",
    default: "OpenTelemetry defaults",
    meaning: "e.g. `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_SAMPLER`, `OTEL_SDK_DISABLED`",
  },
];

/** Imports each service's `configSchema` from its build. */
export async function loadConfigSchemas(): Promise<ConfigSchemas> {
  const schemas: Partial<ConfigSchemas> = {};
  for (const [service, [path, name]] of Object.entries(SCHEMA_MODULES) as [Service, [string, string]][]) {
    const module = (await import(fileURLToPath(new URL(path, REPO_ROOT)))) as Record<string, z.ZodObject>;
    const schema = module[name];
    if (!schema) throw new Error(`${path} exports no ${name}`);
    schemas[service] = schema;
  }
  return schemas as ConfigSchemas;
}

type Meta = Record<string, unknown>;

function metaOf(schema: z.core.$ZodType): Meta {
  return ((schema as z.ZodType).meta() ?? {}) as Meta;
}

/** `field` and the schemas it wraps: the inner type of a default or optional, the input of a pipe. */
function chainOf(field: z.core.$ZodType): z.core.$ZodType[] {
  const chain: z.core.$ZodType[] = [];
  for (let schema: z.core.$ZodType | undefined = field; schema; ) {
    chain.push(schema);
    const def = schema._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    schema = def.type === "pipe" ? def.in : def.innerType;
  }
  return chain;
}

/** The first value of meta key `key` from the outside in. */
function metaValue(chain: z.core.$ZodType[], key: string): unknown {
  for (const schema of chain) {
    const value = metaOf(schema)[key];
    if (value !== undefined) return value;
  }
  return undefined;
}

function valueText(value: unknown, kind: unknown): string {
  if (value === "") return "empty";
  if (kind === "duration" && typeof value === "number") return `\`${formatDurationMs(value)}\``;
  if (kind === "durations" && Array.isArray(value)) return `\`${value.map(formatDurationMs).join(",")}\``;
  return `\`${Array.isArray(value) ? value.join(",") : String(value)}\``;
}

/** The default as the table shows it: `defaultText` if the schema gives one, else read from the schema. */
function defaultText(field: z.core.$ZodType): string {
  const chain = chainOf(field);
  const shown = metaValue(chain, "defaultText");
  if (typeof shown === "string") return shown;
  for (const schema of chain) {
    const def = schema._zod.def as { type: string; defaultValue?: unknown };
    if (def.type === "default" || def.type === "prefault") {
      return valueText(def.defaultValue, metaValue(chain, "kind"));
    }
    if (def.type === "optional") return "empty";
  }
  return "— (required)";
}

/**
 * One row per variable of any service, in the order the schemas declare them; a variable several services
 * read is one row listing them. Throws when a variable has no meaning, or means different things.
 */
export function configRows(schemas: ConfigSchemas): Row[] {
  const variables = new Map<string, { service: Service; field: z.core.$ZodType }[]>();
  for (const [service, schema] of Object.entries(schemas) as [Service, z.ZodObject][]) {
    for (const [name, field] of Object.entries(schema.shape) as [string, z.core.$ZodType][]) {
      if (metaValue(chainOf(field), "internal") === true) continue;
      variables.set(name, [...(variables.get(name) ?? []), { service, field }]);
    }
  }
  const rows: Row[] = [];
  for (const [name, uses] of variables) {
    const meanings = new Set<unknown>();
    for (const { service, field } of uses) {
      const meaning = metaValue(chainOf(field), "description");
      if (typeof meaning !== "string" || meaning === "") {
        throw new Error(
          `${name} (${service}) has no meaning for README.md: give it .describe("…") in its config schema, ` +
            "or .meta({ internal: true }) to leave it out",
        );
      }
      meanings.add(meaning);
    }
    if (meanings.size > 1) {
      throw new Error(
        `${name} has a different meaning in ${uses.map((u) => u.service).join(", ")}: ${[...meanings].join(" / ")}`,
      );
    }
    const defaults = uses.map(({ service, field }) => ({ service, text: defaultText(field) }));
    const sameDefault = defaults.every((d) => d.text === defaults[0]?.text);
    const readers = uses.map((u) => u.service);
    rows.push({
      variable: `\`${name}\``,
      services: ALL_SERVICES.every((s) => readers.includes(s))
        ? ["all", ...readers.filter((s) => !ALL_SERVICES.includes(s))].join(", ")
        : readers.join(", "),
      default: sameDefault
        ? (defaults[0]?.text ?? "")
        : defaults.map((d) => `${d.text} (${d.service})`).join(", "),
      meaning: [...meanings][0] as string,
    });
  }
  return [...rows, ...EXTRA_ROWS];
}

/** A Markdown table with its columns padded to the widest cell, as `biome format` leaves it. */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cells = [header, ...rows].map((row) => row.map((cell) => cell.replaceAll("|", "\\|")));
  const widths = header.map((_, col) => Math.max(3, ...cells.map((row) => (row[col] ?? "").length)));
  const line = (row: readonly string[]) =>
    `| ${widths.map((width, col) => (row[col] ?? "").padEnd(width)).join(" | ")} |`;
  const [head = [], ...body] = cells;
  return [line(head), line(widths.map((width) => "-".repeat(width))), ...body.map(line)].join("\n");
}

/** README.md's configuration table for `schemas`. */
export function configTable(schemas: ConfigSchemas): string {
  return markdownTable(
    ["variable", "services", "default", "meaning"],
    configRows(schemas).map((row) => [row.variable, row.services, row.default, row.meaning]),
  );
}

/** `readme` with the text between its config-table markers replaced by `table`. */
export function withConfigTable(readme: string, table: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_LINE);
  if (start < 0 || end < start)
    throw new Error(`README.md has no "${START_MARKER} -->" … "${END_LINE}" markers`);
  return `${readme.slice(0, start)}${START_LINE}\n\n${table}\n\n${readme.slice(end)}`;
}

if (import.meta.main) {
  const readme = readFileSync(README_PATH, "utf8");
  const updated = withConfigTable(readme, configTable(await loadConfigSchemas()));
  writeFileSync(README_PATH, updated);
  console.log(
    updated === readme
      ? "README.md: configuration table up to date"
      : "README.md: configuration table written",
  );
}
