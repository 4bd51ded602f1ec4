import assert from "node:assert/strict";
import { createClientAddressResolver } from "../src/client_address.ts";
import { createIpAllowlist } from "../src/ip_allowlist.ts";

Deno.test("createClientAddressResolver() ignores X-Forwarded-For when no proxy is trusted", () => {
  const resolve = createClientAddressResolver([]);
  assert.equal(resolve("203.0.113.9", "100.20.5.228"), "203.0.113.9");
  assert.equal(resolve("127.0.0.1", "100.20.5.228"), "127.0.0.1");
  assert.equal(resolve("::ffff:203.0.113.9", null), "::ffff:203.0.113.9");
});

Deno.test("createClientAddressResolver() ignores X-Forwarded-For when the peer is not a trusted proxy", () => {
  const resolve = createClientAddressResolver(["127.0.0.1", "10.0.0.0/8"]);
  assert.equal(resolve("203.0.113.9", "100.20.5.228"), "203.0.113.9");
  assert.equal(resolve("203.0.113.9", "100.20.5.228, 10.0.0.2"), "203.0.113.9");
  assert.equal(resolve("not-an-ip", "100.20.5.228"), "not-an-ip");
  const isAllowed = createIpAllowlist(["100.20.5.228"]);
  assert.equal(isAllowed(resolve("203.0.113.9", "100.20.5.228")), false);
});

Deno.test("createClientAddressResolver() returns the forwarded address when the peer is a trusted proxy", () => {
  const resolve = createClientAddressResolver(["127.0.0.1"]);
  assert.equal(resolve("127.0.0.1", "100.20.5.228"), "100.20.5.228");
  assert.equal(resolve("127.0.0.1", "  100.20.5.228  "), "100.20.5.228");
  assert.equal(resolve("127.0.0.1", "2001:db8::1"), "2001:db8::1");
});

Deno.test("createClientAddressResolver() returns the right-most untrusted entry when proxies are chained", () => {
  const resolve = createClientAddressResolver(["127.0.0.1", "10.0.0.0/8"]);
  assert.equal(
    resolve("127.0.0.1", "spoofed, 100.20.5.228, 10.0.0.2"),
    "100.20.5.228",
  );
  assert.equal(
    resolve("127.0.0.1", "100.20.5.228, 203.0.113.9, 10.0.0.2"),
    "203.0.113.9",
  );
  assert.equal(
    resolve("10.0.0.3", "1.1.1.1,100.20.5.228,10.0.0.2,127.0.0.1"),
    "100.20.5.228",
  );
  // Two X-Forwarded-For headers, joined by Headers.get().
  const headers = new Headers([
    ["x-forwarded-for", "198.51.100.1"],
    ["x-forwarded-for", "100.20.5.228, 10.0.0.9"],
  ]);
  assert.equal(
    resolve("127.0.0.1", headers.get("x-forwarded-for")),
    "100.20.5.228",
  );
});

Deno.test("createClientAddressResolver() recognises a trusted proxy when the peer is IPv4-mapped", () => {
  const resolve = createClientAddressResolver(["127.0.0.1"]);
  assert.equal(resolve("::ffff:127.0.0.1", "100.20.5.228"), "100.20.5.228");
  assert.equal(resolve("::ffff:7f00:1", "100.20.5.228"), "100.20.5.228");
  assert.equal(
    resolve("127.0.0.1", "100.20.5.228, ::ffff:127.0.0.1"),
    "100.20.5.228",
  );
  const ipv6 = createClientAddressResolver(["::1", "fd00::/8"]);
  assert.equal(ipv6("::1", "100.20.5.228, fd12::3"), "100.20.5.228");
  assert.equal(ipv6("fd00::1%eth0", "100.20.5.228"), "100.20.5.228");
});

Deno.test("createClientAddressResolver() strips ports and brackets when entries carry them", () => {
  const resolve = createClientAddressResolver(["127.0.0.1", "10.0.0.0/8"]);
  const cases: [header: string, expected: string][] = [
    ["100.20.5.228:5678", "100.20.5.228"],
    ["[2001:db8::1]:443", "2001:db8::1"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["100.20.5.228:5678, 10.0.0.2:80", "100.20.5.228"],
    ["100.20.5.228, [::ffff:10.0.0.2]:80", "100.20.5.228"],
    ["2001:db8::1", "2001:db8::1"],
  ];
  for (const [header, expected] of cases) {
    assert.equal(resolve("127.0.0.1", header), expected, header);
  }
});

Deno.test("createClientAddressResolver() returns the peer when the header is missing or blank", () => {
  const resolve = createClientAddressResolver(["127.0.0.1"]);
  assert.equal(resolve("127.0.0.1", null), "127.0.0.1");
  assert.equal(resolve("127.0.0.1", ""), "127.0.0.1");
  assert.equal(resolve("::ffff:127.0.0.1", "  "), "::ffff:127.0.0.1");
});

Deno.test("createClientAddressResolver() returns the peer when every entry is a trusted proxy", () => {
  const resolve = createClientAddressResolver(["127.0.0.1", "10.0.0.0/8"]);
  assert.equal(resolve("127.0.0.1", "10.0.0.1"), "127.0.0.1");
  assert.equal(
    resolve("127.0.0.1", "10.0.0.1, 127.0.0.1, 10.9.9.9:80"),
    "127.0.0.1",
  );
});

Deno.test("createClientAddressResolver() returns a value the allowlist refuses when the entry is not an address", () => {
  const resolve = createClientAddressResolver(["127.0.0.1", "10.0.0.0/8"]);
  const isAllowed = createIpAllowlist(["100.20.5.228"]);
  const headers = [
    "unknown",
    "100.20.5.228, unknown",
    "100.20.5.228, , 10.0.0.2",
    "100.20.5.228,",
    "100.20.5.228:http",
    "[100.20.5.228",
    "[2001:db8::1]x",
    "100.20.5.228 100.20.5.229",
    "100.20.5.228/32",
  ];
  for (const header of headers) {
    const address = resolve("127.0.0.1", header);
    assert.notEqual(address, "127.0.0.1", header);
    assert.equal(isAllowed(address), false, `${header} → ${address}`);
  }
  assert.equal(resolve("127.0.0.1", "100.20.5.228, unknown"), "unknown");
});

Deno.test("createClientAddressResolver() throws a TypeError when a rule is * or cannot be parsed", () => {
  assert.throws(() => createClientAddressResolver(["127.0.0.1", " * "]), {
    name: "TypeError",
    message:
      'Cannot parse proxy rule "*": list the proxies\' addresses instead of trusting everyone',
  });
  assert.throws(() => createClientAddressResolver(["10.0.0.0/33"]), {
    name: "TypeError",
    message:
      'Cannot parse IP rule "10.0.0.0/33": prefix length must be from 0 to 32',
  });
});
