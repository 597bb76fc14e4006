import { afterAll, beforeAll } from "vitest";
import { type GrpcIngestClient, grpcIngestClient } from "./clients.js";
import { type Receiver, startReceiver } from "./receiver.js";
import { type Stack, startStack } from "./stack.js";

/** A test file's stack, its gRPC ingest client and the receivers its tests start. */
export interface FileStack {
  readonly stack: Stack;
  readonly ingest: GrpcIngestClient;
  /** Starts a receiver, closed with the stack. */
  receiver(): Promise<Receiver>;
}

/**
 * Starts a stack with `env` before the calling file's tests and stops it, the ingest client and the
 * receivers after them. Call it at the top of the file; read `stack` and `ingest` once the tests run.
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
  afterAll(async () => {
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
