import { describe, expect, it } from "vitest";
import { DEFAULT_TIMEOUT_MS, DEFAULT_URLS, requireApiKey, resolveConfig } from "./config.js";
import { UsageError } from "./errors.js";

describe("resolveConfig", () => {
  it("uses the defaults when nothing is given", () => {
    const config = resolveConfig({}, {});
    expect(config).toEqual({
      apiKey: "",
      urls: DEFAULT_URLS,
      json: false,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      tls: {},
    });
  });

  it("reads the environment, and options win over it", () => {
    const env = {
      HERALD_API_KEY: "hk_env",
      HERALD_INGEST_URL: "http://ingest.internal:7001/",
      HERALD_ROUTING_URL: "https://routing.internal",
      HERALD_DELIVERY_URL: "http://delivery.internal:7003",
      HERALD_AUDIT_URL: "http://audit.internal:7004",
    };
    const fromEnv = resolveConfig({}, env);
    expect(fromEnv.apiKey).toBe("hk_env");
    expect(fromEnv.urls).toEqual({
      ingest: "http://ingest.internal:7001",
      routing: "https://routing.internal",
      delivery: "http://delivery.internal:7003",
      audit: "http://audit.internal:7004",
    });
    const fromOptions = resolveConfig(
      { apiKey: "hk_opt", auditUrl: "http://127.0.0.1:9999", json: true, timeout: 5_000 },
      env,
    );
    expect(fromOptions.apiKey).toBe("hk_opt");
    expect(fromOptions.urls.audit).toBe("http://127.0.0.1:9999");
    expect(fromOptions.urls.routing).toBe("https://routing.internal");
    expect(fromOptions.json).toBe(true);
    expect(fromOptions.timeoutMs).toBe(5_000);
  });

  it("reads the TLS files from the environment, options winning, and wants a certificate's key", () => {
    const env = {
      HERALD_TLS_CA_FILE: "/env/ca.pem",
      HERALD_TLS_CERT_FILE: "/env/c.pem",
      HERALD_TLS_KEY_FILE: "/env/k.pem",
    };
    expect(resolveConfig({ tlsCaFile: "/opt/ca.pem" }, env).tls).toEqual({
      caFile: "/opt/ca.pem",
      certFile: "/env/c.pem",
      keyFile: "/env/k.pem",
    });
    expect(() => resolveConfig({ tlsCertFile: "/c.pem" }, {})).toThrow(
      /--tls-cert-file and --tls-key-file go together/,
    );
  });

  it("refuses URLs that are not http(s)", () => {
    expect(() => resolveConfig({ routingUrl: "localhost:7002" }, {})).toThrow(UsageError);
    expect(() => resolveConfig({}, { HERALD_AUDIT_URL: "not a url" })).toThrow(
      /--audit-url: "not a url" is not a URL/,
    );
  });
});

describe("requireApiKey", () => {
  it("says how to give a key when there is none", () => {
    expect(() => requireApiKey(resolveConfig({}, {}))).toThrow(
      "no API key: set HERALD_API_KEY or pass --api-key",
    );
    expect(requireApiKey(resolveConfig({}, { HERALD_API_KEY: " hk_1 " }))).toBe("hk_1");
  });
});
