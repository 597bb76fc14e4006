import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Base of Herald's typed errors. Each carries the gRPC code it maps to; its message is written for the
 * caller and is safe to return. Anything that is not a HeraldError becomes `Code.Internal` without its
 * message, so internals never leak.
 */
export class HeraldError extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A request field is missing or malformed. The message names the field. */
export class InvalidArgumentError extends HeraldError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(Code.InvalidArgument, `${field}: ${problem}`);
    this.field = field;
  }
}

export class NotFoundError extends HeraldError {
  constructor(kind: string, id: string) {
    super(Code.NotFound, `${kind} "${id}" not found`);
  }
}

export class AlreadyExistsError extends HeraldError {
  constructor(kind: string, id: string) {
    super(Code.AlreadyExists, `${kind} "${id}" already exists`);
  }
}

export class UnauthenticatedError extends HeraldError {
  constructor(message = 'missing or invalid API key: send "authorization: Bearer <key>"') {
    super(Code.Unauthenticated, message);
  }
}

export class PermissionDeniedError extends HeraldError {
  constructor(message: string) {
    super(Code.PermissionDenied, message);
  }
}

/** The request is valid but the system is not in a state to accept it (e.g. a disabled tenant). */
export class FailedPreconditionError extends HeraldError {
  constructor(message: string) {
    super(Code.FailedPrecondition, message);
  }
}

/** A rate limit was hit; `retryAfterMs` tells the caller when to try again. */
export class ResourceExhaustedError extends HeraldError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(Code.ResourceExhausted, `${message}; retry after ${Math.ceil(retryAfterMs)} ms`);
    this.retryAfterMs = retryAfterMs;
  }
}

/** A dependency (RabbitMQ, MongoDB) is not reachable; the call may be retried. */
export class UnavailableError extends HeraldError {
  constructor(message: string, options?: ErrorOptions) {
    super(Code.Unavailable, message, options);
  }
}

/**
 * Maps any thrown value to a ConnectError the client may see. Returns whether the error was expected
 * (a HeraldError or ConnectError) so the caller can log unexpected ones in full.
 */
export function toConnectError(err: unknown): { error: ConnectError; expected: boolean } {
  if (err instanceof HeraldError) {
    const error = new ConnectError(err.message, err.code);
    if (err instanceof ResourceExhaustedError) {
      error.metadata.set("retry-after", String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
    }
    return { error, expected: true };
  }
  if (err instanceof ConnectError) {
    return { error: err, expected: err.code !== Code.Internal && err.code !== Code.Unknown };
  }
  if (isDependencyOutage(err)) {
    // Retryable by the standard gRPC retry policy; the detail stays in the server's log.
    return {
      error: new ConnectError("a dependency of Herald is unavailable; retry shortly", Code.Unavailable),
      expected: false,
    };
  }
  return { error: new ConnectError("internal error", Code.Internal), expected: false };
}

/**
 * Whether an error is MongoDB or RabbitMQ being out of reach (by the drivers' error names, so this module
 * needs neither driver).
 */
function isDependencyOutage(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === "MongoNetworkError" ||
    err.name === "MongoServerSelectionError" ||
    err.name === "MongoNetworkTimeoutError" ||
    err.name === "MongoTopologyClosedError" ||
    err.name === "AMQPConnectionError" ||
    err.name === "AMQPChannelError"
  );
}
