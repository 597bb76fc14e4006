// Every published entry must load with no dependency and no node: module, so that it installs with
// nothing else and the main, fetch and store entries bundle for edge runtimes. Type-only imports are fine.
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SOURCE = dirname(fileURLToPath(import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(SOURCE, "../package.json"), "utf8")) as {
  exports: Record<string, { development?: string }>;
};
const RUNTIME_IMPORT = /^(?:import|export)(?!\s+type\b)[^;]*?\sfrom\s+"([^"]+)"/gm;

/** The non-relative modules that `entry` loads at run time, following its relative imports. */
function externalRuntimeImports(entry: string): string[] {
  const seen = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, specifier = ""] of readFileSync(file, "utf8").matchAll(RUNTIME_IMPORT)) {
      if (specifier.startsWith(".")) visit(join(dirname(file), specifier.replace(/\.js$/, ".ts")));
      else external.add(`${specifier} (from ${relative(SOURCE, file)})`);
    }
  };
  visit(entry);
  return [...external];
}

const entries = Object.entries(PACKAGE.exports).filter(([, target]) => target.development !== undefined);

describe("published entries", () => {
  it("cover the main entry, the four adapters and the two stores", () => {
    expect(entries.map(([subpath]) => subpath)).toEqual([
      ".",
      "./express",
      "./fastify",
      "./node",
      "./fetch",
      "./redis",
      "./mongodb",
    ]);
  });

  it.each(entries)("%s imports nothing outside the package at run time", (_subpath, target) => {
    expect(externalRuntimeImports(join(SOURCE, "..", target.development ?? ""))).toEqual([]);
  });
});
