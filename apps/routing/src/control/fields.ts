import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { type Duration, DurationSchema } from "@bufbuild/protobuf/wkt";
import type { RetrySchedule } from "@herald/contracts";
import { InvalidArgumentError } from "@herald/platform";

// Checks shared by tenants, endpoints and API keys. Each takes the proto field path to name in its
// error, returns the value to store, and throws InvalidArgumentError otherwise.

/** A fresh id such as "ep_3f9a…": a type prefix and 80 random bits in hex. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(10).toString("hex")}`;
}

const TENANT_ID = /^[a-zA-Z0-9_-]{1,64}$/;

export function checkTenantId(field: string, value: string): string {
  if (value === "") throw new InvalidArgumentError(field, "required");
  if (!TENANT_ID.test(value)) {
    throw new InvalidArgumentError(field, "must be 1-64 characters of a-z, A-Z, 0-9, _ or -");
  }
  return value;
}

/** The id of an existing object: anything non-empty; unknown ones are NOT_FOUND later. */
export function checkObjectId(field: string, value: string): string {
  if (value === "") throw new InvalidArgumentError(field, "required");
  if (value.length > 128) throw new InvalidArgumentError(field, "is longer than 128 characters");
  return value;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Free text such as a name or a description; `required` refuses an empty or blank value. */
export function checkText(
  field: string,
  value: string,
  options: { max: number; required?: boolean },
): string {
  if (options.required && value.trim() === "") throw new InvalidArgumentError(field, "required");
  if (value.length > options.max) {
    throw new InvalidArgumentError(field, `is ${value.length} characters long; at most ${options.max}`);
  }
  if (CONTROL_CHARACTERS.test(value)) {
    throw new InvalidArgumentError(field, "must not contain control characters (line breaks, tabs, NUL)");
  }
  return value;
}

export const MAX_METADATA_ENTRIES = 50;
const MAX_METADATA_KEY = 128;
const MAX_METADATA_VALUE = 1024;

/**
 * Tenant metadata: at most 50 entries. Keys become MongoDB field names, so they may not contain "."
 * or start with "$".
 */
export function checkMetadata(field: string, metadata: Record<string, string>): Record<string, string> {
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA_ENTRIES) {
    throw new InvalidArgumentError(field, `has ${entries.length} entries; at most ${MAX_METADATA_ENTRIES}`);
  }
  for (const [key, value] of entries) {
    const entryField = `${field}[${JSON.stringify(key)}]`;
    if (key === "" || key.length > MAX_METADATA_KEY) {
      throw new InvalidArgumentError(entryField, `keys must be 1-${MAX_METADATA_KEY} characters long`);
    }
    if (key.includes(".") || key.startsWith("$") || CONTROL_CHARACTERS.test(key)) {
      throw new InvalidArgumentError(
        entryField,
        'keys may not contain "." or control characters, nor start with "$"',
      );
    }
    checkText(entryField, value, { max: MAX_METADATA_VALUE });
  }
  return { ...metadata };
}

/** A number within `min..max`, inclusive. */
export function checkRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** Milliseconds of a Duration; throws on a malformed or negative one. */
export function durationToMs(field: string, duration: Duration): number {
  const { seconds, nanos } = duration;
  const valid =
    Math.abs(nanos) < 1_000_000_000 && (seconds === 0n || nanos === 0 || seconds > 0n === nanos > 0);
  if (!valid) throw new InvalidArgumentError(field, "is not a valid duration");
  const ms = Number(seconds) * 1_000 + Math.round(nanos / 1_000_000);
  if (ms < 0) throw new InvalidArgumentError(field, "must not be negative");
  return ms;
}

export function msToDuration(ms: number): Duration {
  return create(DurationSchema, {
    seconds: BigInt(Math.floor(ms / 1_000)),
    nanos: (ms % 1_000) * 1_000_000,
  });
}

export const MAX_RETRY_DELAYS = 20;
export const MIN_RETRY_DELAY_MS = 1_000;
export const MAX_RETRY_DELAY_MS = 24 * 3_600_000;

/** A retry schedule as stored: delays in ms, 1 s to 24 h each, at most 20; empty inherits. */
export function checkRetrySchedule(field: string, schedule: RetrySchedule | undefined): number[] {
  const delays = schedule?.delays ?? [];
  if (delays.length > MAX_RETRY_DELAYS) {
    throw new InvalidArgumentError(
      `${field}.delays`,
      `has ${delays.length} delays; at most ${MAX_RETRY_DELAYS}`,
    );
  }
  return delays.map((delay, i) => {
    const itemField = `${field}.delays[${i}]`;
    const ms = durationToMs(itemField, delay);
    if (ms < MIN_RETRY_DELAY_MS || ms > MAX_RETRY_DELAY_MS) {
      throw new InvalidArgumentError(itemField, `must be between 1s and 24h, got ${ms / 1_000}s`);
    }
    return ms;
  });
}

export function retryScheduleMessage(delaysMs: readonly number[]): { delays: Duration[] } {
  return { delays: delaysMs.map(msToDuration) };
}
