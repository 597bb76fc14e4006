import { LRUCache } from "lru-cache";

/** What delivering to an endpoint's URL needs of it besides the URL itself. */
export interface UrlParts {
  /** Without the query string, where receivers sometimes put tokens: what attempt records keep. */
  redacted: string;
  /** `url.full` of the request's span: origin and path, no query string either. */
  spanUrl: string;
  /** Where the request goes, as undici's `dispatch` takes it: the origin, then path and query. */
  origin: string;
  path: string;
  hostname: string;
  /** The port connected to: the URL's, or its scheme's default. */
  port: number;
}

/**
 * Parts by URL: every attempt needs them, and parsing the URL for each (twice) was a measurable share of
 * delivery's CPU per event (docs/decisions/single-event-speed.md); endpoints' URLs are few and stable.
 */
const parts = new LRUCache<string, UrlParts>({
  max: 10_000,
  memoMethod: (url) => {
    const parsed = new URL(url);
    return {
      // From protocol and host rather than the origin, which is "null" for a listen endpoint's scheme.
      redacted: `${parsed.protocol}//${parsed.host}${parsed.pathname}`,
      spanUrl: `${parsed.origin}${parsed.pathname}`,
      origin: parsed.origin,
      path: `${parsed.pathname}${parsed.search}`,
      hostname: parsed.hostname,
      port: Number(parsed.port || (parsed.protocol === "https:" ? 443 : 80)),
    };
  },
});

/** The parts of an absolute URL; throws as `new URL` does on one that is not. */
export function urlParts(url: string): UrlParts {
  return parts.memo(url);
}
