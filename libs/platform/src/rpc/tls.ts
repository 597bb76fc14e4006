import fs from "node:fs";
import tls from "node:tls";

/** Where an RPC port's TLS certificate and key are, and whether it asks clients for certificates. */
export interface RpcTlsOptions {
  /** PEM certificate chain, leaf first. */
  certFile: string;
  /** PEM private key of the certificate. */
  keyFile: string;
  /** PEM certificates of the CAs that sign client certificates; set, clients are asked for one. */
  clientCaFile?: string;
  /**
   * With `clientCaFile`: "require" (the default) refuses a client without a valid certificate;
   * "optional" admits one without a certificate but refuses an invalid one.
   */
  clientAuth?: "require" | "optional";
  /** How often the files are checked for changes, in ms; default 5,000. */
  reloadIntervalMs?: number;
  /** Told after each reload: with the error when the new files were refused and the old ones kept. */
  onReload?: (error?: Error) => void;
}

/** The option of {@link RpcTlsOptions} a {@link TlsFileError} is about; "pair" for cert and key. */
export type TlsFileOption = "certFile" | "keyFile" | "clientCaFile" | "pair";

/** A file of the TLS settings that could not be read or used; says which and why. */
export class TlsFileError extends Error {
  readonly option: TlsFileOption;
  constructor(option: TlsFileOption, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsFileError";
    this.option = option;
  }
}

function readPem(path: string, option: TlsFileOption, what: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new TlsFileError(option, `cannot read the TLS ${what} file ${path}: ${code}`, { cause: err });
  }
}

/**
 * Reads the certificate, key and client CA and checks that they make a usable context (the key matches
 * the certificate, the PEM parses), so a bad file is refused here rather than on the first handshake.
 */
export function readSecureContextOptions(options: RpcTlsOptions): tls.SecureContextOptions {
  const context: tls.SecureContextOptions = {
    cert: readPem(options.certFile, "certFile", "certificate"),
    key: readPem(options.keyFile, "keyFile", "key"),
    ...(options.clientCaFile ? { ca: readPem(options.clientCaFile, "clientCaFile", "client CA") } : {}),
  };
  try {
    tls.createSecureContext(context);
  } catch (err) {
    throw new TlsFileError(
      "pair",
      `the TLS certificate ${options.certFile} and key ${options.keyFile} are not usable: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return context;
}

/**
 * The options of a TLS server for the RPC port: HTTP/2 or HTTP/1.1 chosen by ALPN, client certificates
 * as configured, and a handshake that must finish within `handshakeTimeoutMs`.
 */
export function tlsServerOptions(options: RpcTlsOptions, handshakeTimeoutMs: number): tls.TlsOptions {
  const askClients = options.clientCaFile !== undefined;
  return {
    ...readSecureContextOptions(options),
    ALPNProtocols: ["h2", "http/1.1"],
    requestCert: askClients,
    rejectUnauthorized: askClients && (options.clientAuth ?? "require") === "require",
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/**
 * In "optional" client-certificate mode the handshake admits every client; one that presented a
 * certificate the CA does not vouch for is refused here.
 */
export function presentedInvalidCertificate(socket: tls.TLSSocket): boolean {
  if (socket.authorized) return false;
  const peer = socket.getPeerCertificate();
  return peer !== null && Object.keys(peer).length > 0;
}

/**
 * Watches the certificate, key and client CA files and hands a new secure context to `server` when
 * any of them changes; new connections get it, open ones keep theirs. Files caught half-replaced (a
 * new certificate beside the old key) are refused, and the next change is tried again. Polls by path,
 * so a file replaced by a rename (as Kubernetes updates secrets) is seen too. Returns the stop function.
 */
export function watchCertificates(server: tls.Server, options: RpcTlsOptions): () => void {
  const files = [options.certFile, options.keyFile, options.clientCaFile].filter(
    (file): file is string => file !== undefined,
  );
  const interval = options.reloadIntervalMs ?? 5_000;
  const reload = (current: fs.Stats, previous: fs.Stats) => {
    const same =
      current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size;
    if (same) return;
    try {
      server.setSecureContext(readSecureContextOptions(options));
      options.onReload?.();
    } catch (err) {
      options.onReload?.(err as Error);
    }
  };
  for (const file of files) fs.watchFile(file, { interval, persistent: false }, reload);
  return () => {
    for (const file of files) fs.unwatchFile(file, reload);
  };
}
