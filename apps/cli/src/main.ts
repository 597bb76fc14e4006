#!/usr/bin/env node
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline/promises";
import type { Io } from "./context.js";
import { run } from "./program.js";

// A closed pipe (`herald … | head`) is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

const io: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
  stdinIsTty: process.stdin.isTTY === true,
  async readLine(prompt) {
    const lines = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await lines.question(prompt);
    } finally {
      lines.close();
    }
  },
  readFile: (path) => readFile(path),
  env: process.env,
  now: () => new Date(),
  interrupted(signal) {
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    signal?.addEventListener("abort", () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    });
    return controller.signal;
  },
};

process.exitCode = await run(process.argv.slice(2), io);
