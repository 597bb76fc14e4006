import type { CreateEventTypeRequest, UpdateEventTypeRequest } from "@herald/contracts";
import { InvalidArgumentError } from "@herald/platform";
import {
  compileEventSchema,
  describeViolation,
  MAX_EXAMPLE_BYTES,
  MAX_EXAMPLES,
  type PayloadCheck,
  parseJsonText,
} from "@herald/platform/model";
import { checkText } from "./fields.js";

export const MAX_EVENT_TYPE_DESCRIPTION = 1_000;

/** The rule of IngestService's event_type: a catalogued type is one a publisher can send. */
const EVENT_TYPE_NAME = /^[a-z0-9_.-]{1,128}$/;

export function checkEventTypeName(field: string, value: string): string {
  if (value === "") throw new InvalidArgumentError(field, "required");
  if (!EVENT_TYPE_NAME.test(value)) {
    throw new InvalidArgumentError(
      field,
      'must be 1-128 lower-case letters, digits, "_", "." or "-", e.g. "order.created" (no wildcards)',
    );
  }
  return value;
}

/** A schema as stored: "" (none) or JSON text that compiles; throws naming `field` otherwise. */
export function checkSchema(field: string, text: string): { text: string; check?: PayloadCheck } {
  if (text.trim() === "") return { text: "" };
  return { text, check: compileEventSchema(field, text) };
}

/** Examples as stored: JSON texts, each passing `check` when there is a schema. */
export function checkExamples(field: string, examples: readonly string[], check?: PayloadCheck): string[] {
  if (examples.length > MAX_EXAMPLES) {
    throw new InvalidArgumentError(field, `has ${examples.length} examples; at most ${MAX_EXAMPLES}`);
  }
  return examples.map((text, i) => {
    const itemField = `${field}[${i}]`;
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > MAX_EXAMPLE_BYTES) {
      throw new InvalidArgumentError(itemField, `is ${bytes} bytes long; at most ${MAX_EXAMPLE_BYTES}`);
    }
    const example = parseJsonText(itemField, text);
    const violation = check?.(example);
    if (violation) {
      throw new InvalidArgumentError(itemField, `fails the schema ${describeViolation(violation)}`);
    }
    return text;
  });
}

/** A checked CreateEventType request. */
export interface NewEventType {
  name: string;
  description: string;
  schema: string;
  examples: string[];
  deprecated: boolean;
  validate_payloads: boolean;
}

export function parseNewEventType(req: CreateEventTypeRequest): NewEventType {
  const name = checkEventTypeName("name", req.name);
  const description = checkText("description", req.description, { max: MAX_EVENT_TYPE_DESCRIPTION });
  const schema = checkSchema("schema", req.schema);
  if (req.validatePayloads && schema.text === "") {
    throw new InvalidArgumentError("validate_payloads", "needs a schema to check payloads against");
  }
  return {
    name,
    description,
    schema: schema.text,
    examples: checkExamples("examples", req.examples, schema.check),
    deprecated: req.deprecated,
    validate_payloads: req.validatePayloads,
  };
}

/** A checked UpdateEventType request: only what is to be replaced. */
export interface EventTypePatch {
  description?: string;
  schema?: string;
  examples?: string[];
  deprecated?: boolean;
  archived?: boolean;
  validate_payloads?: boolean;
}

/**
 * Checks an update against the stored type: examples (new, or kept) must pass the schema (new, or
 * kept), and payload validation needs a schema.
 */
export function parseEventTypePatch(
  req: UpdateEventTypeRequest,
  stored: { schema: string; examples: string[]; validate_payloads: boolean },
): EventTypePatch {
  const patch: EventTypePatch = {};
  if (req.description !== undefined) {
    patch.description = checkText("description", req.description, { max: MAX_EVENT_TYPE_DESCRIPTION });
  }
  const schema =
    req.schema !== undefined ? checkSchema("schema", req.schema) : checkSchema("schema", stored.schema);
  if (req.schema !== undefined) patch.schema = schema.text;
  if (req.examples) patch.examples = checkExamples("examples.items", req.examples.items, schema.check);
  else if (req.schema !== undefined) {
    try {
      checkExamples("examples", stored.examples, schema.check);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      throw new InvalidArgumentError(
        "schema",
        `the stored ${err.message}; send examples that pass the new schema with it`,
      );
    }
  }
  if (req.deprecated !== undefined) patch.deprecated = req.deprecated;
  if (req.archived !== undefined) patch.archived = req.archived;
  if (req.validatePayloads !== undefined) patch.validate_payloads = req.validatePayloads;
  if ((patch.validate_payloads ?? stored.validate_payloads) && schema.text === "") {
    throw new InvalidArgumentError("validate_payloads", "needs a schema to check payloads against");
  }
  return patch;
}
