/** Anything with a Fetch-style `get`, such as `Headers`; names are matched case-insensitively by it. */
export interface HeadersGetter {
  get(name: string): string | null;
}

/** The three Standard Webhooks headers, as typed by the `standardwebhooks` package. */
export interface WebhookUnbrandedRequiredHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * Request headers: a Fetch `Headers`, Node's `IncomingHttpHeaders` (array values are joined with ", " as
 * HTTP does for repeated headers), or a plain object whose names may be in any case.
 */
export type WebhookHeaders =
  | HeadersGetter
  | WebhookUnbrandedRequiredHeaders
  | { readonly [name: string]: string | readonly string[] | undefined };

/** Reads one header; `name` must be lower case. Tries the exact key first: Node lower-cases names. */
export function readHeader(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Partial<HeadersGetter>).get === "function")
    return (headers as HeadersGetter).get(name) ?? undefined;
  const record = headers as Readonly<Record<string, unknown>>;
  let value = record[name];
  if (value === undefined) {
    for (const key in record) {
      if (key.toLowerCase() === name) {
        value = record[key];
        break;
      }
    }
  }
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.join(", ");
  return undefined;
}
