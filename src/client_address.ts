/**
 * The caller's address behind trusted reverse proxies, read from
 * `X-Forwarded-For` only when the direct peer is one of those proxies.
 *
 * @module
 */
import { createIpAllowlist } from "./ip_allowlist.ts";

const PORT_REGEXP = /^:[0-9]{1,5}$/;

/**
 * Creates a function that gives the address to check against the allowlist.
 *
 * `trustedProxies` uses the rule syntax of
 * {@linkcode createIpAllowlist} (addresses and CIDR ranges) except `*`.
 * When the list is empty, or the direct peer is not a trusted proxy, the
 * result is the peer and `X-Forwarded-For` is ignored, so a forged header
 * gets nobody in. When the peer is a trusted proxy, the header's entries
 * (comma-separated; several headers joined by ", " work too) are read from
 * the right, entries that are trusted proxies are skipped, and the first
 * other entry is the result, with any port (`1.2.3.4:5678`,
 * `[2001:db8::1]:443`) or brackets removed. Entries further left were written
 * by the caller and are never used. If that entry is not an IP address (for
 * example `unknown`, or an empty entry), it is returned as it is: the
 * allowlist cannot parse it and so refuses it. When the header is missing or
 * blank, or every entry is a trusted proxy, the result is the peer.
 *
 * @param trustedProxies Addresses and CIDR ranges of the reverse proxies.
 * @returns A function from the direct peer's address and the
 * `X-Forwarded-For` header (null when absent) to the caller's address.
 * @throws {TypeError} When a rule is `*` or cannot be parsed; the message
 * quotes it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClientAddressResolver } from "./client_address.ts";
 *
 * const resolve = createClientAddressResolver(["127.0.0.1", "10.0.0.0/8"]);
 * assert.equal(resolve("127.0.0.1", "203.0.113.7, 100.20.5.228, 10.0.0.2"), "100.20.5.228");
 * assert.equal(resolve("203.0.113.9", "100.20.5.228"), "203.0.113.9");
 * assert.equal(resolve("127.0.0.1", null), "127.0.0.1");
 * ```
 */
export function createClientAddressResolver(
  trustedProxies: readonly string[],
): (peer: string, forwardedFor: string | null) => string {
  for (const rule of trustedProxies) {
    if (rule.trim() === "*") {
      throw new TypeError(
        'Cannot parse proxy rule "*": list the proxies\' addresses instead of trusting everyone',
      );
    }
  }
  if (trustedProxies.length === 0) {
    return function resolvePeer(peer: string): string {
      return peer;
    };
  }
  const isTrustedProxy = createIpAllowlist(trustedProxies);
  return function resolveClientAddress(
    peer: string,
    forwardedFor: string | null,
  ): string {
    if (!isTrustedProxy(peer) || forwardedFor === null) return peer;
    if (forwardedFor.trim() === "") return peer;
    // Walk from the right without splitting the whole header.
    let end = forwardedFor.length;
    for (;;) {
      const comma = end === 0 ? -1 : forwardedFor.lastIndexOf(",", end - 1);
      const entry = stripPort(forwardedFor.slice(comma + 1, end).trim());
      if (!isTrustedProxy(entry)) return entry;
      if (comma < 0) return peer;
      end = comma;
    }
  };
}

/** Removes brackets and a port: `[::1]:443` → `::1`, `1.2.3.4:80` → `1.2.3.4`. */
function stripPort(entry: string): string {
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close < 0) return entry;
    const rest = entry.slice(close + 1);
    if (rest !== "" && !PORT_REGEXP.test(rest)) return entry;
    return entry.slice(1, close);
  }
  const colon = entry.indexOf(":");
  // More than one colon is a bare IPv6 address, which cannot carry a port.
  if (colon < 0 || entry.indexOf(":", colon + 1) >= 0) return entry;
  return PORT_REGEXP.test(entry.slice(colon)) ? entry.slice(0, colon) : entry;
}
