import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const CERT_SCRIPT = fileURLToPath(new URL("../../../../scripts/tls-certs.sh", import.meta.url));

/** PEM files made by scripts/tls-certs.sh in a temporary directory: a CA, a server and a client. */
export interface TestCertificates {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Issues a fresh server and client certificate from the same CA into the same files. */
  renew(): void;
  remove(): void;
}

/**
 * Makes a private CA and certificates for 127.0.0.1, ::1 and localhost with `openssl`, so no key is
 * ever committed. Remove them with `remove()`.
 */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-tls-"));
  const run = () => execFileSync("bash", [CERT_SCRIPT, dir], { stdio: ["ignore", "ignore", "pipe"] });
  run();
  const file = (name: string) => path.join(dir, name);
  return {
    dir,
    ca: file("ca.pem"),
    serverCert: file("server.pem"),
    serverKey: file("server-key.pem"),
    clientCert: file("client.pem"),
    clientKey: file("client-key.pem"),
    renew: run,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
