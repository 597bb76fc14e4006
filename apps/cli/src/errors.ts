import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";

/** Exit code of a failed call or any error that is not the user's typing. */
export const EXIT_FAILURE = 1;
/** Exit code of a usage error: a bad option, a missing argument, a missing API key. */
export const EXIT_USAGE = 2;

/** A mistake in the command line the CLI found itself (commander reports its own). Exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The user declined to go on (a confirmation not given). Exits 1 with the message. */
export class AbortedError extends Error {
  override readonly name = "AbortedError";
}

const SERVICE_URL = Symbol("herald.cli.serviceUrl");

/** Remembers which service URL a failed call went to, for the error line. */
export function tagServiceUrl(err: unknown, url: string): unknown {
  if (typeof err === "object" && err !== null && !(SERVICE_URL in err)) {
    Object.defineProperty(err, SERVICE_URL, { value: url });
  }
  return err;
}

function serviceUrlOf(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && SERVICE_URL in err
    ? String((err as Record<symbol, unknown>)[SERVICE_URL])
    : undefined;
}

/** The Node error code (ECONNREFUSED, ENOTFOUND, …) anywhere in an error's cause chain. */
function systemCodeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  const message = err instanceof Error ? err.message : "";
  return /\b(ECONNREFUSED|ENOTFOUND|ECONNRESET|EHOSTUNREACH|ETIMEDOUT)\b/.exec(message)?.[1];
}

/** The TLS error code (certificate verification, handshake) anywhere in an error's cause chain. */
function tlsCodeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /CERT|SELF_SIGNED|UNABLE_TO_|^ERR_TLS_|^ERR_SSL_|^EPROTO$/.test(code))
      return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** "not_found" as words: "not found". */
export function codeInWords(code: Code): string {
  return codeToString(code).replaceAll("_", " ");
}

/**
 * The one line printed for an error, without the "herald: " prefix, and the exit code. Never a stack
 * trace: a CLI's user needs what failed and what to do, and the server already logged the rest.
 */
export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof UsageError) return { message: err.message, exitCode: EXIT_USAGE };
  const url = serviceUrlOf(err);
  if (err instanceof ConnectError) {
    const system = systemCodeOf(err);
    if (url && (system === "ECONNREFUSED" || system === "EHOSTUNREACH")) {
      return {
        message: `cannot connect to ${url} (connection refused): is Herald running? Start it with \`npm start\`, or point --ingest-url/--routing-url/--audit-url at it`,
        exitCode: EXIT_FAILURE,
      };
    }
    const tls = tlsCodeOf(err);
    if (url && tls) {
      const hint = /^ERR_SSL_|^EPROTO$/.test(tls)
        ? "does that port serve TLS? use an http:// URL if not"
        : "give the CA that signed Herald's certificate with --tls-ca-file, and reach it by a name the certificate holds";
      return { message: `TLS with ${url} failed (${tls}): ${hint}`, exitCode: EXIT_FAILURE };
    }
    if (url && system === "ENOTFOUND") {
      return { message: `cannot resolve the host of ${url}`, exitCode: EXIT_FAILURE };
    }
    if (err.code === Code.DeadlineExceeded) {
      return {
        message: `${codeInWords(err.code)}: no answer from ${url ?? "the server"} in time (raise --timeout)`,
        exitCode: EXIT_FAILURE,
      };
    }
    return {
      message: `${codeInWords(err.code)}: ${err.rawMessage || "(no message)"}`,
      exitCode: EXIT_FAILURE,
    };
  }
  if (err instanceof Error) return { message: err.message, exitCode: EXIT_FAILURE };
  return { message: String(err), exitCode: EXIT_FAILURE };
}
