import {
  type CelInput,
  CelScalar,
  celEnv,
  celError,
  celFunc,
  celList,
  celMap,
  isCelError,
  isCelMap,
  listType,
  parse,
  plan,
} from "@bufbuild/cel";
import { RE2JS } from "@bufbuild/re2";

/** The longest filter expression accepted. */
export const MAX_FILTER_LENGTH = 1024;
/** The most syntax-tree nodes (after macro expansion) a filter may have. */
export const MAX_FILTER_NODES = 200;
/**
 * Steps one evaluation may take: payload list elements visited (by `in`, `==`, indexing or a
 * comprehension) plus map entries a comprehension ranges over. About 0.3-1 µs each.
 */
export const MAX_FILTER_STEPS = 2000;
/** Larger payloads are not parsed for filters: a filter reading `payload` then fails (no match). */
export const MAX_FILTER_PAYLOAD_BYTES = 64 * 1024;

/** The variables a filter sees. */
const VARIABLES = {
  type: CelScalar.STRING,
  channels: listType(CelScalar.STRING),
  tenant_id: CelScalar.STRING,
  payload: CelScalar.DYN,
} as const;

type ParsedExpr = ReturnType<typeof parse>;
type Expr = ParsedExpr["expr"];

/** Why an expression is not a filter, and where (1-based). */
export class FilterSyntaxError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(problem: string, line: number, column: number) {
    super(`${problem} at ${line}:${column}`);
    this.name = "FilterSyntaxError";
    this.line = line;
    this.column = column;
  }
}

/** The event as a filter sees it; `payload` is parsed on first use and shared by every endpoint. */
export interface FilterEvent {
  type: string;
  channels: readonly string[];
  tenantId: string;
  payload: Uint8Array;
}

/** A filter's verdict: `error` says why evaluating it failed (which counts as no match). */
export type FilterOutcome = { match: boolean; error?: string };

export interface CompiledFilter {
  readonly source: string;
  evaluate(event: FilterBindings): FilterOutcome;
}

// @bufbuild/cel has no cost limit of its own, so Herald counts steps: the payload's lists count each
// element visited (BudgetedList), and comprehension ranges that are maps count their entries
// (RANGE_FUNCTION wraps every range). Evaluation is synchronous, so one counter will do.
let stepsLeft = MAX_FILTER_STEPS;

class StepBudgetExceeded extends Error {
  constructor() {
    super(`took more than ${MAX_FILTER_STEPS} steps`);
  }
}

function spend(steps: number): void {
  stepsLeft -= steps;
  if (stepsLeft < 0) throw new StepBudgetExceeded();
}

// @bufbuild/cel's own array-backed list, counting element visits. Its class is not exported, hence the
// prototype; it stays a CelList for the evaluator.
const ArrayList = Object.getPrototypeOf(celList([])).constructor as new (
  array: readonly unknown[],
) => {
  get(index: number): unknown;
  values(): IterableIterator<unknown>;
};
class BudgetedList extends ArrayList {
  override get(index: number): unknown {
    spend(1);
    return super.get(index);
  }
  override *values(): IterableIterator<unknown> {
    for (const value of super.values()) {
      spend(1);
      yield value;
    }
  }
}

const RANGE_FUNCTION = "herald_bounded_range";
const boundedRange = celFunc(RANGE_FUNCTION, [CelScalar.DYN], CelScalar.DYN, (range) => {
  if (isCelMap(range)) spend(range.size);
  return range as never;
});

// @bufbuild/cel compiles a `matches` pattern on every call (a few µs, more than the rest of a filter);
// its `re2` option lets the environment bring its own engine, so Herald's keeps each pattern compiled.
// Patterns are literals (checkTree), so the kept ones are those of stored filters; past the bound the
// oldest goes and is compiled again if still in use.
const MAX_PATTERNS = 1_000;
const patterns = new Map<string, RE2JS>();

function compilePattern(pattern: string): RE2JS {
  let compiled = patterns.get(pattern);
  if (!compiled) {
    compiled = RE2JS.compile(pattern);
    if (patterns.size >= MAX_PATTERNS) patterns.delete(patterns.keys().next().value as string);
    patterns.set(pattern, compiled);
  }
  return compiled;
}

const env = celEnv({ variables: VARIABLES, funcs: [boundedRange], re2: { compile: compilePattern } });

/** Functions whose result is never a bool: a filter made of one of them cannot be true. */
const NOT_BOOL_FUNCTIONS = new Set([
  "_+_",
  "_-_",
  "_*_",
  "_/_",
  "_%_",
  "-_",
  "size",
  "int",
  "uint",
  "double",
  "string",
  "bytes",
  "timestamp",
  "duration",
  "type",
]);

/**
 * Parses, checks and plans a filter. Refuses (FilterSyntaxError) what does not parse, names an unknown
 * variable, cannot return a bool, or could cost too much: longer than MAX_FILTER_LENGTH, more than
 * MAX_FILTER_NODES nodes, a comprehension inside another (its cost is the product of two list
 * sizes), or `matches` with a pattern that is not a literal (a pattern taken from the payload could
 * cost the product of two payload sizes).
 */
export function compileFilter(source: string): CompiledFilter {
  if (source.length > MAX_FILTER_LENGTH) {
    const { line, column } = position(source, MAX_FILTER_LENGTH);
    throw new FilterSyntaxError(
      `is ${source.length} characters long; at most ${MAX_FILTER_LENGTH}`,
      line,
      column,
    );
  }
  let parsed: ParsedExpr;
  try {
    parsed = parse(source);
  } catch (err) {
    const e = err as { rawMessage?: string; message?: string; location?: { start: Position } };
    const start = e.location?.start ?? { line: 1, column: 1 };
    throw new FilterSyntaxError(
      e.rawMessage ?? String(e.message ?? err),
      start.line,
      // The parser counts columns from 1 already only for some errors; never show column 0.
      Math.max(1, start.column),
    );
  }
  const at = (expr: Expr) => position(source, parsed.sourceInfo?.positions[String(expr.id)] ?? 0);
  checkTree(parsed.expr, at);
  checkResultType(parsed.expr, at);
  const program = plan(env, parsed);
  return {
    source,
    evaluate(bindings) {
      stepsLeft = MAX_FILTER_STEPS;
      try {
        const result = program(bindings.values() as never);
        if (isCelError(result)) return { match: false, error: result.message };
        if (typeof result !== "boolean") return { match: false, error: "the filter did not return a bool" };
        return { match: result };
      } catch (err) {
        return { match: false, error: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}

interface Position {
  line: number;
  column: number;
}

function position(source: string, offset: number): Position {
  const before = [...source].slice(0, offset).join("");
  const lines = before.split("\n");
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/** Walks the tree: unknown variables, size, nesting, literal patterns; wraps comprehension ranges. */
function checkTree(root: Expr, at: (expr: Expr) => Position): void {
  let nodes = 0;
  const fail = (expr: Expr, problem: string): never => {
    const { line, column } = at(expr);
    throw new FilterSyntaxError(problem, line, column);
  };
  const walk = (expr: Expr | undefined, scope: ReadonlySet<string>, inComprehension: boolean): void => {
    if (!expr) return;
    nodes++;
    if (nodes > MAX_FILTER_NODES) fail(expr, `is too complex: more than ${MAX_FILTER_NODES} terms`);
    const kind = expr.exprKind;
    switch (kind.case) {
      case "identExpr":
        if (!(kind.value.name in VARIABLES) && !scope.has(kind.value.name)) {
          fail(
            expr,
            `undeclared reference to "${kind.value.name}": use type, channels, tenant_id or payload`,
          );
        }
        return;
      case "selectExpr": {
        const operand = kind.value.operand;
        walk(operand, scope, inComprehension);
        // `payload.a.b` would be looked up as the qualified names "payload.a.b" and "payload.a" (in the
        // protobuf registry too) before the variable, on every evaluation. Filters have no qualified
        // names (every identifier is a variable), so the variable is read as a value: dyn(payload).a.b.
        if (operand?.exprKind.case === "identExpr") kind.value.operand = call("dyn", operand);
        return;
      }
      case "callExpr":
        if (kind.value.function === "matches") {
          const pattern = kind.value.args.at(-1);
          if (pattern?.exprKind.case !== "constExpr") fail(expr, "matches() takes a literal pattern");
          const literal =
            pattern?.exprKind.case === "constExpr" ? pattern.exprKind.value.constantKind : undefined;
          if (literal?.case === "stringValue") {
            try {
              compilePattern(literal.value);
            } catch (err) {
              fail(pattern as Expr, `is not a valid pattern: ${err instanceof Error ? err.message : err}`);
            }
          }
        }
        walk(kind.value.target, scope, inComprehension);
        for (const arg of kind.value.args) walk(arg, scope, inComprehension);
        return;
      case "listExpr":
        for (const element of kind.value.elements) walk(element, scope, inComprehension);
        return;
      case "structExpr":
        if (kind.value.messageName) fail(expr, "message construction is not supported");
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === "mapKey") walk(entry.keyKind.value, scope, inComprehension);
          walk(entry.value, scope, inComprehension);
        }
        return;
      case "comprehensionExpr": {
        const c = kind.value;
        if (inComprehension) {
          fail(expr, "a comprehension (map, filter, all, exists) inside another is not allowed");
        }
        walk(c.iterRange, scope, inComprehension);
        walk(c.accuInit, scope, inComprehension);
        const inner = new Set([...scope, c.iterVar, c.accuVar, ...(c.iterVar2 ? [c.iterVar2] : [])]);
        walk(c.loopCondition, inner, true);
        walk(c.loopStep, inner, true);
        walk(c.result, new Set([...scope, c.accuVar]), true);
        if (c.iterRange) {
          c.iterRange = call(RANGE_FUNCTION, c.iterRange);
        }
        return;
      }
      default:
        return;
    }
  };
  walk(root, new Set(), false);
}

/** A call of `fn` on `arg`, in place of `arg` (with its id, so errors still point at it). */
function call(fn: string, arg: Expr): Expr {
  return {
    ...arg,
    exprKind: { case: "callExpr", value: { $typeName: "cel.expr.Expr.Call", function: fn, args: [arg] } },
  } as Expr;
}

/** Refuses a filter whose outermost term can only be something other than a bool. */
function checkResultType(expr: Expr | undefined, at: (expr: Expr) => Position): void {
  if (!expr) return;
  const kind = expr.exprKind;
  let what: string | undefined;
  switch (kind.case) {
    case "constExpr":
      if (kind.value.constantKind.case !== "boolValue") what = "a constant";
      break;
    case "listExpr":
      what = "a list";
      break;
    case "structExpr":
      what = "a map";
      break;
    case "identExpr":
      if (kind.value.name !== "payload") what = `"${kind.value.name}"`;
      break;
    case "callExpr":
      if (kind.value.function === "_?_:_") {
        checkResultType(kind.value.args[1], at);
        checkResultType(kind.value.args[2], at);
      } else if (NOT_BOOL_FUNCTIONS.has(kind.value.function)) {
        what = `the result of ${kind.value.function.replaceAll("_", "")}`;
      }
      break;
    case "comprehensionExpr":
      if (kind.value.accuInit?.exprKind.case === "listExpr") what = "a list (map or filter)";
      break;
  }
  if (what) {
    const { line, column } = at(expr);
    throw new FilterSyntaxError(`must return a bool, but returns ${what}`, line, column);
  }
}

/**
 * What filters see of one event. The payload is parsed once, on first use: JSON as CEL values (every
 * number a double), null when it is not JSON; a payload over MAX_FILTER_PAYLOAD_BYTES makes every
 * filter reading it fail.
 */
export class FilterBindings {
  readonly #event: FilterEvent;
  #values: Record<string, unknown> | undefined;

  constructor(event: FilterEvent) {
    this.#event = event;
  }

  values(): Record<string, unknown> {
    this.#values ??= new FilterValues(this.#event) as unknown as Record<string, unknown>;
    return this.#values;
  }
}

/**
 * The variables as CEL values, made once per event: a plain array would become a CEL list on every
 * read, in every filter. The payload is parsed on the first read of `payload` (the activation reads
 * a variable as a property), so filters over type and channels alone never parse it.
 */
class FilterValues {
  readonly type: string;
  readonly channels: unknown;
  readonly tenant_id: string;
  readonly #payload: Uint8Array;
  #parsed: unknown;
  #isParsed = false;

  constructor(event: FilterEvent) {
    this.type = event.type;
    this.channels = celList([...event.channels]);
    this.tenant_id = event.tenantId;
    this.#payload = event.payload;
  }

  get payload(): unknown {
    if (!this.#isParsed) {
      this.#parsed = parsePayload(this.#payload);
      this.#isParsed = true;
    }
    return this.#parsed;
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function parsePayload(payload: Uint8Array): unknown {
  if (payload.byteLength > MAX_FILTER_PAYLOAD_BYTES) {
    return celError(`the payload is larger than ${MAX_FILTER_PAYLOAD_BYTES} bytes: filters cannot read it`);
  }
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(payload));
  } catch {
    return null;
  }
  return celValue(json);
}

// CEL values made once per event: @bufbuild/cel would otherwise copy a plain object into a map on every
// access, in every filter. An object's fields become CEL values on their first read (JsonObjectMap), so
// a filter reading two fields of a payload converts those two, not the whole tree.
function celValue(json: unknown): CelInput {
  if (Array.isArray(json)) return new BudgetedList(json.map(celValue)) as unknown as CelInput;
  if (json !== null && typeof json === "object") {
    return new JsonObjectMap(json as Record<string, unknown>) as unknown as CelInput;
  }
  return json as CelInput;
}

// @bufbuild/cel's own map class, as for lists: its class is not exported, hence the prototype; it stays a
// CelMap for the evaluator. Every method is answered from the JSON object, so the (empty) map handed to
// the constructor is never read.
const NativeMap = Object.getPrototypeOf(celMap(new Map())).constructor as new (
  map: ReadonlyMap<string, unknown>,
) => { has(key: unknown): boolean };
const NO_ENTRIES: ReadonlyMap<string, unknown> = new Map();

class JsonObjectMap extends NativeMap {
  readonly #object: Record<string, unknown>;
  #converted: Map<string, unknown> | undefined;
  // Listed once: `size` is asked per evaluation, and a filter may ask it of one big object many times.
  #keys: string[] | undefined;

  constructor(object: Record<string, unknown>) {
    super(NO_ENTRIES);
    this.#object = object;
  }

  get size(): number {
    return this.#keyList().length;
  }

  #keyList(): string[] {
    this.#keys ??= Object.keys(this.#object);
    return this.#keys;
  }

  /** As @bufbuild/cel's map: JSON keys are strings, so an int, uint or bool key finds nothing. */
  get(key: unknown): unknown {
    if (typeof key !== "string" || !Object.hasOwn(this.#object, key)) return undefined;
    this.#converted ??= new Map();
    let value = this.#converted.get(key);
    if (value === undefined) {
      value = celValue(this.#object[key]);
      this.#converted.set(key, value);
    }
    return value;
  }

  keys(): IterableIterator<string> {
    return this.#keyList()[Symbol.iterator]();
  }

  *values(): IterableIterator<unknown> {
    for (const key of this.#keyList()) yield this.get(key);
  }

  *entries(): IterableIterator<[string, unknown]> {
    for (const key of this.#keyList()) yield [key, this.get(key)];
  }

  [Symbol.iterator](): IterableIterator<[string, unknown]> {
    return this.entries();
  }

  forEach(callback: (value: unknown, key: string, map: this) => void, thisArg?: unknown): void {
    for (const key of this.#keyList()) callback.call(thisArg, this.get(key), key, this);
  }
}
