/**
 * AMQP_URL names one broker or a cluster's nodes as a comma-separated list of URLs. rabbitmq-client
 * connects to one host at a time and, on every (re)connect, tries the next one of `hosts`; the
 * credentials, vhost and options come from the first URL, so every URL of a list must agree on them.
 */

const SCHEMES = ["amqp:", "amqps:"];

/** What {@link amqpConnectionOptions} gives rabbitmq-client's `Connection`. */
export interface AmqpConnectionOptions {
  url: string;
  /** `host:port` of every node, in the order given; absent for a single URL. */
  hosts?: string[];
}

/** Why `value` is no AMQP_URL, or undefined when it is one. */
export function amqpUrlProblem(value: string): string | undefined {
  const parts = value.split(",").map((part) => part.trim());
  const urls: URL[] = [];
  for (const part of parts) {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      return "must be an amqp:// or amqps:// URL, or a comma-separated list of them";
    }
    if (!SCHEMES.includes(url.protocol))
      return "must be an amqp:// or amqps:// URL, or a comma-separated list of them";
    urls.push(url);
  }
  if (urls.length === 1) return undefined;
  const [first] = urls as [URL, ...URL[]];
  const shared = (url: URL) => [url.protocol, url.username, url.password, url.pathname, url.search].join(" ");
  if (urls.some((url) => shared(url) !== shared(first)))
    return "the URLs of a list must share scheme, user, password, vhost and options: only the host and port may differ";
  // rabbitmq-client splits host:port at the first colon.
  if (urls.some((url) => url.hostname.startsWith("[")))
    return "a list of URLs cannot name IPv6 addresses; use host names";
  return undefined;
}

/** rabbitmq-client's connection options for a valid AMQP_URL (see {@link amqpUrlProblem}). */
export function amqpConnectionOptions(value: string): AmqpConnectionOptions {
  const parts = value.split(",").map((part) => part.trim());
  const [first = value] = parts;
  if (parts.length === 1) return { url: first };
  const hosts = parts.map((part) => {
    const url = new URL(part);
    return `${url.hostname}:${url.port || (url.protocol === "amqps:" ? 5671 : 5672)}`;
  });
  return { url: first, hosts };
}
