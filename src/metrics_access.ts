/**
 * Who may read `GET /metrics`: the allowed addresses, or a bearer token
 * compared in constant time; everyone else is told the route does not exist.
 *
 * @module
 */
import { createClientAddressResolver } from "./client_address.ts";
import { sameBytes } from "./constant_time.ts";
import { createIpAllowlist } from "./ip_allowlist.ts";

/** Who may read the metrics; see {@linkcode createMetricsGuard}. */
export interface MetricsGuardOptions {
  /** Addresses and CIDR ranges that may read without a token (`METRICS_ALLOWED_IPS`). */
  allowedIps: readonly string[];
  /**
   * Bearer token that lets any address read (`METRICS_TOKEN`); empty or
   * absent means no token is accepted.
   */
  token?: string;
  /**
   * Reverse proxies whose `X-Forwarded-For` names the caller, as for calls.
   *
   * @default {[]}
   */
  trustProxy?: readonly string[];
}

/** What to answer a metrics request: the numbers, 403, or 404. */
export type MetricsAccess = "allowed" | "forbidden" | "not_found";

const BEARER_REGEXP = /^bearer +(\S+) *$/i;

/**
 * Creates the access rule for `GET /metrics`.
 *
 * A caller whose address (behind trusted proxies, as
 * {@linkcode createClientAddressResolver} resolves it) is in `allowedIps`
 * may read. So may any caller sending `Authorization: Bearer <token>` with
 * the configured token, compared in constant time. A caller that sends an
 * `Authorization` header with anything else gets `"forbidden"` (403) when a
 * token is configured; every other caller gets `"not_found"` (404), so the
 * route does not show that it exists.
 *
 * @param options Allowed addresses, token and trusted proxies.
 * @returns A function from a request and its connection info to the answer.
 * @throws {TypeError} When an address or proxy rule cannot be parsed.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMetricsGuard } from "./metrics_access.ts";
 *
 * const guard = createMetricsGuard({ allowedIps: ["127.0.0.1"], token: "s3cret" });
 * const from = (hostname: string) => ({
 *   remoteAddr: { transport: "tcp" as const, hostname, port: 40000 },
 *   completed: Promise.resolve(),
 * });
 * const url = "http://server/metrics";
 * assert.equal(guard(new Request(url), from("127.0.0.1")), "allowed");
 * assert.equal(guard(new Request(url), from("203.0.113.9")), "not_found");
 * const withToken = (token: string) =>
 *   new Request(url, { headers: { authorization: `Bearer ${token}` } });
 * assert.equal(guard(withToken("s3cret"), from("203.0.113.9")), "allowed");
 * assert.equal(guard(withToken("guess"), from("203.0.113.9")), "forbidden");
 * ```
 */
export function createMetricsGuard(
  options: MetricsGuardOptions,
): (request: Request, info: Deno.ServeHandlerInfo) => MetricsAccess {
  const isAllowed = createIpAllowlist(options.allowedIps);
  const resolveClient = createClientAddressResolver(options.trustProxy ?? []);
  const encoder = new TextEncoder();
  const token = encoder.encode(options.token ?? "");
  return function metricsAccess(request, info): MetricsAccess {
    const peer = info.remoteAddr.transport === "tcp"
      ? info.remoteAddr.hostname
      : "";
    const client = resolveClient(peer, request.headers.get("x-forwarded-for"));
    if (isAllowed(client)) return "allowed";
    const authorization = request.headers.get("authorization");
    if (token.length === 0 || authorization === null) return "not_found";
    const presented = BEARER_REGEXP.exec(authorization)?.[1];
    if (
      presented !== undefined && sameBytes(encoder.encode(presented), token)
    ) {
      return "allowed";
    }
    return "forbidden";
  };
}
