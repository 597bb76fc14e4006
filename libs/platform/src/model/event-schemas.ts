import type { ControlNotification } from "@herald/contracts";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { LRUCache } from "lru-cache";
import { RE2JS } from "re2js";
import { InvalidArgumentError } from "../errors.js";

// JSON Schemas of event payloads (draft 2020-12, checked and compiled by ajv). A schema is a tenant's
// input, so it is bounded before ajv sees it: compiling generates code whose size grows with the
// schema, and a regular expression runs on every payload, so patterns run on RE2 (linear time: no
// backtracking, hence no lookaround or backreferences). The bounds and their reasons:
// docs/decisions/event-type-schemas.md.

/** Largest schema, as JSON text. Compiling grows faster than the size: 1,200 properties (60 KB) took
 * seconds on a busy core, 600 (30 KB) about a second. */
export const MAX_SCHEMA_BYTES = 32 * 1024;
/** Deepest nesting of objects and arrays in a schema. */
export const MAX_SCHEMA_DEPTH = 32;
/** Longest `pattern` (or `patternProperties` key). */
export const MAX_SCHEMA_PATTERN = 256;
/** Most `pattern`s and `patternProperties` keys in one schema: each is an RE2 program to build. */
export const MAX_SCHEMA_PATTERNS = 100;
/** Largest example payload, as JSON text. */
export const MAX_EXAMPLE_BYTES = 64 * 1024;
export const MAX_EXAMPLES = 10;

const DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";

// ajv-formats is CommonJS: under ESM its function is the default export's default.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/**
 * Schema patterns as RE2 (re2js, pure JavaScript): matching takes time linear in the input, so a
 * pattern such as "^(a+)+$" cannot stall ingest on a long string as a backtracking engine would.
 */
function re2Pattern(pattern: string): { test(input: string): boolean; toString(): string } {
  const re = RE2JS.compile(RE2JS.translateRegExp(pattern));
  return { test: (input) => re.test(input), toString: () => `re2:${pattern}` };
}
re2Pattern.code = "re2Pattern";

/**
 * Options of every Ajv instance. One error is enough to refuse a payload (`allErrors` would let a
 * hostile payload make many); unknown keywords are refused (a typo such as "requird" would otherwise
 * check nothing); type and tuple hints are not errors, as the spec allows such schemas.
 */
function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: false,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    unicodeRegExp: true,
    code: { regExp: re2Pattern as never },
    // A $ref compiles to one function however often it is used; inlined, 500 refs to a large
    // definition generate code for each and take minutes to compile.
    inlineRefs: false,
    // Nothing is ever fetched: a $ref must resolve inside the schema.
    loadSchema: undefined,
  });
  addFormats(ajv);
  return ajv;
}

/** Checks schemas against the 2020-12 meta-schema: one instance, compiled on first use. */
let metaAjv: Ajv2020 | undefined;

/** Why a payload fails its schema: ajv's instancePath (a JSON pointer) and keyword. */
export interface SchemaViolation {
  /** JSON pointer into the payload, "" for the payload itself. */
  path: string;
  /** The schema keyword that failed, e.g. "type", "required". */
  rule: string;
  /** Where the rule is in the schema, e.g. "#/properties/id/type". */
  schemaPath: string;
  /** ajv's words, e.g. "must be integer". */
  message: string;
}

/** A compiled schema: the first violation of a payload (already parsed JSON), or undefined. */
export type PayloadCheck = (payload: unknown) => SchemaViolation | undefined;

function violationOf(error: ErrorObject): SchemaViolation {
  let message = error.message ?? "fails";
  if (error.keyword === "additionalProperties") {
    message += ` (${JSON.stringify((error.params as { additionalProperty: string }).additionalProperty)})`;
  } else if (error.keyword === "enum") {
    message += ` ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}`;
  }
  return { path: error.instancePath, rule: error.keyword, schemaPath: error.schemaPath, message };
}

/** "at /order/id: must be integer (rule "type" at #/properties/order/properties/id/type)". */
export function describeViolation(violation: SchemaViolation): string {
  return `at ${JSON.stringify(violation.path || "/")}: ${violation.message} (rule "${violation.rule}" at ${violation.schemaPath})`;
}

/** Walks the parsed schema: depth, local refs only, pattern lengths, $schema. */
function checkSchemaShape(field: string, schema: unknown): void {
  let patterns = 0;
  const countPattern = (path: string) => {
    if (++patterns > MAX_SCHEMA_PATTERNS) {
      throw new InvalidArgumentError(
        field,
        `has more than ${MAX_SCHEMA_PATTERNS} patterns (the last at ${path || "#"}); use "enum" or "format" where they fit`,
      );
    }
  };
  const visit = (node: unknown, path: string, depth: number): void => {
    if (depth > MAX_SCHEMA_DEPTH) {
      throw new InvalidArgumentError(
        field,
        `is nested more than ${MAX_SCHEMA_DEPTH} levels deep (at ${path}); flatten it with "$defs" and "$ref"`,
      );
    }
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        visit(item, `${path}/${i}`, depth + 1);
      });
      return;
    }
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      const at = `${path}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
      if ((key === "$ref" || key === "$dynamicRef") && typeof value === "string" && !value.startsWith("#")) {
        throw new InvalidArgumentError(
          field,
          `${key} ${JSON.stringify(value)} at ${path || "#"} points outside the schema; Herald fetches nothing, so use a local reference ("#/$defs/…") and copy the referenced schema into "$defs"`,
        );
      }
      if (key === "pattern" && typeof value === "string") countPattern(path);
      if (key === "pattern" && typeof value === "string" && value.length > MAX_SCHEMA_PATTERN) {
        throw new InvalidArgumentError(
          field,
          `the pattern at ${path || "#"} is ${value.length} characters long; at most ${MAX_SCHEMA_PATTERN}`,
        );
      }
      if (key === "patternProperties" && value !== null && typeof value === "object") {
        for (const pattern of Object.keys(value)) {
          countPattern(path);
          if (pattern.length > MAX_SCHEMA_PATTERN) {
            throw new InvalidArgumentError(
              field,
              `a patternProperties pattern at ${path || "#"} is ${pattern.length} characters long; at most ${MAX_SCHEMA_PATTERN}`,
            );
          }
        }
      }
      visit(value, at, depth + 1);
    }
  };
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    if (typeof schema === "boolean") return;
    throw new InvalidArgumentError(field, "must be a JSON Schema: a JSON object (or true/false)");
  }
  const declared = (schema as Record<string, unknown>).$schema;
  if (declared !== undefined && declared !== DRAFT_2020_12 && declared !== `${DRAFT_2020_12}#`) {
    throw new InvalidArgumentError(
      field,
      `declares "$schema": ${JSON.stringify(declared)}; Herald checks draft 2020-12 only: use "${DRAFT_2020_12}" or leave "$schema" out`,
    );
  }
  visit(schema, "#", 0);
}

/**
 * Parses, bounds and compiles a schema given as JSON text. Throws InvalidArgumentError naming `field`
 * and what to fix: not JSON, too large or deep, remote references, another draft, meta-schema errors,
 * unknown keywords or formats, regular expressions that do not compile.
 */
export function compileEventSchema(field: string, text: string): PayloadCheck {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_SCHEMA_BYTES) {
    throw new InvalidArgumentError(
      field,
      `is ${bytes} bytes long; at most ${MAX_SCHEMA_BYTES} (${MAX_SCHEMA_BYTES / 1024} KiB): move examples and long descriptions out of it`,
    );
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(field, `is not valid JSON (${(err as Error).message})`);
  }
  checkSchemaShape(field, schema);
  metaAjv ??= newAjv();
  if (!metaAjv.validateSchema(schema as object)) {
    const error = metaAjv.errors?.[0];
    const at = error ? JSON.stringify(error.instancePath || "/") : "the schema";
    throw new InvalidArgumentError(
      field,
      `is not a valid JSON Schema (draft 2020-12): at ${at}: ${error?.message ?? "invalid"}`,
    );
  }
  let validate: ValidateFunction;
  try {
    validate = newAjv().compile(schema as object);
  } catch (err) {
    const message = (err as Error).message;
    const hint = message.includes("error parsing regexp")
      ? " (patterns run on RE2, in linear time: no lookahead, lookbehind or backreferences)"
      : "";
    throw new InvalidArgumentError(field, `does not compile: ${message}${hint}`);
  }
  return (payload) => {
    if (validate(payload)) return undefined;
    const error = validate.errors?.[0];
    return error
      ? violationOf(error)
      : { path: "", rule: "schema", schemaPath: "#", message: "fails the schema" };
  };
}

/** Parses JSON text given for `field`; throws InvalidArgumentError naming it when it is not JSON. */
export function parseJsonText(field: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(field, `is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Compiled schemas by tenant, type and schema version, so each compiles once per process. A changed
 * schema has a new version, hence a new key; control notifications drop a type's entries at once.
 */
export class EventSchemaCache {
  readonly #compiled: LRUCache<string, { check: PayloadCheck }>;

  constructor(max = 1_000) {
    this.#compiled = new LRUCache({ max });
  }

  /** The compiled schema of a type's version; compiles it on first use. */
  check(tenantId: string, eventType: string, version: number, schema: string): PayloadCheck {
    const key = `${tenantId}\u0000${eventType}\u0000${version}`;
    let entry = this.#compiled.get(key);
    if (!entry) {
      entry = { check: compileEventSchema("schema", schema) };
      this.#compiled.set(key, entry);
    }
    return entry.check;
  }

  /**
   * Applies a control notification: drops the type it names, or all of the tenant's when the tenant
   * changed, or everything when notifications may have been missed. Endpoints and keys change nothing.
   */
  onControlChange(change: ControlNotification | undefined): void {
    if (change?.apiKeyId || change?.endpointId) return;
    this.invalidate(change?.tenantId, change?.eventType || undefined);
  }

  /** Drops a type's compiled versions, or all of a tenant's, or everything. */
  invalidate(tenantId?: string, eventType?: string): void {
    if (tenantId === undefined) {
      this.#compiled.clear();
      return;
    }
    const prefix = eventType === undefined ? `${tenantId}\u0000` : `${tenantId}\u0000${eventType}\u0000`;
    for (const key of [...this.#compiled.keys()]) if (key.startsWith(prefix)) this.#compiled.delete(key);
  }
}
