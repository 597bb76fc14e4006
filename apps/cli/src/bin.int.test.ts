import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The CLI as installed: `herald` in node_modules/.bin, linked by npm from package.json's "bin". Needs
// the CLI built (`npx nx run @herald/cli:build`) and an install of the workspace (`npm ci`).

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

function run(command: string, args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, args, { cwd: REPO_ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe("the herald command", () => {
  it("is installed in node_modules/.bin, so `npx herald --help` works in the repository", async () => {
    const result = await run("npx", ["--no-install", "herald", "--help"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: herald /);
    expect(result.stdout).toContain("tenants");
  });

  it("links a committed file, which exists before any build, as npm requires to link a bin", async () => {
    const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
    expect(manifest.bin).toEqual({ herald: "./bin/herald.js" });
    const launcher = await readFile(new URL("../bin/herald.js", import.meta.url), "utf8");
    expect(launcher.startsWith("#!/usr/bin/env node\n")).toBe(true);
  });
});
