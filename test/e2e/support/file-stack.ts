import { afterAll, afterEach, beforeAll } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./clients.js";
import { type Receiver, startReceiver } from "./receiver.js";
import { SERVICES, type Stack, startStack } from "./stack.js";

/** A test file's stack, its gRPC ingest client and the receivers its tests start. */
export interface FileStack {
  readonly stack: Stack;
  readonly ingest: GrpcIngestClient;
  /** Starts a receiver, closed with the stack. */
  receiver(): Promise<Receiver>;
}

/** The most of a service's log a failed file prints: its last lines are what explain a failure. */
const LOG_TAIL_CHARS = 20_000;

/**
 * Starts a stack with `env` before the calling file's tests and stops it, the ingest client and the
 * receivers after them; when a test failed, prints the services' logs first. Call it at the top of the
 * file; read `stack` and `ingest` once the tests run.
 * (A module of its own: the bench imports the other support modules outside vitest.)
 */
export function stackPerFile(env: Record<string, string>): FileStack {
  let stack: Stack | undefined;
  let ingest: GrpcIngestClient | undefined;
  const receivers: Receiver[] = [];
  beforeAll(async () => {
    stack = await startStack(env);
    ingest = grpcIngestClient(`127.0.0.1:${stack.ports.ingest}`);
  });
  // The services' logs (warnings and errors at the tests' level) live only in memory, so a file whose
  // test failed prints them: otherwise a failure seen once in CI cannot be explained afterwards.
  let failed = false;
  afterEach(({ task }) => {
    if (task.result?.state === "fail") failed = true;
  });
  afterAll(async () => {
    if (failed && stack) {
      for (const service of SERVICES) {
        const logs = stack.logs(service);
        if (logs)
          console.error(
            `--- ${service}'s log (last ${LOG_TAIL_CHARS} characters) ---\n${logs.slice(-LOG_TAIL_CHARS)}`,
          );
      }
    }
    ingest?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await stack?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the stack starts before the file's tests");
    return value;
  };
  return {
    get stack() {
      return started(stack);
    },
    get ingest() {
      return started(ingest);
    },
    async receiver() {
      const r = await startReceiver();
      receivers.push(r);
      return r;
    },
  };
}
