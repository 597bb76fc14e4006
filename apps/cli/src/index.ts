export type { CliConfig, GlobalOptions, ServiceName } from "./config.js";
export { DEFAULT_URLS, resolveConfig } from "./config.js";
export type { Io } from "./context.js";
export { describeError, EXIT_FAILURE, EXIT_USAGE, UsageError } from "./errors.js";
export { createProgram, run } from "./program.js";
export { VERSION } from "./version.js";
