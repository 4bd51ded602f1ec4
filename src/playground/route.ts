/**
 * `GET /playground`: a page that plays Retell's side of a call over this
 * server's own socket, in the browser. The page, its script and style and
 * the simulator's conformance checker (bundled for the browser by
 * `deno task playground:build`) are imported as text, so they are part of
 * the module graph: `deno compile` and `deno publish` carry them and
 * nothing is read from disk at run time.
 *
 * @module
 */
import bundle from "./conformance.js" with { type: "text" };
import page from "./page.html" with { type: "text" };
import script from "./playground.js" with { type: "text" };
import style from "./playground.css" with { type: "text" };
import type { MetricsAccess } from "../metrics_access.ts";

/** Where the page is served; its assets live under `{PLAYGROUND_PATH}/`. */
export const PLAYGROUND_PATH = "/playground";

/** Options of {@linkcode createPlaygroundRoute}. */
export interface PlaygroundRouteOptions {
  /** The socket path the page connects to, without a trailing slash, e.g. `/llm-websocket`. */
  websocketPath: string;
  /**
   * Named agents the page offers (`{websocketPath}/{name}/{call_id}`);
   * empty: the page connects to `{websocketPath}/{call_id}`.
   *
   * @default {[]}
   */
  agentNames?: readonly string[];
  /**
   * Who may load the page, as for `/metrics` (`createMetricsGuard`): its
   * answer for every request under {@linkcode PLAYGROUND_PATH}.
   */
  access: (request: Request, info: Deno.ServeHandlerInfo) => MetricsAccess;
}

/** Security headers of every playground response. */
const HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/**
 * Creates the playground's handler. It answers every path under
 * {@linkcode PLAYGROUND_PATH} (the page at the path itself, its script,
 * style and checker below it) and returns undefined for any other path, so
 * the server can go on routing. A caller `access` does not allow gets 404
 * (403 for a wrong token), as on `/metrics`. The page's own socket goes
 * through the same admission as any call: the browser's address must be
 * allowed, and the page sends `WS_SECRET` as `?token=` when the user
 * enters it; the page never carries the secret itself.
 *
 * @param options The socket path, the agents and the access rule.
 * @returns A handler giving the response for playground paths, undefined for others.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPlaygroundRoute } from "./route.ts";
 *
 * const playground = createPlaygroundRoute({
 *   websocketPath: "/llm-websocket",
 *   access: () => "allowed",
 * });
 * const info = {
 *   remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 40000 },
 *   completed: Promise.resolve(),
 * };
 * const page = playground(new Request("http://server/playground"), info);
 * assert.equal(page?.status, 200);
 * assert.match(await page!.text(), /"websocketPath":"\/llm-websocket"/);
 * assert.equal(playground(new Request("http://server/metrics"), info), undefined);
 * ```
 */
export function createPlaygroundRoute(
  options: PlaygroundRouteOptions,
): (request: Request, info: Deno.ServeHandlerInfo) => Response | undefined {
  const settings = JSON.stringify({
    websocketPath: options.websocketPath,
    agents: options.agentNames ?? [],
  }).replaceAll("<", "\\u003c");
  const assets = new Map<string, { body: string; type: string }>([
    [PLAYGROUND_PATH, {
      body: page.replace('"__PLAYGROUND_SETTINGS__"', settings),
      type: "text/html; charset=utf-8",
    }],
    [`${PLAYGROUND_PATH}/playground.js`, {
      body: script,
      type: "text/javascript; charset=utf-8",
    }],
    [`${PLAYGROUND_PATH}/conformance.js`, {
      body: bundle,
      type: "text/javascript; charset=utf-8",
    }],
    [`${PLAYGROUND_PATH}/playground.css`, {
      body: style,
      type: "text/css; charset=utf-8",
    }],
  ]);
  return function playgroundRoute(request, info): Response | undefined {
    const { pathname } = new URL(request.url);
    if (
      pathname !== PLAYGROUND_PATH &&
      !pathname.startsWith(`${PLAYGROUND_PATH}/`)
    ) {
      return undefined;
    }
    const access = options.access(request, info);
    if (access === "forbidden") return text("Forbidden\n", 403);
    const asset = assets.get(pathname);
    if (access === "not_found" || asset === undefined) {
      return text("Not Found\n", 404);
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", {
        status: 405,
        headers: { allow: "GET" },
      });
    }
    return new Response(asset.body, {
      headers: { ...HEADERS, "content-type": asset.type },
    });
  };
}

function text(body: string, status: number): Response {
  return new Response(body, { status, headers: HEADERS });
}
