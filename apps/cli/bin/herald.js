#!/usr/bin/env node
// The `herald` command (package.json "bin"). npm links a bin only if its file exists at install time,
// and dist/ is built later, so the link points at this committed file, which runs the built CLI.
try {
  await import("../dist/main.js");
} catch (err) {
  if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("/dist/main.js")) {
    process.stderr.write("herald: the CLI is not built yet; run `npx nx run @herald/cli:build` first\n");
    process.exit(2);
  }
  throw err;
}
