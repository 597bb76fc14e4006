/** "a, b c" → ["a", "b", "c"]: event types as typed into one field. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** "Name: value" lines → headers; undefined names the first bad line. */
export function parseHeaders(text: string): { headers: Record<string, string> } | { bad: string } {
  const headers: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return { bad: line };
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { headers };
}

export function headerLines(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join("\n");
}

/** Where the check of a typed URL stands. */
export type UrlCheck =
  | { state: "empty" }
  | { state: "checking" }
  | { state: "allowed" }
  /** The URL policy refused it: `reason` is the server's message. */
  | { state: "refused"; reason: string }
  /** The check itself failed (the service unreachable, say). */
  | { state: "failed"; reason: string };

/** What the URL field's hint says for a check; `ok` undefined while there is no answer. */
export function urlHint(check: UrlCheck): { ok?: boolean; text: string } {
  switch (check.state) {
    case "empty":
      return { text: "Where Herald POSTs your events." };
    case "checking":
      return { text: "Checking the URL…" };
    case "allowed":
      return { ok: true, text: "Herald may deliver to this URL." };
    case "refused":
      return { ok: false, text: `Refused: ${check.reason.replace(/^url: /, "")}` };
    case "failed":
      return {
        ok: false,
        text: `The URL could not be checked now (${check.reason}); saving checks it again.`,
      };
  }
}
