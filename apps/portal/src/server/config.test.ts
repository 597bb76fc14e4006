import { describe, expect, it } from "vitest";
import { loadPortalConfig, upstreamTlsFiles } from "./config.js";

const ADMIN_KEY = "k".repeat(32);

describe("loadPortalConfig", () => {
  it("takes the CLI's TLS variables, and none by default", () => {
    expect(upstreamTlsFiles(loadPortalConfig({ HERALD_ADMIN_KEY: ADMIN_KEY }))).toEqual({});
    const config = loadPortalConfig({
      HERALD_ADMIN_KEY: ADMIN_KEY,
      HERALD_TLS_CA_FILE: "/tls/ca.pem",
      HERALD_TLS_CERT_FILE: "/tls/client.pem",
      HERALD_TLS_KEY_FILE: "/tls/client-key.pem",
    });
    expect(upstreamTlsFiles(config)).toEqual({
      caFile: "/tls/ca.pem",
      certFile: "/tls/client.pem",
      keyFile: "/tls/client-key.pem",
    });
  });

  it("counts an empty variable as unset", () => {
    const config = loadPortalConfig({
      HERALD_ADMIN_KEY: ADMIN_KEY,
      HERALD_TLS_CA_FILE: "",
      HERALD_TLS_CERT_FILE: "",
      HERALD_TLS_KEY_FILE: "",
    });
    expect(upstreamTlsFiles(config)).toEqual({});
  });

  it("refuses a client certificate without its key, and a key without its certificate", () => {
    expect(() =>
      loadPortalConfig({ HERALD_ADMIN_KEY: ADMIN_KEY, HERALD_TLS_CERT_FILE: "/tls/client.pem" }),
    ).toThrow(
      "invalid portal configuration:\nHERALD_TLS_KEY_FILE: required with HERALD_TLS_CERT_FILE (a client certificate needs its key)",
    );
    expect(() =>
      loadPortalConfig({
        HERALD_ADMIN_KEY: ADMIN_KEY,
        HERALD_TLS_CA_FILE: "/tls/ca.pem",
        HERALD_TLS_KEY_FILE: "/tls/client-key.pem",
      }),
    ).toThrow("HERALD_TLS_CERT_FILE: required with HERALD_TLS_KEY_FILE (a key needs its certificate)");
  });

  it("lists each bad variable on its own line", () => {
    expect(() => loadPortalConfig({ HERALD_ADMIN_KEY: "short", PORTAL_PORT: "70000" })).toThrow(
      /^invalid portal configuration:\nPORTAL_PORT: .*\nHERALD_ADMIN_KEY: /,
    );
  });
});
