import fs from "node:fs";
import tls from "node:tls";
import { Agent, fetch as undiciFetch } from "undici";

/** What the portal reads of a service's answer. */
export interface UpstreamResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
  json(): Promise<unknown>;
}

/** One HTTP call to a service: `fetch`'s shape, so tests pass a fake. */
export type UpstreamFetch = (
  url: string,
  init: { method: "POST"; headers: Headers; body: Uint8Array | string },
) => Promise<UpstreamResponse>;

/** PEM files for https:// service URLs; each one left out is not used. */
export interface UpstreamTlsFiles {
  /** CAs to trust besides the default ones (the bundled roots and NODE_EXTRA_CA_CERTS). */
  caFile?: string;
  /** A client certificate and its key, for services that require one (RPC_TLS_CLIENT_AUTH). */
  certFile?: string;
  keyFile?: string;
}

/** The environment variable each file comes from, for error messages. */
export const TLS_FILE_VARIABLES: Readonly<Record<keyof UpstreamTlsFiles, string>> = {
  caFile: "HERALD_TLS_CA_FILE",
  certFile: "HERALD_TLS_CERT_FILE",
  keyFile: "HERALD_TLS_KEY_FILE",
};

/** A TLS file that cannot be read or used; the message names its variable and why. */
export class UpstreamTlsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UpstreamTlsError";
  }
}

/** What TLS connections to the services trust and present. */
export interface UpstreamTlsMaterial {
  ca?: Array<string | Buffer>;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Reads the files and checks that they make a usable context (the PEM parses, the key matches the
 * certificate), so a bad file is refused at start or on reload rather than on the first call.
 */
export function readUpstreamTls(files: UpstreamTlsFiles): UpstreamTlsMaterial {
  const read = (option: keyof UpstreamTlsFiles): Buffer | undefined => {
    const path = files[option];
    if (path === undefined) return undefined;
    try {
      return fs.readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new UpstreamTlsError(`${TLS_FILE_VARIABLES[option]}: cannot read ${path} (${code})`, {
        cause: err,
      });
    }
  };
  const caPem = read("caFile");
  const material: UpstreamTlsMaterial = {
    // A `ca` option replaces the default roots, so they are passed along with the file's.
    ...(caPem && { ca: [...tls.getCACertificates("default"), caPem] }),
    ...(files.certFile !== undefined && { cert: read("certFile") }),
    ...(files.keyFile !== undefined && { key: read("keyFile") }),
  };
  try {
    tls.createSecureContext(material);
  } catch (err) {
    const names = Object.entries(files)
      .map(([option, path]) => `${TLS_FILE_VARIABLES[option as keyof UpstreamTlsFiles]}=${path}`)
      .join(", ");
    throw new UpstreamTlsError(`the TLS files are not usable (${names}): ${(err as Error).message}`, {
      cause: err,
    });
  }
  return material;
}

export interface UpstreamClientOptions {
  /** How often the files are checked for changes, in ms; default 5,000, as the services do. */
  reloadIntervalMs?: number;
  /** Told after each reload: with the error when the new files were refused and the old ones kept. */
  onReload?: (error?: Error) => void;
}

/**
 * The portal's HTTP client to routing and audit: undici's fetch through one Agent that trusts the CA
 * file and presents the client certificate, so services that require client certificates can be
 * reached. The files are read at start (a bad one throws) and polled by path; on a change a new Agent
 * takes the next calls, and the old one closes once its calls are done. Files caught half-replaced are
 * refused and the old Agent kept.
 */
export class UpstreamClient {
  #agent: Agent;
  readonly #files: UpstreamTlsFiles;
  readonly #watched: string[];
  readonly #reload: (current: fs.Stats, previous: fs.Stats) => void;

  constructor(files: UpstreamTlsFiles, options: UpstreamClientOptions = {}) {
    this.#files = files;
    this.#agent = agentOf(readUpstreamTls(files));
    this.#watched = Object.values(files).filter((path): path is string => path !== undefined);
    this.#reload = (current, previous) => {
      const same =
        current.mtimeMs === previous.mtimeMs &&
        current.ino === previous.ino &&
        current.size === previous.size;
      if (same) return;
      let next: Agent;
      try {
        next = agentOf(readUpstreamTls(this.#files));
      } catch (err) {
        options.onReload?.(err as Error);
        return;
      }
      const old = this.#agent;
      this.#agent = next;
      void old.close().catch(() => undefined);
      options.onReload?.();
    };
    const interval = options.reloadIntervalMs ?? 5_000;
    for (const file of this.#watched) fs.watchFile(file, { interval, persistent: false }, this.#reload);
  }

  readonly fetch: UpstreamFetch = (url, init) =>
    undiciFetch(url, { ...init, headers: [...init.headers], dispatcher: this.#agent });

  /** Stops watching the files and closes the connections once their calls are done. */
  async close(): Promise<void> {
    for (const file of this.#watched) fs.unwatchFile(file, this.#reload);
    await this.#agent.close();
  }
}

function agentOf(material: UpstreamTlsMaterial): Agent {
  return new Agent({ connect: { ...material } });
}
