import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readUpstreamTls, UpstreamClient, UpstreamTlsError } from "./upstream.js";

// Certificates from the repository's own script: a CA, a server and a client pair.
const CERT_SCRIPT = fileURLToPath(new URL("../../../../scripts/tls-certs.sh", import.meta.url));
let dir = "";
/** Certificates of another CA, which the server below does not trust. */
let otherDir = "";
const file = (name: string) => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "herald-portal-tls-"));
  otherDir = mkdtempSync(join(tmpdir(), "herald-portal-tls-other-"));
  for (const d of [dir, otherDir])
    execFileSync("bash", [CERT_SCRIPT, d], { stdio: ["ignore", "ignore", "pipe"] });
});

afterAll(() => {
  for (const d of [dir, otherDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe("readUpstreamTls", () => {
  it("reads the CA beside the default ones, and the client pair", () => {
    const material = readUpstreamTls({
      caFile: file("ca.pem"),
      certFile: file("client.pem"),
      keyFile: file("client-key.pem"),
    });
    expect(material.ca?.at(-1)).toEqual(readFileSync(file("ca.pem")));
    expect(material.ca?.length).toBeGreaterThan(1);
    expect(material.cert).toEqual(readFileSync(file("client.pem")));
    expect(material.key).toEqual(readFileSync(file("client-key.pem")));
    expect(readUpstreamTls({})).toEqual({});
  });

  it("names the variable of a file it cannot read", () => {
    const read = () => readUpstreamTls({ caFile: file("missing.pem") });
    expect(read).toThrow(UpstreamTlsError);
    expect(read).toThrow(`HERALD_TLS_CA_FILE: cannot read ${file("missing.pem")} (ENOENT)`);
  });

  it("refuses a key that is not the certificate's, and a file that is no PEM", () => {
    expect(() => readUpstreamTls({ certFile: file("client.pem"), keyFile: file("server-key.pem") })).toThrow(
      /^the TLS files are not usable \(HERALD_TLS_CERT_FILE=.*client\.pem, HERALD_TLS_KEY_FILE=.*server-key\.pem\): /,
    );
    writeFileSync(file("junk.pem"), "not a certificate");
    expect(() => readUpstreamTls({ certFile: file("junk.pem"), keyFile: file("client-key.pem") })).toThrow(
      UpstreamTlsError,
    );
  });

  it("refuses bad files at start", () => {
    expect(() => new UpstreamClient({ caFile: file("missing.pem") })).toThrow("HERALD_TLS_CA_FILE");
  });
});

describe("UpstreamClient", () => {
  let server: Server;
  let url = "";
  const clients: UpstreamClient[] = [];

  beforeAll(async () => {
    // A service port with RPC_TLS_CLIENT_AUTH=require: clients without a certificate from the CA are refused.
    server = createServer(
      {
        cert: readFileSync(file("server.pem")),
        key: readFileSync(file("server-key.pem")),
        ca: readFileSync(file("ca.pem")),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ authorization: req.headers.authorization }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/herald.v1.TenantService/GetTenant`;
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  const client = (...args: ConstructorParameters<typeof UpstreamClient>) => {
    const made = new UpstreamClient(...args);
    clients.push(made);
    return made;
  };
  const call = (c: UpstreamClient) =>
    c.fetch(url, { method: "POST", headers: new Headers({ authorization: "Bearer t" }), body: "{}" });

  it("trusts the CA file and presents the client certificate", async () => {
    const c = client({
      caFile: file("ca.pem"),
      certFile: file("client.pem"),
      keyFile: file("client-key.pem"),
    });
    const res = await call(c);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ authorization: "Bearer t" });
  });

  it("is refused without a client certificate, and without the CA", async () => {
    await expect(call(client({ caFile: file("ca.pem") }))).rejects.toThrow("fetch failed");
    await expect(
      call(client({ certFile: file("client.pem"), keyFile: file("client-key.pem") })),
    ).rejects.toThrow("fetch failed");
  });

  it("presents a renewed certificate once its files change, and keeps the old one over a bad pair", async () => {
    // The portal's files start as another CA's client pair, which the server refuses.
    const own = mkdtempSync(join(tmpdir(), "herald-portal-tls-own-"));
    try {
      const cert = join(own, "client.pem");
      const key = join(own, "client-key.pem");
      copyFileSync(join(otherDir, "client.pem"), cert);
      copyFileSync(join(otherDir, "client-key.pem"), key);
      const reloads: Array<Error | undefined> = [];
      const c = client(
        { caFile: file("ca.pem"), certFile: cert, keyFile: key },
        { reloadIntervalMs: 20, onReload: (err) => reloads.push(err) },
      );
      await expect(call(c)).rejects.toThrow("fetch failed");

      // Half-replaced: the new certificate beside the old key is refused and reported.
      copyFileSync(file("client.pem"), cert);
      await until(() => reloads.some((err) => err !== undefined));
      expect(reloads.find((err) => err !== undefined)).toBeInstanceOf(UpstreamTlsError);

      copyFileSync(file("client-key.pem"), key);
      await until(() => reloads.at(-1) === undefined && reloads.length > 1);
      expect((await call(c)).status).toBe(200);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});

/** Waits for `done`, polling; fails after 10 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for a reload");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
