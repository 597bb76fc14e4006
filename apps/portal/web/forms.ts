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

/**
 * What can be told of a URL while it is typed, before the server's URL policy answers on save (no RPC
 * checks a URL without creating an endpoint): its shape, its scheme, and hosts that are never public.
 */
export function urlHint(text: string): { ok: boolean; text: string } | undefined {
  if (text.trim() === "") return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, text: "Not a URL yet: it starts with https:// and a host name." };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, text: "Only https:// URLs are delivered to." };
  }
  if (url.username || url.password)
    return { ok: false, text: "Leave credentials out of the URL; use a header." };
  if (url.hash) return { ok: false, text: "A URL with a #fragment is refused." };
  const host = url.hostname;
  if (/^(localhost|.*\.local|.*\.internal)$/i.test(host) || /^(10|127|169\.254|192\.168)\./.test(host)) {
    return {
      ok: false,
      text: "This host is private: it is refused unless the operator allows it. Saving shows the answer.",
    };
  }
  if (url.protocol === "http:") {
    return { ok: false, text: "Plain http:// is refused unless the operator allows it; use https://." };
  }
  return { ok: true, text: "Looks good; the URL policy checks the address when you save." };
}
