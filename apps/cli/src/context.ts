import type { DescMessage, JsonValue, MessageShape } from "@bufbuild/protobuf";
import { toJson } from "@bufbuild/protobuf";
import { createClients, type HeraldClients } from "./clients.js";
import type { CliConfig } from "./config.js";

/** The process around the CLI, injectable so the program runs in tests without one. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Everything on standard input. */
  readStdin(): Promise<Uint8Array>;
  /** True when standard input is a terminal: nothing is piped in. */
  stdinIsTty: boolean;
  /** Shows `prompt` (on stderr) and resolves with the line typed at the terminal. */
  readLine(prompt: string): Promise<string>;
  readFile(path: string): Promise<Uint8Array>;
  env: Readonly<Record<string, string | undefined>>;
  now(): Date;
  /**
   * A signal that aborts on Ctrl-C (SIGINT) or SIGTERM, for commands that run until stopped; the
   * handlers go once `done` aborts. Absent in tests that run no such command.
   */
  interrupted?(done?: AbortSignal): AbortSignal;
}

/** What a command runs with: checked options, clients (made on first use) and output. */
export class Context {
  readonly config: CliConfig;
  readonly io: Io;
  #clients: HeraldClients | undefined;

  constructor(config: CliConfig, io: Io) {
    this.config = config;
    this.io = io;
  }

  get clients(): HeraldClients {
    this.#clients ??= createClients(this.config);
    return this.#clients;
  }

  /** True under `--json`: print one JSON document on stdout and nothing else there. */
  get json(): boolean {
    return this.config.json;
  }

  /** A line for people on stdout. */
  print(text: string): void {
    this.io.stdout(`${text}\n`);
  }

  /** Progress and notes on stderr, so stdout stays clean for pipes. */
  note(text: string): void {
    this.io.stderr(`${text}\n`);
  }

  printJson(value: JsonValue): void {
    this.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** `--json`: the message as proto3 JSON, default values included. Otherwise `human()` is printed. */
  output<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, human: () => string): void {
    if (this.json) this.printJson(messageJson(schema, message));
    else this.print(human());
  }
}

/** Proto3 JSON with every field, so scripts need not know which defaults are left out. */
export function messageJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonValue {
  return toJson(schema, message, { alwaysEmitImplicit: true });
}
