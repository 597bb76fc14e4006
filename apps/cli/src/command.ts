import type { Command } from "commander";
import { type GlobalOptions, resolveConfig } from "./config.js";
import { Context, type Io } from "./context.js";

/** A command's work: its positional arguments and its own options, with the context built. */
export type Handler<Options> = (ctx: Context, args: string[], options: Options) => Promise<void>;

/** Turns a handler into a commander action that first resolves the global options. */
export type Bind = <Options>(handler: Handler<Options>) => (...params: unknown[]) => Promise<void>;

export function binder(io: Io): Bind {
  return (handler) =>
    async (...params) => {
      // commander passes the positional arguments, then the options, then the command.
      const command = params.at(-1) as Command;
      const args = params.slice(0, -2).filter((a): a is string => typeof a === "string");
      const config = resolveConfig(command.optsWithGlobals<GlobalOptions>(), io.env);
      await handler(new Context(config, io), args, command.opts() as Parameters<typeof handler>[2]);
    };
}

/** The first positional argument, which commander already required. */
export function idArg(args: string[]): string {
  return args[0] ?? "";
}
