import { type Attempt, TestEndpointResponseSchema } from "@herald/contracts";
import type { Command } from "commander";
import { type Bind, idArg } from "../command.js";
import type { Context } from "../context.js";
import { UsageError } from "../errors.js";
import { attemptError, NONE, renderFields } from "../format.js";
import { checkJsonPayload } from "../parse.js";

interface TestOptions {
  tenant: string;
  type?: string;
  payload?: string;
}

/** The payload of --payload: JSON text, or `@file` (`@-` is stdin); undefined sends the type's example. */
async function readTestPayload(ctx: Context, payload: string | undefined): Promise<Uint8Array | undefined> {
  if (payload === undefined) return undefined;
  if (!payload.startsWith("@")) return checkJsonPayload(new TextEncoder().encode(payload), "--payload");
  const path = payload.slice(1);
  let bytes: Uint8Array;
  try {
    bytes = await (path === "-" ? ctx.io.readStdin() : ctx.io.readFile(path));
  } catch (err) {
    throw new UsageError(`cannot read --payload ${payload}: ${(err as Error).message}`);
  }
  return checkJsonPayload(bytes, path === "-" ? "stdin" : path);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * A receiver's text made safe for a terminal: control characters (escape sequences could rewrite the
 * screen or the window title) become U+FFFD; line breaks and tabs stay.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, "\uFFFD");
}

/** A test delivery's attempt for people: status, latency, the error if any, headers and body. */
export function testAttemptDetails(attempt: Attempt | undefined): string {
  if (!attempt) return NONE;
  const headers = attempt.responseHeaders.map((h) => printable(`${h.name}: ${h.value}`));
  const body = printable(attempt.responseBody).split("\n");
  return renderFields([
    ["result", attempt.success ? "delivered" : `failed (${attemptError(attempt)})`],
    ["status", attempt.responseStatus === 0 ? "no response" : String(attempt.responseStatus)],
    ["latency", `${attempt.latencyMs} ms`],
    ["url", attempt.url],
    ["webhook-id", attempt.eventId],
    ["attempt", attempt.id],
    ...(headers.length === 0
      ? [["headers", NONE] as const]
      : headers.map((h, i) => [i === 0 ? "headers" : "", h] as const)),
    ...(attempt.responseBody === ""
      ? [["body", NONE] as const]
      : body.map((line, i) => [i === 0 ? "body" : "", line] as const)),
  ]);
}

/** `herald endpoints test`: one signed test delivery now, and what the receiver answered. */
export function registerEndpointTestCommand(endpoints: Command, bind: Bind): void {
  endpoints
    .command("test")
    .description(
      "send a signed test delivery to an endpoint now and show the receiver's answer (exit 1 when it failed)",
    )
    .argument("<id>", "endpoint id")
    .requiredOption("--tenant <id>", "tenant id")
    .option("--type <type>", "event type to send (default: the endpoint's first subscribed type)")
    .option(
      "--payload <json|@file>",
      "the payload, or @file / @- for stdin (default: the type's catalog example)",
    )
    .action(
      bind<TestOptions>(async (ctx, args, options) => {
        const payload = await readTestPayload(ctx, options.payload);
        const res = await ctx.clients.endpoints.testEndpoint({
          tenantId: options.tenant,
          endpointId: idArg(args),
          eventType: options.type ?? "",
          payload,
        });
        ctx.output(TestEndpointResponseSchema, res, () => testAttemptDetails(res.attempt));
        if (!res.attempt?.success) {
          throw new Error(
            `the test delivery failed: ${attemptError(res.attempt ?? { success: false, errorClass: 0, errorMessage: "" })}`,
          );
        }
      }),
    );
}
