/**
 * The command blocks of a Markdown guide, for tests that run them. A shell block (```sh, ```bash or
 * ```shell) must follow a marker comment: `<!-- test: run -->` or `<!-- test: skip: <reason> -->`. A
 * block marked `<!-- test: expect -->` right after a run block holds lines its output must contain.
 */
export interface GuideBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  mode: "run" | "skip";
  skipReason?: string;
  /** Lines the block's output must contain, each somewhere in it. */
  expect: string[];
}

export interface ParsedGuide {
  blocks: GuideBlock[];
  /** Problems that make the guide untestable: unmarked shell blocks, stray markers. */
  problems: string[];
}

const SHELL = new Set(["sh", "bash", "shell"]);
const MARKER = /^<!--\s*test:\s*(run|skip|expect)\s*(?::\s*(.*?))?\s*-->$/;

export function parseGuide(markdown: string): ParsedGuide {
  const lines = markdown.split("\n");
  const blocks: GuideBlock[] = [];
  const problems: string[] = [];
  let marker: { kind: string; reason?: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] ?? "").trim();
    const found = MARKER.exec(text);
    if (found) {
      if (marker) problems.push(`line ${marker.line}: marker not followed by a code block`);
      marker = { kind: found[1] as string, reason: found[2], line: i + 1 };
      continue;
    }
    const fence = /^(`{3,})\s*([\w-]*)/.exec(text);
    if (!fence) {
      if (text !== "" && marker) {
        problems.push(`line ${marker.line}: marker not followed by a code block`);
        marker = undefined;
      }
      continue;
    }
    const close = fence[1] as string;
    const info = fence[2] ?? "";
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && (lines[i] ?? "").trim() !== close; i++) body.push(lines[i] ?? "");
    const code = body.join("\n");
    const where = `line ${start + 1}`;
    if (marker?.kind === "expect") {
      const previous = blocks.at(-1);
      if (previous?.mode === "run")
        previous.expect.push(...body.map((l) => l.trim()).filter((l) => l !== ""));
      else problems.push(`${where}: expected output after no run block`);
    } else if (SHELL.has(info)) {
      if (marker?.kind === "run") blocks.push({ line: start + 1, code, mode: "run", expect: [] });
      else if (marker?.kind === "skip" && marker.reason)
        blocks.push({ line: start + 1, code, mode: "skip", skipReason: marker.reason, expect: [] });
      else if (marker?.kind === "skip") problems.push(`${where}: a skipped block must say why`);
      else
        problems.push(
          `${where}: \`\`\`${info} block is marked neither <!-- test: run --> nor <!-- test: skip: why -->`,
        );
    } else if (marker) {
      problems.push(`line ${marker.line}: ${marker.kind} marker on a \`\`\`${info || "(plain)"} block`);
    }
    marker = undefined;
  }
  if (marker) problems.push(`line ${marker.line}: marker at the end of the guide`);
  return { blocks, problems };
}

/**
 * One bash script running every `run` block in order, in one shell (later blocks use earlier ones'
 * variables), stopping at the first failing command. Each block's output starts with a marker line.
 */
export function guideScript(blocks: readonly GuideBlock[], marker: (index: number) => string): string {
  const parts = ["set -euo pipefail"];
  blocks.forEach((block, index) => {
    if (block.mode !== "run") return;
    parts.push(`echo '${marker(index)}'`, block.code);
  });
  return `${parts.join("\n")}\n`;
}
