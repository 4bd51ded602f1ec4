/**
 * IP allowlist: IPv4 and IPv6 addresses and CIDR ranges, compiled once at
 * startup and matched against each peer address.
 *
 * Every address is held as 128 bits (eight 16-bit groups). An IPv4 address
 * is stored as its IPv4-mapped IPv6 form `::ffff:a.b.c.d`, so its 32 bits are
 * the last two groups and an IPv4 rule `a.b.c.d/n` is the IPv6 range
 * `::ffff:a.b.c.d/(96 + n)`. This makes `100.20.5.228`,
 * `::ffff:100.20.5.228` and `::ffff:6414:5e4` the same address, which is
 * what a dual-stack listener needs: it reports IPv4 peers in the mapped form.
 *
 * @module
 */

/** Tells whether a peer address is allowed; never throws. */
export type IpMatcher = (address: string) => boolean;

const GROUPS = 8;
const COLON = 0x3a;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const PERCENT = "%";
const PREFIX_REGEXP = /^(?:0|[1-9][0-9]{0,2})$/;

const NOT_AN_ADDRESS = "not an IPv4 or IPv6 address or CIDR range";

/**
 * Compiles IP rules into a matcher for peer addresses.
 *
 * A rule is an IPv4 address (`100.20.5.228`), an IPv6 address (`2001:db8::1`,
 * any textual form, including an IPv4 tail such as `::ffff:1.2.3.4`), an IPv4
 * CIDR range (`10.0.0.0/8`, prefix 0 to 32), an IPv6 CIDR range
 * (`2001:db8::/32`, prefix 0 to 128), or `*` for every address. Whitespace
 * around a rule is ignored. IPv4 octets with leading zeros (`01.2.3.4`) are
 * refused, as WHATWG URL and Node.js do, because other parsers read them as
 * octal. Zone ids (`fe80::1%eth0`) are refused in rules. A range whose address
 * has host bits set (`10.0.0.1/8`) means its network (`10.0.0.0/8`). An empty
 * list matches nobody.
 *
 * The matcher takes an address as `Deno.serve` reports it in
 * `info.remoteAddr.hostname`: dotted IPv4, or IPv6 with an optional `%zone`
 * suffix, which is ignored. IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4` or
 * `::ffff:102:304`) are the same as their IPv4 address, both as peers and as
 * rules; an IPv4 rule never matches any other IPv6 address. The IPv6 rule
 * `::/0` covers every address, IPv4 included. An address that cannot be
 * parsed (including the empty string) never matches, not even `*`.
 *
 * @param rules Addresses and CIDR ranges that are allowed.
 * @returns A function telling whether an address is allowed.
 * @throws {TypeError} When a rule cannot be parsed; the message quotes it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createIpAllowlist } from "./ip_allowlist.ts";
 *
 * const isAllowed = createIpAllowlist(["100.20.5.228", "2001:db8::/32"]);
 * assert.equal(isAllowed("100.20.5.228"), true);
 * assert.equal(isAllowed("::ffff:100.20.5.228"), true);
 * assert.equal(isAllowed("2001:db8:1::5"), true);
 * assert.equal(isAllowed("100.20.5.229"), false);
 * assert.equal(isAllowed("not-an-ip"), false);
 * ```
 *
 * @example A bad rule
 * ```ts
 * import assert from "node:assert/strict";
 * import { createIpAllowlist } from "./ip_allowlist.ts";
 *
 * assert.throws(() => createIpAllowlist(["100.20.5.0/33"]), {
 *   name: "TypeError",
 *   message:
 *     'Cannot parse IP rule "100.20.5.0/33": prefix length must be from 0 to 32',
 * });
 * ```
 */
export function createIpAllowlist(rules: readonly string[]): IpMatcher {
  const count = rules.length;
  // Rule r occupies groups r * 8 to r * 8 + 7 of `networks` and `masks`;
  // `lengths[r]` is how many leading groups its prefix touches.
  const networks = new Uint16Array(count * GROUPS);
  const masks = new Uint16Array(count * GROUPS);
  const lengths = new Uint8Array(count);
  const address = new Uint16Array(GROUPS);
  for (let rule = 0; rule < count; rule++) {
    const prefix = parseRule(rules[rule] ?? "", address);
    const base = rule * GROUPS;
    for (let group = 0; group < GROUPS; group++) {
      const bits = Math.min(Math.max(prefix - group * 16, 0), 16);
      const mask = (0xffff << (16 - bits)) & 0xffff;
      masks[base + group] = mask;
      networks[base + group] = address[group]! & mask;
    }
    lengths[rule] = Math.ceil(prefix / 16);
  }

  if (count === 0) {
    return function refuseEveryone(): boolean {
      return false;
    };
  }

  // Reused by every call: matching is synchronous and allocates nothing.
  const peer = new Uint16Array(GROUPS);
  return function isAllowed(text: string): boolean {
    if (typeof text !== "string" || !parsePeer(text, peer)) return false;
    for (let rule = 0; rule < count; rule++) {
      if (inRange(peer, networks, masks, rule * GROUPS, lengths[rule]!)) {
        return true;
      }
    }
    return false;
  };
}

function inRange(
  peer: Uint16Array,
  networks: Uint16Array,
  masks: Uint16Array,
  base: number,
  length: number,
): boolean {
  for (let group = 0; group < length; group++) {
    if ((peer[group]! & masks[base + group]!) !== networks[base + group]) {
      return false;
    }
  }
  return true;
}

/** Parses one rule into `out` and returns its prefix length out of 128. */
function parseRule(raw: string, out: Uint16Array): number {
  const rule = raw.trim();
  const fail = (reason: string): never => {
    throw new TypeError(
      `Cannot parse IP rule ${JSON.stringify(rule)}: ${reason}`,
    );
  };
  if (rule === "") fail("rule is empty");
  if (rule === "*") {
    out.fill(0);
    return 0;
  }
  if (rule.includes(PERCENT)) fail("zone ids are not allowed in rules");

  const slash = rule.indexOf("/");
  const end = slash < 0 ? rule.length : slash;
  const version = parseAddress(rule, end, out);
  if (version === 0) fail(NOT_AN_ADDRESS);
  if (slash < 0) return 128;

  const prefixText = rule.slice(slash + 1);
  const max = version === 4 ? 32 : 128;
  if (prefixText === "") fail("prefix length is missing after the /");
  if (!PREFIX_REGEXP.test(prefixText) || Number(prefixText) > max) {
    fail(`prefix length must be from 0 to ${max}`);
  }
  return 128 - max + Number(prefixText);
}

/** Parses a peer address, ignoring an IPv6 zone id. */
function parsePeer(text: string, out: Uint16Array): boolean {
  const percent = text.indexOf(PERCENT);
  if (percent < 0) return parseAddress(text, text.length, out) !== 0;
  // A zone id follows an IPv6 address and is a non-empty run of RFC 6874
  // unreserved characters (Deno reports the numeric scope id).
  if (percent === text.length - 1) return false;
  for (let index = percent + 1; index < text.length; index++) {
    if (!isUnreserved(text.charCodeAt(index))) return false;
  }
  return parseAddress(text, percent, out) === 6;
}

/**
 * Parses `text.slice(0, end)` as an IPv4 or IPv6 address into eight groups,
 * IPv4 as `::ffff:a.b.c.d`. Returns the IP version that the text is written
 * in, or 0 when it is not an address.
 */
function parseAddress(text: string, end: number, out: Uint16Array): 0 | 4 | 6 {
  for (let index = 0; index < end; index++) {
    if (text.charCodeAt(index) === COLON) {
      return parseIpv6(text, end, out) ? 6 : 0;
    }
  }
  const ipv4 = parseIpv4(text, 0, end);
  if (ipv4 < 0) return 0;
  out.fill(0, 0, 5);
  out[5] = 0xffff;
  out[6] = ipv4 >>> 16;
  out[7] = ipv4 & 0xffff;
  return 4;
}

/**
 * Parses strict dotted-decimal IPv4 in `text[start, end)`: four decimal
 * octets from 0 to 255 without leading zeros. Returns -1 when invalid.
 */
function parseIpv4(text: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let index = start;
  for (;;) {
    const octetStart = index;
    let octet = 0;
    while (index < end) {
      const code = text.charCodeAt(index);
      if (code < ZERO || code > NINE) break;
      octet = octet * 10 + (code - ZERO);
      index++;
      if (index - octetStart > 3) return -1;
    }
    const digits = index - octetStart;
    if (digits === 0 || octet > 255) return -1;
    if (digits > 1 && text.charCodeAt(octetStart) === ZERO) return -1;
    value = value * 256 + octet;
    parts++;
    if (index === end) return parts === 4 ? value : -1;
    if (parts === 4 || text.charCodeAt(index) !== DOT) return -1;
    index++;
  }
}

/**
 * Parses IPv6 text (RFC 4291 section 2.2) in `text[0, end)`: up to eight
 * groups of one to four hex digits, at most one `::`, and an optional IPv4
 * tail in place of the last two groups.
 */
function parseIpv6(text: string, end: number, out: Uint16Array): boolean {
  let index = 0;
  let count = 0;
  let gap = -1;
  if (end > 0 && text.charCodeAt(0) === COLON) {
    if (end < 2 || text.charCodeAt(1) !== COLON) return false;
    gap = 0;
    index = 2;
  }
  while (index < end) {
    if (count === GROUPS) return false;
    const groupStart = index;
    let value = 0;
    while (index < end) {
      const digit = hexDigit(text.charCodeAt(index));
      if (digit < 0) break;
      value = value * 16 + digit;
      index++;
    }
    if (index < end && text.charCodeAt(index) === DOT) {
      if (count > GROUPS - 2) return false;
      const ipv4 = parseIpv4(text, groupStart, end);
      if (ipv4 < 0) return false;
      out[count++] = ipv4 >>> 16;
      out[count++] = ipv4 & 0xffff;
      break;
    }
    const digits = index - groupStart;
    if (digits === 0 || digits > 4) return false;
    out[count++] = value;
    if (index === end) break;
    if (text.charCodeAt(index) !== COLON) return false;
    index++;
    if (index < end && text.charCodeAt(index) === COLON) {
      if (gap >= 0) return false;
      gap = count;
      index++;
    } else if (index === end) {
      return false;
    }
  }
  if (gap < 0) return count === GROUPS;
  if (count === GROUPS) return false;
  // Move the groups after `::` to the end and fill the gap with zeros.
  const tail = count - gap;
  for (let moved = 1; moved <= tail; moved++) {
    out[GROUPS - moved] = out[count - moved]!;
  }
  out.fill(0, gap, GROUPS - tail);
  return true;
}

function isUnreserved(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || // 0-9
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e; // - . _ ~
}

function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  return -1;
}
