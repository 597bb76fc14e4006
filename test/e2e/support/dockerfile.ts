// A reader of the Dockerfile's instructions, for checking the image's build without a Docker engine
// (docker-image.test.ts). It knows only what Herald's Dockerfile uses; anything else is an error, so the
// check never passes an image whose build it does not understand.

/** One instruction, with the line of the Dockerfile it starts on. */
export type Instruction =
  | { kind: "FROM"; line: number; image: string; name?: string }
  | { kind: "WORKDIR"; line: number; path: string }
  | { kind: "COPY"; line: number; from?: string; sources: string[]; dest: string }
  | { kind: "RUN"; line: number; command: string }
  | { kind: "ENV"; line: number; vars: Record<string, string> }
  | { kind: "USER"; line: number; user: string };

/** A build stage: its FROM and the instructions after it. */
export interface Stage {
  image: string;
  /** The `AS` name, if any. */
  name?: string;
  instructions: Exclude<Instruction, { kind: "FROM" }>[];
}

export class DockerfileError extends Error {
  constructor(line: number, message: string) {
    super(`Dockerfile line ${line}: ${message}`);
  }
}

/**
 * The instructions of `text`, one per logical line: comment lines are dropped (inside a continued
 * instruction too, as Docker does) and a line ending in a backslash continues on the next.
 */
export function logicalLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let current: { line: number; text: string } | undefined;
  text.split("\n").forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith("#") || (trimmed === "" && !current)) return;
    const continues = trimmed.endsWith("\\");
    const part = continues ? trimmed.slice(0, -1) : trimmed;
    current = current
      ? { line: current.line, text: `${current.text} ${part}` }
      : { line: index + 1, text: part };
    if (!continues) {
      out.push({ line: current.line, text: current.text.trim() });
      current = undefined;
    }
  });
  if (current) throw new DockerfileError(current.line, "the last instruction ends with a backslash");
  return out;
}

/** Splits off leading `--flag=value` options; those not in `known` are an error. */
function flags(
  line: number,
  words: string[],
  known: string[],
): { flags: Record<string, string>; rest: string[] } {
  const found: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && words[i]?.startsWith("--"); i++) {
    const [name = "", value] = (words[i] as string).slice(2).split(/=(.*)/s);
    if (!known.includes(name) || value === undefined) {
      throw new DockerfileError(line, `option ${words[i]} is not interpreted by this check`);
    }
    found[name] = value;
  }
  return { flags: found, rest: words.slice(i) };
}

function noQuotesOrJson(line: number, args: string): void {
  if (args.startsWith("["))
    throw new DockerfileError(line, "the JSON (exec) form is not interpreted by this check");
  if (/["'$]/.test(args))
    throw new DockerfileError(line, "quotes and variables are not interpreted by this check");
}

/** Parses one logical line. */
export function parseInstruction(line: number, text: string): Instruction {
  const [, keyword = "", args = ""] = /^(\S+)\s*(.*)$/s.exec(text) ?? [];
  const words = args.split(/\s+/).filter(Boolean);
  switch (keyword.toUpperCase()) {
    case "FROM": {
      noQuotesOrJson(line, args);
      const { rest } = flags(line, words, []);
      if (rest.length === 1) return { kind: "FROM", line, image: rest[0] as string };
      if (rest.length === 3 && rest[1]?.toUpperCase() === "AS") {
        return { kind: "FROM", line, image: rest[0] as string, name: rest[2] as string };
      }
      throw new DockerfileError(line, `FROM takes an image and an optional "AS name", not "${args}"`);
    }
    case "WORKDIR":
      noQuotesOrJson(line, args);
      if (words.length !== 1 || !words[0]?.startsWith("/")) {
        throw new DockerfileError(line, `WORKDIR takes one absolute path, not "${args}"`);
      }
      return { kind: "WORKDIR", line, path: words[0] };
    case "COPY": {
      noQuotesOrJson(line, args);
      const { flags: options, rest } = flags(line, words, ["from"]);
      if (rest.length < 2)
        throw new DockerfileError(line, "COPY takes one or more sources and a destination");
      if (rest.some((word) => /[*?[]/.test(word))) {
        throw new DockerfileError(line, "wildcards in COPY are not interpreted by this check");
      }
      return {
        kind: "COPY",
        line,
        from: options.from,
        sources: rest.slice(0, -1),
        dest: rest.at(-1) as string,
      };
    }
    case "RUN":
      if (args.startsWith("[") || args.startsWith("--")) {
        throw new DockerfileError(line, "only RUN's shell form without options is interpreted by this check");
      }
      if (args === "") throw new DockerfileError(line, "RUN without a command");
      return { kind: "RUN", line, command: args };
    case "ENV": {
      noQuotesOrJson(line, args);
      // `ENV name value` (the legacy form) or `ENV name=value ...`.
      if (words.length === 2 && !words[0]?.includes("=")) {
        return { kind: "ENV", line, vars: { [words[0] as string]: words[1] as string } };
      }
      const vars: Record<string, string> = {};
      for (const word of words) {
        const [name, value] = word.split(/=(.*)/s);
        if (!name || value === undefined)
          throw new DockerfileError(line, `ENV expects name=value, not "${word}"`);
        vars[name] = value;
      }
      if (words.length === 0) throw new DockerfileError(line, "ENV without a variable");
      return { kind: "ENV", line, vars };
    }
    case "USER":
      noQuotesOrJson(line, args);
      if (words.length !== 1) throw new DockerfileError(line, `USER takes one user, not "${args}"`);
      return { kind: "USER", line, user: words[0] as string };
    default:
      throw new DockerfileError(
        line,
        `${keyword} is not interpreted by this check (test/e2e/support/dockerfile.ts); teach it there, or the check would pass a build it does not understand`,
      );
  }
}

/** The stages of a Dockerfile, in order; the last one is the image. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const { line, text: instructionText } of logicalLines(text)) {
    const instruction = parseInstruction(line, instructionText);
    if (instruction.kind === "FROM") {
      stages.push({ image: instruction.image, name: instruction.name, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new DockerfileError(line, `${instruction.kind} before the first FROM`);
    stage.instructions.push(instruction);
  }
  if (stages.length === 0) throw new DockerfileError(1, "no FROM: not a Dockerfile");
  return stages;
}

/**
 * Replaces the image's absolute paths in a shell command with directories of this machine: each of
 * `paths` (e.g. "/runtime") where it is a whole path or a path's first segment, so "/runtime/" and
 * "/runtime" are mapped while "/runtimes" and "a/runtime" are not.
 */
export function mapImagePaths(command: string, paths: Record<string, string>): string {
  const names = Object.keys(paths).sort((a, b) => b.length - a.length);
  if (names.length === 0) return command;
  const escaped = names.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(^|[\\s"'=:])(${escaped.join("|")})(?=$|[\\s"'/;&|)])`, "g");
  return command.replace(pattern, (_, before: string, name: string) => `${before}${paths[name]}`);
}

/**
 * The patterns of a .dockerignore file, one a line (comments and blank lines skipped). Only the forms
 * Herald's file uses are interpreted: a name at the top ("node_modules", ".git") and "**\/name" at any
 * depth; anything else is an error.
 */
export function dockerIgnorePatterns(text: string): string[] {
  const patterns = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.replace(/^\.\//, "").replace(/\/$/, ""));
  for (const pattern of patterns) {
    if (!/^(\*\*\/)?[^*?[!/\\]+$/.test(pattern)) {
      throw new Error(`.dockerignore: the pattern "${pattern}" is not interpreted by this check`);
    }
  }
  return patterns;
}

/** Whether `path` (relative to the context, "/"-separated) is excluded by {@link dockerIgnorePatterns}. */
export function dockerIgnored(path: string, patterns: string[]): boolean {
  const segments = path.split("/");
  return patterns.some((pattern) =>
    pattern.startsWith("**/") ? segments.includes(pattern.slice(3)) : segments[0] === pattern,
  );
}
