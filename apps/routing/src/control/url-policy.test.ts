import { EMPTY_ALLOWLIST, parseAllowlist } from "@herald/platform/model";
import { describe, expect, it } from "vitest";
import { checkEndpointUrl, type HostResolver, type UrlPolicy } from "./url-policy.js";

// The address rules themselves are tested with the platform (libs/platform/src/address-policy.test.ts).

const none = EMPTY_ALLOWLIST;

describe("checkEndpointUrl", () => {
  const resolved: Record<string, string[]> = {
    "public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "sneaky.example": ["93.184.215.14", "10.0.0.5"],
    "mapped.example": ["::ffff:7f00:1"],
    "metadata.example": ["169.254.169.254"],
    "empty.example": [],
  };
  const resolve: HostResolver = async (host) => {
    const addresses = resolved[host];
    if (!addresses) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
    return addresses;
  };
  const policy: UrlPolicy = { allowlist: none, allowHttp: false, resolve };
  const problem = (url: string, p: UrlPolicy = policy) =>
    checkEndpointUrl(url, p).then(
      () => "accepted",
      (err: Error) => err.message,
    );

  it("accepts https URLs of public hosts and addresses", async () => {
    expect(await problem("https://public.example/hooks?x=1")).toBe("accepted");
    expect(await problem("https://93.184.215.14:8443/hooks")).toBe("accepted");
    expect(await problem("https://[2606:4700:4700::1111]/")).toBe("accepted");
  });

  it("says what to fix about the URL itself", async () => {
    expect(await problem("")).toMatch(/^url: required/);
    expect(await problem("not a url")).toMatch(/^url: is not an absolute URL/);
    expect(await problem(" https://public.example/")).toMatch(/spaces/);
    expect(await problem("ftp://public.example/")).toBe('url: scheme "ftp" is not supported; use https');
    expect(await problem("file:///etc/passwd")).toMatch(/scheme "file"/);
    expect(await problem("http://public.example/")).toBe(
      "url: must use https (operators can allow http with HERALD_ALLOW_HTTP=true)",
    );
    expect(await problem("http://public.example/", { ...policy, allowHttp: true })).toBe("accepted");
    expect(await problem("https://user:pw@public.example/")).toMatch(/must not contain credentials/);
    expect(await problem("https://user@public.example/")).toMatch(/must not contain credentials/);
    expect(await problem("https://public.example/#part")).toMatch(/must not contain a fragment/);
    expect(await problem("https://public.example/#")).toMatch(/must not contain a fragment/);
    expect(await problem(`https://public.example/${"a".repeat(2048)}`)).toMatch(/at most 2048/);
  });

  it("refuses private hosts, literal or however written", async () => {
    expect(await problem("https://10.0.0.5/")).toBe(
      'url: host "10.0.0.5" is a private address; Herald only delivers to public addresses (operators can allow it with HERALD_URL_ALLOWLIST)',
    );
    // WHATWG URL parsing turns these spellings into 127.0.0.1.
    expect(await problem("https://0x7f.1/")).toMatch(/host "127.0.0.1" is a loopback address/);
    expect(await problem("https://2130706433/")).toMatch(/host "127.0.0.1" is a loopback address/);
    expect(await problem("https://[::ffff:127.0.0.1]/")).toMatch(
      /host "::ffff:7f00:1" is a loopback address/,
    );
    expect(await problem("https://[::1]/")).toMatch(/loopback/);
    expect(await problem("https://[64:ff9b::a00:1]/")).toMatch(/private address/);
    expect(await problem("https://localhost/")).toMatch(/host "localhost" is this machine/);
    expect(await problem("https://api.localhost./")).toMatch(/is this machine/);
  });

  it("refuses hosts that resolve to any forbidden address", async () => {
    expect(await problem("https://sneaky.example/")).toBe(
      'url: host "sneaky.example" resolves to 10.0.0.5, a private address; Herald only delivers to public addresses (operators can allow it with HERALD_URL_ALLOWLIST)',
    );
    expect(await problem("https://mapped.example/")).toMatch(/resolves to ::ffff:7f00:1, a loopback/);
    expect(await problem("https://metadata.example/")).toMatch(/the cloud metadata address/);
    expect(await problem("https://nowhere.example/")).toBe(
      'url: host "nowhere.example" does not resolve (ENOTFOUND); check the name',
    );
    expect(await problem("https://empty.example/")).toMatch(/does not resolve to any address/);
  });

  it("gives up on a resolver that does not answer", async () => {
    const hanging: UrlPolicy = { ...policy, resolve: () => new Promise(() => {}), resolveTimeoutMs: 20 };
    expect(await problem("https://public.example/", hanging)).toMatch(/does not resolve \(timed out\)/);
  });

  it("lets the allowlist permit addresses and names", async () => {
    const local: UrlPolicy = {
      allowlist: parseAllowlist("127.0.0.1/32,::1/128,localhost,sneaky.example,10.0.0.0/8"),
      allowHttp: true,
      resolve,
    };
    expect(await problem("http://127.0.0.1:8080/hook", local)).toBe("accepted");
    expect(await problem("http://[::1]:8080/hook", local)).toBe("accepted");
    expect(await problem("http://localhost:8080/hook", local)).toBe("accepted");
    expect(await problem("http://sneaky.example/", local)).toBe("accepted");
    expect(await problem("http://127.0.0.2/", local)).toMatch(/loopback/);
    // *.localhost means the loopback addresses, which the ranges allow.
    expect(await problem("http://app.localhost/", local)).toBe("accepted");
  });

  it("accepts an allowlisted host name by name, not the private addresses it resolves to", async () => {
    const byName: UrlPolicy = {
      allowlist: parseAllowlist("localhost,sneaky.example"),
      allowHttp: true,
      resolve,
    };
    expect(await problem("http://localhost:8080/hook", byName)).toBe("accepted");
    expect(await problem("http://LOCALHOST.:8080/hook", byName)).toBe("accepted");
    expect(await problem("http://sneaky.example/", byName)).toBe("accepted");
    expect(await problem("http://127.0.0.1:8080/hook", byName)).toMatch(/loopback address/);
    expect(await problem("http://app.localhost/", byName)).toMatch(/is this machine/);
  });

  it("accepts loopback names when only the loopback ranges are allowlisted", async () => {
    const byRange: UrlPolicy = { allowlist: parseAllowlist("127.0.0.0/8,::1/128"), allowHttp: true, resolve };
    expect(await problem("http://localhost:8080/hook", byRange)).toBe("accepted");
    expect(await problem("http://127.0.0.1:8080/hook", byRange)).toBe("accepted");
    expect(await problem("http://10.0.0.5/", byRange)).toMatch(/private address/);
  });

  it("names the field it checks", async () => {
    await expect(checkEndpointUrl("https://10.0.0.1/", policy, "url")).rejects.toMatchObject({
      field: "url",
    });
  });
});
