import { formatDurationMs } from "@herald/platform/duration";
import { Command, CommanderError } from "commander";
import { binder } from "./command.js";
import { registerAttemptCommands } from "./commands/attempts.js";
import { registerEndpointCommands } from "./commands/endpoints.js";
import { registerEventTypeCommands } from "./commands/event-types.js";
import { registerEventCommands } from "./commands/events.js";
import { registerKeyCommands } from "./commands/keys.js";
import { registerListenCommand } from "./commands/listen.js";
import { registerPortalCommands } from "./commands/portal.js";
import { registerReplayCommands } from "./commands/replay.js";
import { registerSecretCommands } from "./commands/secret.js";
import { registerTenantCommands } from "./commands/tenants.js";
import { DEFAULT_TIMEOUT_MS, DEFAULT_URLS, ENV } from "./config.js";
import type { Io } from "./context.js";
import { describeError, EXIT_USAGE } from "./errors.js";
import { parsePositiveDuration } from "./parse.js";
import { VERSION } from "./version.js";

/** The whole command tree, writing through `io`. */
export function createProgram(io: Io): Command {
  const program = new Command("herald")
    .description(
      "Command-line client of Herald: tenants, endpoints, API keys, event types, events, attempts and replays.",
    )
    .version(VERSION)
    // Settings below are inherited by every command added after them.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) => write(text.replace(/^error: /, "herald: ")),
    })
    .showHelpAfterError("(add --help for usage)")
    .option("--api-key <token>", `API key (default: $${ENV.apiKey}, which keeps it out of process lists)`)
    .option("--ingest-url <url>", `ingest service (default: $${ENV.ingest} or ${DEFAULT_URLS.ingest})`)
    .option("--routing-url <url>", `routing service (default: $${ENV.routing} or ${DEFAULT_URLS.routing})`)
    .option(
      "--delivery-url <url>",
      `delivery service, for herald listen (default: $${ENV.delivery} or ${DEFAULT_URLS.delivery})`,
    )
    .option("--audit-url <url>", `audit service (default: $${ENV.audit} or ${DEFAULT_URLS.audit})`)
    .option(
      "--tls-ca-file <path>",
      `PEM CA to trust for https:// URLs besides the system's (default: $${ENV.tlsCaFile})`,
    )
    .option(
      "--tls-cert-file <path>",
      `PEM client certificate for ports that require one (default: $${ENV.tlsCertFile})`,
    )
    .option("--tls-key-file <path>", `PEM key of the client certificate (default: $${ENV.tlsKeyFile})`)
    .option("--json", "print the response as one JSON document on stdout (for scripts)")
    .option(
      "--timeout <duration>",
      `time limit of each call (default ${formatDurationMs(DEFAULT_TIMEOUT_MS)})`,
      parsePositiveDuration,
    );

  const bind = binder(io);
  registerTenantCommands(program, bind);
  registerEndpointCommands(program, bind);
  registerKeyCommands(program, bind);
  registerEventTypeCommands(program, bind);
  registerEventCommands(program, bind);
  registerAttemptCommands(program, bind);
  registerReplayCommands(program, bind);
  registerSecretCommands(program, bind);
  registerPortalCommands(program, bind);
  registerListenCommand(program, bind);
  return program;
}

/**
 * Runs one command line (without "node" and the script) and returns the exit code: 0, 1 when a call or
 * anything else failed, 2 for a usage error. Prints one `herald: …` line per error, never a stack.
 */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message (or the help) already; --help and --version exit 0.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    const { message, exitCode } = describeError(err);
    io.stderr(`herald: ${message}\n`);
    return exitCode;
  }
}
