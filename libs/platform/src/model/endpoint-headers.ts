import type { EndpointDocument } from "./documents.js";
import type { SecretBox } from "./secret-box.js";

/**
 * What API reads show instead of a custom header's value. Header values are write-only: they are
 * credentials more often than not (Authorization, API keys), so only their names are shown. Sent back in
 * an update, it stands for the value stored under that name.
 */
export const HEADER_VALUE_MASK = "[sealed]";

/** The stored form of an endpoint's custom headers: their names, and names and values sealed together. */
export function sealHeaders(
  headers: Readonly<Record<string, string>>,
  box: SecretBox,
): Pick<EndpointDocument, "headers" | "sealed_headers" | "header_names"> {
  return {
    headers: {},
    sealed_headers: box.seal(JSON.stringify(headers)),
    header_names: Object.keys(headers),
  };
}

// Parsed headers by endpoint document: the data plane's caches hand out the same document for every
// delivery, so each one is opened and parsed once.
const opened = new WeakMap<EndpointDocument, Readonly<Record<string, string>>>();

/**
 * The endpoint's custom headers in clear, to build a delivery request (or to list their names): the
 * sealed ones, over any stored in clear by a version that did not seal them yet. Throws SecretBoxError
 * when the sealing key is not in the ring.
 */
export function endpointHeaders(
  endpoint: EndpointDocument,
  box: SecretBox,
): Readonly<Record<string, string>> {
  if (endpoint.sealed_headers === undefined) return endpoint.headers ?? {};
  let headers = opened.get(endpoint);
  if (headers === undefined) {
    headers = {
      ...endpoint.headers,
      ...(JSON.parse(box.open(endpoint.sealed_headers)) as Record<string, string>),
    };
    opened.set(endpoint, headers);
  }
  return headers;
}

/**
 * The endpoint's custom header names, each with {@link HEADER_VALUE_MASK} for its value. Nothing is
 * opened, so a read never depends on the key ring.
 */
export function maskedHeaders(endpoint: EndpointDocument): Record<string, string> {
  const names = [...Object.keys(endpoint.headers ?? {}), ...(endpoint.header_names ?? [])];
  return Object.fromEntries(names.map((name) => [name, HEADER_VALUE_MASK]));
}

/**
 * The headers an update asks for, with each masked value replaced by the value stored under that name
 * (names match case-insensitively). Returns the name of a masked header the endpoint does not have, if any.
 */
export function unmaskHeaders(
  requested: Readonly<Record<string, string>>,
  stored: Readonly<Record<string, string>>,
): { headers: Record<string, string> } | { unknown: string } {
  const storedByName = new Map(Object.entries(stored).map(([name, value]) => [name.toLowerCase(), value]));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(requested)) {
    if (value !== HEADER_VALUE_MASK) {
      headers[name] = value;
      continue;
    }
    const kept = storedByName.get(name.toLowerCase());
    if (kept === undefined) return { unknown: name };
    headers[name] = kept;
  }
  return { headers };
}
