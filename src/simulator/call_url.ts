/**
 * The URL Retell dials for a call, and the call ids the simulator makes up.
 *
 * @module
 */

/**
 * The URL Retell dials for a call: the configured URL with `/{callId}`
 * appended to its path (a trailing slash is dropped first), its query string
 * kept, and `http(s):` mapped to `ws(s):` (§1.2).
 *
 * @param base The configured URL.
 * @param callId The call id.
 * @returns The URL to open.
 * @throws {TypeError} When `base` is not a ws, wss, http or https URL.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildCallUrl } from "./call_url.ts";
 *
 * assert.equal(
 *   buildCallUrl("https://bot.example.com/llm-websocket/?tenant=a", "call_1"),
 *   "wss://bot.example.com/llm-websocket/call_1?tenant=a",
 * );
 * ```
 */
export function buildCallUrl(base: string, callId: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new TypeError(`Cannot use server URL "${base}": it is not a URL`);
  }
  const schemes: Record<string, string> = {
    "ws:": "ws:",
    "wss:": "wss:",
    "http:": "ws:",
    "https:": "wss:",
  };
  const scheme = schemes[url.protocol];
  if (scheme === undefined) {
    throw new TypeError(
      `Cannot use server URL "${base}": the scheme must be ws, wss, http or https, not "${
        url.protocol.slice(0, -1)
      }"`,
    );
  }
  url.protocol = scheme;
  url.hash = "";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/${
    encodeURIComponent(callId)
  }`;
  return url.href;
}

/**
 * A fresh call id: `sim_` and 12 random hex digits.
 *
 * @returns The call id.
 */
export function randomCallId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `sim_${
    Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")
  }`;
}
