import { describe, expect, it } from "vitest";
import {
  EMPTY_ALLOWLIST,
  embeddedIpv4,
  forbiddenAddressReason,
  forbiddenDestinationReason,
  isForbiddenAddress,
  isLocalhostName,
  parseAllowlist,
} from "./address-policy.js";

const none = EMPTY_ALLOWLIST;

describe("isForbiddenAddress", () => {
  it.each([
    ["127.0.0.1", "a loopback address"],
    ["127.255.0.9", "a loopback address"],
    ["10.0.0.5", "a private address"],
    ["172.16.0.1", "a private address"],
    ["172.31.255.255", "a private address"],
    ["192.168.1.1", "a private address"],
    ["169.254.1.1", "a link-local address"],
    ["169.254.169.254", "the cloud metadata address"],
    ["100.64.0.1", "a carrier-grade NAT (shared) address"],
    ["100.127.255.255", "a carrier-grade NAT (shared) address"],
    ["224.0.0.1", "a multicast address"],
    ["239.255.255.250", "a multicast address"],
    ["0.0.0.0", 'an unspecified ("this network") address'],
    ["255.255.255.255", "the broadcast address"],
    ["240.0.0.1", "a reserved address"],
    ["192.0.2.10", "a documentation address"],
  ])("refuses IPv4 %s as %s", (ip, reason) => {
    expect(forbiddenAddressReason(ip, none)).toBe(reason);
    expect(isForbiddenAddress(ip, none)).toBe(true);
  });

  it.each([
    ["::1", "a loopback address"],
    ["::", "the unspecified address"],
    ["fe80::1", "a link-local address"],
    ["febf::1", "a link-local address"],
    ["fc00::1", "a unique-local (private) address"],
    ["fd12:3456::1", "a unique-local (private) address"],
    ["ff02::1", "a multicast address"],
    ["fd00:ec2::254", "the cloud metadata address"],
    ["2001:db8::1", "a documentation address"],
    ["2001:0:4136:e378::1", "a Teredo tunnel address"],
    ["::7f00:1", "a deprecated IPv4-compatible address"],
  ])("refuses IPv6 %s as %s", (ip, reason) => {
    expect(forbiddenAddressReason(ip, none)).toBe(reason);
  });

  it.each([
    ["::ffff:127.0.0.1", "a loopback address (it carries the IPv4 address 127.0.0.1)"],
    ["::ffff:7f00:1", "a loopback address (it carries the IPv4 address 127.0.0.1)"],
    ["::FFFF:A00:5", "a private address (it carries the IPv4 address 10.0.0.5)"],
    [
      "0:0:0:0:0:ffff:169.254.169.254",
      "the cloud metadata address (it carries the IPv4 address 169.254.169.254)",
    ],
    ["::ffff:0:192.168.0.1", "a private address (it carries the IPv4 address 192.168.0.1)"],
    ["64:ff9b::10.1.2.3", "a private address (it carries the IPv4 address 10.1.2.3)"],
    ["64:ff9b::a9fe:a9fe", "the cloud metadata address (it carries the IPv4 address 169.254.169.254)"],
    ["2002:c0a8:101::1", "a private address (it carries the IPv4 address 192.168.1.1)"],
  ])("refuses %s, which embeds a forbidden IPv4 address", (ip, reason) => {
    expect(forbiddenAddressReason(ip, none)).toBe(reason);
  });

  it.each([
    "93.184.215.14",
    "8.8.8.8",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
  ])("allows public %s", (ip) => {
    expect(isForbiddenAddress(ip, none)).toBe(false);
  });

  it("refuses local-use NAT64 whatever it embeds, and anything that is not an address", () => {
    expect(forbiddenAddressReason("64:ff9b:1::808:808", none)).toBe("a local-use NAT64 address");
    expect(isForbiddenAddress("example.com", none)).toBe(true);
    expect(isForbiddenAddress("", none)).toBe(true);
  });

  it("allows what the allowlist names, also through an IPv4-mapped form, and nothing else", () => {
    const allowlist = parseAllowlist("127.0.0.1/32, ::1/128, 10.20.0.0/16, localhost");
    expect(isForbiddenAddress("127.0.0.1", allowlist)).toBe(false);
    expect(isForbiddenAddress("::ffff:127.0.0.1", allowlist)).toBe(false);
    expect(isForbiddenAddress("::ffff:7f00:1", allowlist)).toBe(false);
    expect(isForbiddenAddress("::1", allowlist)).toBe(false);
    expect(isForbiddenAddress("10.20.3.4", allowlist)).toBe(false);
    expect(isForbiddenAddress("127.0.0.2", allowlist)).toBe(true);
    expect(isForbiddenAddress("10.21.0.1", allowlist)).toBe(true);
    expect(isForbiddenAddress("169.254.169.254", allowlist)).toBe(true);
  });
});

describe("embeddedIpv4", () => {
  it("reads mapped, translated, NAT64 and 6to4 addresses, and nothing else", () => {
    expect(embeddedIpv4("::ffff:7f00:1")).toBe("127.0.0.1");
    expect(embeddedIpv4("::ffff:1.2.3.4")).toBe("1.2.3.4");
    expect(embeddedIpv4("::ffff:0:1.2.3.4")).toBe("1.2.3.4");
    expect(embeddedIpv4("64:ff9b::102:304")).toBe("1.2.3.4");
    expect(embeddedIpv4("2002:102:304::")).toBe("1.2.3.4");
    expect(embeddedIpv4("2606:4700::1")).toBeUndefined();
    expect(embeddedIpv4("::1")).toBeUndefined();
  });
});

describe("parseAllowlist", () => {
  it("reads CIDRs, single addresses and hostnames", () => {
    const allowlist = parseAllowlist("192.168.0.0/16,fd00::/8 , 10.0.0.7,Receiver.Internal.,");
    expect(allowlist.ranges.check("192.168.44.1", "ipv4")).toBe(true);
    expect(allowlist.ranges.check("fd12::1", "ipv6")).toBe(true);
    expect(allowlist.ranges.check("10.0.0.7", "ipv4")).toBe(true);
    expect(allowlist.ranges.check("10.0.0.8", "ipv4")).toBe(false);
    expect([...allowlist.hostnames]).toEqual(["receiver.internal"]);
  });

  it.each(["10.0.0.0/33", "::/129", "10.0.0.0/x", "foo/8", "not a host", "a..b"])("refuses %j", (entry) => {
    expect(() => parseAllowlist(entry)).toThrow(/"/);
  });
});

describe("isLocalhostName", () => {
  it.each(["localhost", "LOCALHOST", "localhost.", "app.localhost", "a.b.localhost."])(
    "%s is local",
    (name) => {
      expect(isLocalhostName(name)).toBe(true);
    },
  );
  it.each(["localhost.example.com", "notlocalhost", "example.com"])("%s is not", (name) => {
    expect(isLocalhostName(name)).toBe(false);
  });
});

describe("forbiddenDestinationReason (the one URL policy of creation and delivery)", () => {
  it("allows an allowlisted host name at whatever address it resolves to", () => {
    const byName = parseAllowlist("localhost,receiver.internal");
    expect(forbiddenDestinationReason("localhost", "127.0.0.1", byName)).toBeUndefined();
    expect(forbiddenDestinationReason("LocalHost.", "::1", byName)).toBeUndefined();
    expect(forbiddenDestinationReason("receiver.internal", "10.0.0.5", byName)).toBeUndefined();
    // The name is allowed, not its address: the address by itself, or another name, stays private.
    expect(forbiddenDestinationReason("127.0.0.1", "127.0.0.1", byName)).toBe("a loopback address");
    expect(forbiddenDestinationReason("other.internal", "10.0.0.5", byName)).toBe("a private address");
  });

  it("allows an address in an allowlisted range whatever the host name", () => {
    const byRange = parseAllowlist("127.0.0.0/8");
    expect(forbiddenDestinationReason("127.0.0.1", "127.0.0.1", byRange)).toBeUndefined();
    expect(forbiddenDestinationReason("anything.example", "127.0.0.9", byRange)).toBeUndefined();
    expect(forbiddenDestinationReason("anything.example", "::1", byRange)).toBe("a loopback address");
  });

  it("refuses a private address nothing allowlists, and allows a public one", () => {
    expect(forbiddenDestinationReason("sneaky.example", "10.0.0.5", none)).toBe("a private address");
    expect(forbiddenDestinationReason("localhost", "127.0.0.1", none)).toBe("a loopback address");
    expect(forbiddenDestinationReason("public.example", "93.184.215.14", none)).toBeUndefined();
  });
});
