import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { README_PATH } from "../../scripts/config-table.js";

// README.md's "Where behaviour lives" table sends a newcomer one hop from a behaviour to its code; a
// file that moved or was renamed must not leave the table pointing nowhere.
const START = "<!-- behaviour-table:start -->";
const END = "<!-- behaviour-table:end -->";
const REPO_ROOT = join(README_PATH, "..");

/** The repository paths (backticked, with a slash) named in the table between the markers. */
function tablePaths(readme: string): string[] {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} table`);
  const table = readme.slice(start, end);
  return [...table.matchAll(/`([^`\s]+\/[^`\s]+)`/g)].map((match) => match[1] as string);
}

describe("README.md's behaviour table", () => {
  it("reads the backticked paths between the markers", () => {
    const readme = `\`outside/a.ts\`\n${START}\n| x | \`apps/a/src/b.ts\`, \`service.ts\` |\n${END}`;
    expect(tablePaths(readme)).toEqual(["apps/a/src/b.ts"]);
    expect(() => tablePaths("no table")).toThrow(/no <!-- behaviour-table:start -->/);
  });

  it("names only files that exist", () => {
    const paths = tablePaths(readFileSync(README_PATH, "utf8"));
    expect(paths.length).toBeGreaterThan(40);
    expect(paths.filter((path) => !existsSync(join(REPO_ROOT, path)))).toEqual([]);
  });
});
