/**
 * The HTTP side: routes requests, checks the caller's address before any
 * upgrade, hands each accepted socket to a call session, and serves the
 * metrics to those allowed to read them.
 *
 * @module
 */
import { createAdmission } from "./admission.ts";
import {
  agentNamesOf,
  type AgentRoute,
  callConfigOf,
  createAgentRoutes,
  type RetellAgent,
} from "./agents.ts";
import type { CallStore } from "./call_store/call_store.ts";
import type { MonitoredCallStore } from "./call_store/fallback.ts";
import { createMemoryCallStore } from "./call_store/memory.ts";
import { createClientAddressResolver } from "./client_address.ts";
import { DEFAULT_CONFIG } from "./config/defaults.ts";
import type { Config } from "./config/settings.ts";
import type { LlmTool } from "./llm/tools.ts";
import { createLogger, type Logger } from "./log.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./metric_registry.ts";
import { createServerMetrics, type ServerMetrics } from "./metrics.ts";
import { createMetricsGuard } from "./metrics_access.ts";
import { createPlaygroundRoute } from "./playground/route.ts";
import { DEFAULT_AGENT_NAME } from "./config/agents_file.ts";
import type { CallConfig } from "./protocol/outbound.ts";
import type { Responder } from "./responder.ts";
import { inputLimitsOf } from "./limits.ts";
import { type CallSession, startCallSession } from "./session.ts";

/** Longest call id accepted from the path; Retell's are far shorter. */
const MAX_CALL_ID_LENGTH = 256;

/**
 * Options of {@linkcode createRetellServer}. Each setting comes from
 * `config` when it is given, and from the defaults shown below (those of
 * `loadConfig` on an empty environment) otherwise; an option set here
 * overrides both.
 */
export interface RetellServerOptions {
  /**
   * The loaded settings (from `loadConfig`): the responder, the
   * log level, the allowlist, the socket path, the `config` event and the
   * responder timeout all follow it unless overridden below.
   */
  config?: Config;
  /**
   * Decides what the agent says on every call.
   *
   * @default {the one `config.responder` names, given `tools` (dummy without `config`)}
   */
  responder?: Responder;
  /**
   * Your own tools for the `llm` responder built from `config`; ignored
   * when `responder` is given.
   *
   * @default {[]}
   */
  tools?: readonly LlmTool[];
  /**
   * More agents, each reached at `{websocketPath}/{name}/{call_id}` with
   * its own responder, tools or settings; those of `config.agents`
   * (`AGENTS_FILE`) are served too. The settings above (`responder`,
   * `tools`, `callConfig`, the timeouts) are the environment's agent's,
   * named `default`, which `{websocketPath}/{call_id}` reaches.
   *
   * @default {[]}
   */
  agents?: readonly RetellAgent[];
  /**
   * Where log lines go.
   *
   * @default {JSON lines at `config.logLevel`}
   */
  log?: Logger;
  /**
   * IPs and CIDR ranges that may open a call; `*` is everyone, an empty
   * list is no one.
   *
   * @default {["100.20.5.228"]}
   */
  allowedIps?: readonly string[];
  /**
   * Also accept loopback callers (127.0.0.0/8 and ::1), for local testing.
   *
   * @default {false}
   */
  allowLoopback?: boolean;
  /**
   * Reverse proxies whose `X-Forwarded-For` header names the caller.
   *
   * @default {[]}
   */
  trustProxy?: readonly string[];
  /**
   * Path before `/{call_id}`, without a trailing slash.
   *
   * @default {"/llm-websocket"}
   */
  websocketPath?: string;
  /**
   * What a socket URL must carry to be upgraded, as the segment before the
   * call id (`{websocketPath}/{secret}/{call_id}`) or as `?token={secret}`,
   * compared in constant time; empty is no secret. Never logged.
   *
   * @default {""}
   */
  wsSecret?: string;
  /**
   * The `config` event sent on every call; with `config`, built from its
   * `autoReconnect`, `callDetails` and `transcriptWithToolCalls`.
   *
   * @default {{ auto_reconnect: true, call_details: true }}
   */
  callConfig?: CallConfig;
  /**
   * Longest wait in ms for the responder's next piece of a reply.
   *
   * @default {30000}
   */
  responderTimeoutMs?: number;
  /**
   * After this many ms in which a live response sent nothing, log one
   * `turn_stalled` warning and count it; 0 is off.
   *
   * @default {5000}
   */
  turnStallMs?: number;
  /**
   * Longest run in ms of a responder's call hook (`onCallDetails`, `onCallEnded`).
   *
   * @default {5000}
   */
  hookTimeoutMs?: number;
  /**
   * Live calls held at once; one more socket gets 503.
   *
   * @default {2000}
   */
  maxCalls?: number;
  /**
   * Live calls one client address holds at once (after `trustProxy`);
   * one more gets 429. Retell's address (100.20.5.228) is exempt. 0 is
   * no cap.
   *
   * @default {50}
   */
  maxCallsPerAddress?: number;
  /**
   * Counted for `GET /metrics`; give your own to read them elsewhere too.
   * With several agents, create them with every agent name
   * (`createServerMetrics({ agents })`, the names in `agentNames` order).
   *
   * @default {createServerMetrics(), with the agent names when there are several}
   */
  metrics?: ServerMetrics;
  /**
   * IPs and CIDR ranges that may read `GET /metrics` without a token,
   * behind `trustProxy` as for calls.
   *
   * @default {["127.0.0.0/8", "::1"]}
   */
  metricsAllowedIps?: readonly string[];
  /**
   * Bearer token that lets any address read `GET /metrics`; empty accepts
   * no token.
   *
   * @default {""}
   */
  metricsToken?: string;
  /**
   * Serve the browser playground at `GET /playground`, to those who may
   * read `/metrics`; see docs/playground.md.
   *
   * @default {config.playground (false without `config`)}
   */
  playground?: boolean;
  /**
   * Remembers each call between sockets, so that a socket Retell
   * reconnects, here or on another instance sharing the store, continues
   * the call: `config` again, no second greeting, tools at most once.
   * `openCallStore` opens the one the settings name; the server does not
   * close it. When it reports a status (as `openCallStore`'s stores do),
   * `/metrics` shows its errors and whether it is degraded.
   *
   * @default {an in-process store keeping calls CALL_STORE_TTL_HOURS (6) after their last activity}
   */
  callStore?: CallStore;
}

/** A request handler for `Deno.serve` and the calls it is holding. */
export interface RetellServer {
  /** Pass to `Deno.serve`. */
  handler: (request: Request, info: Deno.ServeHandlerInfo) => Response;
  /** Calls whose socket has been accepted and not yet closed. */
  readonly calls: ReadonlySet<CallSession>;
  /**
   * The agents served, `default` (the environment's) first; each is
   * reached at `{websocketPath}/{name}/{call_id}`.
   */
  readonly agentNames: readonly string[];
  /**
   * Starts the stop: new sockets get 503 and `/healthz` reports `draining`
   * with 503, so load balancers move on; resolves once no call has a
   * response in flight, or `timeoutMs` has passed.
   *
   * Open calls are never closed here, idle or not: closing from the server
   * ends Retell's call (PROTOCOL.md §5.8). A process that exits after the
   * drain drops them instead, and Retell reconnects. Refusals not yet
   * logged one by one are logged as a count when it resolves.
   */
  drain(timeoutMs: number): Promise<DrainResult>;
}

/** What {@linkcode RetellServer.drain} left when it resolved. */
export interface DrainResult {
  /** Calls still open, idle or not. */
  openCalls: number;
  /** Of those, calls whose response was still in flight when time ran out. */
  responding: number;
}

/**
 * Creates the server: `GET /` describes it, `GET /healthz` reports health
 * (with the number of live calls for those who may read the metrics),
 * `GET /metrics` gives the metrics in Prometheus text to the addresses and
 * token allowed (404 to everyone else, 403 for a wrong token), with
 * `playground` on `GET /playground` gives them the browser playground, and
 * `{websocketPath}/{call_id}` (a query string and a trailing slash are
 * fine) upgrades allowed callers to a Retell call. A refused address gets
 * 403 before any upgrade, a plain GET on the socket path 426, anything else
 * 404. With `wsSecret` set, the URL must also carry it, as
 * `{websocketPath}/{secret}/{call_id}` or `?token={secret}`, or it gets 403.
 * Past `maxCalls` live calls a new socket gets 503, and past
 * `maxCallsPerAddress` from one address 429; both are counted, and logged
 * like every refusal: a bounded number of lines, the rest counted.
 *
 * With `agents` (or `config.agents`), `{websocketPath}/{name}/{call_id}`
 * reaches agent `name` (with a secret, `{websocketPath}/{name}/{secret}/{call_id}`);
 * an unknown name gets 404 before any upgrade. A doubled slash before the
 * call id (`{websocketPath}//{call_id}`, from an agent URL pasted with a
 * trailing slash) reaches the same call.
 *
 * To run it as a process, with signals and the stop handled, use
 * `serveRetell`; this is for serving the handler from your own `Deno.serve`.
 *
 * @param options The settings, and what overrides them.
 * @returns The handler and the live calls.
 * @throws {TypeError} When an allowlist or proxy rule cannot be parsed, or
 * an agent cannot be served as given.
 *
 * @example Your own Deno.serve, every setting from the environment
 * ```ts ignore
 * import { createRetellServer, loadConfig } from "./mod.ts";
 *
 * const config = loadConfig(Deno.env);
 * const retell = createRetellServer({ config });
 * Deno.serve({ hostname: config.listenHost, port: config.port }, retell.handler);
 * ```
 */
export function createRetellServer(
  options: RetellServerOptions = {},
): RetellServer {
  const config = options.config ?? DEFAULT_CONFIG;
  const log = options.log ?? createLogger({ level: config.logLevel });
  const callConfig = options.callConfig ??
    (options.config && callConfigOf(options.config));
  const responderTimeoutMs = options.responderTimeoutMs ??
    config.responderTimeoutMs;
  const calls = new Set<CallSession>();
  const agents = options.agents ?? [];
  const agentNames = Object.freeze(agentNamesOf(config, agents));
  const metrics = options.metrics ??
    createServerMetrics(agentNames.length > 1 ? { agents: agentNames } : {});
  const routes = createAgentRoutes({
    config,
    agents,
    defaultAgent: {
      responder: options.responder,
      callConfig,
      responderTimeoutMs,
      turnStallMs: options.turnStallMs ?? config.turnStallMs,
    },
    tools: options.tools,
    log,
    metrics,
  });
  const admission = createAdmission({
    allowedIps: options.allowedIps ?? config.allowedIps,
    allowLoopback: options.allowLoopback ?? config.allowLoopback,
    wsSecret: options.wsSecret ?? config.wsSecret,
    maxCalls: options.maxCalls ?? config.maxCalls,
    maxCallsPerAddress: options.maxCallsPerAddress ??
      config.maxCallsPerAddress,
    calls,
    metrics,
    log,
  });
  const trustProxy = options.trustProxy ?? config.trustProxy;
  const limits = inputLimitsOf(config);
  const resolveClient = createClientAddressResolver(trustProxy);
  const metricsAccess = createMetricsGuard({
    allowedIps: options.metricsAllowedIps ?? config.metricsAllowedIps,
    token: options.metricsToken ?? config.metricsToken,
    trustProxy,
  });
  let storeFailures = 0;
  const prefix = `${
    (options.websocketPath ?? config.websocketPath).replace(/\/+$/, "")
  }/`;
  const callStore = options.callStore ??
    createMemoryCallStore({ ttlMs: config.callStoreTtlHours * 3_600_000 });
  const playground = (options.playground ?? config.playground)
    ? createPlaygroundRoute({
      websocketPath: prefix.slice(0, -1),
      // The choice is offered only when there is one to make.
      agentNames: agentNames.length > 1 ? agentNames : [],
      access: metricsAccess,
    })
    : undefined;

  function handler(request: Request, info: Deno.ServeHandlerInfo): Response {
    const url = new URL(request.url);
    const { pathname } = url;
    if (pathname.startsWith(prefix)) {
      return handleSocketPath(request, info, url);
    }
    if (pathname === "/metrics") return serveMetrics(request, info);
    const page = playground?.(request, info);
    if (page) return page;
    if (pathname === "/healthz") {
      if (!isRead(request)) return methodNotAllowed();
      const draining = admission.isDraining();
      const status = draining ? "draining" : "ok";
      // The load on this process is for those who may read the metrics.
      const body = metricsAccess(request, info) === "allowed"
        ? { status, live_calls: calls.size }
        : { status };
      return Response.json(body, { status: draining ? 503 : 200 });
    }
    if (pathname === "/") {
      if (!isRead(request)) return methodNotAllowed();
      return new Response(
        `Retell custom-LLM WebSocket server. Point your Retell agent at wss://<this host>${
          prefix.slice(0, -1)
        }\n`,
      );
    }
    return new Response("Not Found\n", { status: 404 });
  }

  /** The numbers for those allowed; others learn nothing, not even that the route exists. */
  function serveMetrics(
    request: Request,
    info: Deno.ServeHandlerInfo,
  ): Response {
    const access = metricsAccess(request, info);
    if (access === "not_found") {
      return new Response("Not Found\n", { status: 404 });
    }
    if (access === "forbidden") {
      return new Response("Forbidden\n", { status: 403 });
    }
    if (!isRead(request)) return methodNotAllowed();
    if (isMonitored(callStore)) {
      const status = callStore.status();
      metrics.storeDegraded.set(status.degraded ? 1 : 0);
      metrics.storeErrors.inc(status.failures - storeFailures);
      storeFailures = status.failures;
    }
    return new Response(metrics.render(), {
      headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
    });
  }

  function handleSocketPath(
    request: Request,
    info: Deno.ServeHandlerInfo,
    url: URL,
  ): Response {
    // Read only when there is a query: most sockets have none.
    const token = url.search === "" ? null : url.searchParams.get("token");
    const socketPath = socketPathOf(url.pathname.slice(prefix.length), {
      secretConfigured: admission.secretConfigured,
      tokenGiven: token !== null,
      agents: routes,
    });
    if (socketPath === undefined) {
      return new Response("Not Found\n", { status: 404 });
    }
    const { callId, agent } = socketPath;
    const peer = info.remoteAddr.transport === "tcp"
      ? info.remoteAddr.hostname
      : "";
    const client = resolveClient(peer, request.headers.get("x-forwarded-for"));
    const caller = { callId, address: client, peer };
    const presented = socketPath.secret ?? token ?? "";
    const refusedCaller = admission.checkCaller(caller, presented);
    if (refusedCaller) return refusedCaller;
    if (request.method !== "GET") return methodNotAllowed();
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response(
        "Upgrade Required: connect with a WebSocket client\n",
        {
          status: 426,
          headers: { upgrade: "websocket", connection: "Upgrade" },
        },
      );
    }
    const refusedRoom = admission.checkRoom(caller);
    if (refusedRoom) return refusedRoom;
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(request);
    } catch (error) {
      return admission.refuse({
        reason: "handshake",
        event: "upgrade_failed",
        fields: { call_id: callId, address: client, error: String(error) },
        status: 400,
        body: "Bad Request: invalid WebSocket handshake\n",
      });
    }
    const session = startCallSession(upgraded.socket, {
      callId,
      responder: agent.responder,
      log: agent.log,
      ...(agent.callConfig && { callConfig: agent.callConfig }),
      responderTimeoutMs: agent.responderTimeoutMs,
      store: callStore,
      turnStallMs: agent.turnStallMs,
      ...(options.hookTimeoutMs !== undefined &&
        { hookTimeoutMs: options.hookTimeoutMs }),
      metrics: agent.metrics,
      limits,
    });
    calls.add(session);
    admission.admit(client);
    // One reaction per call for both: the live set and the address's count.
    session.ended.then(() => {
      calls.delete(session);
      admission.release(client);
    });
    agent.log.info("call_accepted", { call_id: callId, address: client });
    return upgraded.response;
  }

  async function drain(timeoutMs: number): Promise<DrainResult> {
    admission.startDraining();
    const deadline = Promise.withResolvers<"expired">();
    const timer = setTimeout(() => deadline.resolve("expired"), timeoutMs);
    try {
      // A call may start a new response while another finishes: wait until
      // all are idle at once.
      do {
        const idle = Promise.all([...calls].map((call) => call.whenIdle()));
        if (await Promise.race([idle, deadline.promise]) === "expired") break;
      } while ([...calls].some((call) => call.responding));
    } finally {
      clearTimeout(timer);
      admission.flush();
    }
    return {
      openCalls: calls.size,
      responding: [...calls].filter((call) => call.responding).length,
    };
  }

  return { handler, calls, agentNames, drain };
}

/** What the socket path names: the agent, the call, and the secret when it carries one. */
interface SocketPath {
  /** The agent the call is for. */
  agent: AgentRoute;
  /** The call id, decoded. */
  callId: string;
  /** The segment before the call id, as sent; absent when there is none. */
  secret?: string;
}

/** What {@linkcode socketPathOf} reads the path against. */
interface SocketPathContext {
  /** Whether a `WS_SECRET` is set, so a segment may carry it. */
  secretConfigured: boolean;
  /** Whether the URL has `?token=`, so no segment carries the secret. */
  tokenGiven: boolean;
  /** The agents by name, `default` among them. */
  agents: ReadonlyMap<string, AgentRoute>;
}

/**
 * Reads what follows the prefix, a trailing slash allowed, and one empty
 * segment before the call id (an agent URL pasted with a trailing slash,
 * to which Retell appends `/{call_id}`): `{call_id}`, `{agent}/{call_id}`,
 * and with a secret configured `{secret}/{call_id}` and
 * `{agent}/{secret}/{call_id}`. The secret is always the segment right
 * before the call id. A segment before the call id is an agent only when
 * it names one; otherwise it is the secret, when one is configured and no
 * `?token=` carries it, and an unknown agent (404) when not.
 */
function socketPathOf(
  rest: string,
  context: SocketPathContext,
): SocketPath | undefined {
  const segments = (rest.endsWith("/") ? rest.slice(0, -1) : rest).split("/");
  if (segments.length > 1 && segments.at(-2) === "") {
    segments.splice(-2, 1);
  }
  if (segments.length > (context.secretConfigured ? 3 : 2)) return undefined;
  const last = segments.at(-1)!;
  if (last === "" || last.length > MAX_CALL_ID_LENGTH) return undefined;
  let callId: string;
  try {
    callId = decodeURIComponent(last);
  } catch {
    return undefined;
  }
  const before = segments.slice(0, -1);
  const named = before.length > 0 ? context.agents.get(before[0]!) : undefined;
  const secretInPath = context.secretConfigured && !context.tokenGiven;
  if (before.length === 0) {
    return { agent: context.agents.get(DEFAULT_AGENT_NAME)!, callId };
  }
  if (before.length === 1) {
    if (named !== undefined) return { agent: named, callId };
    if (!secretInPath) return undefined;
    return {
      agent: context.agents.get(DEFAULT_AGENT_NAME)!,
      callId,
      secret: before[0]!,
    };
  }
  if (named === undefined || !secretInPath) return undefined;
  return { agent: named, callId, secret: before[1]! };
}

/** Whether the store can say how it is doing (the stores `openCallStore` opens can). */
function isMonitored(store: CallStore): store is MonitoredCallStore {
  return typeof (store as Partial<MonitoredCallStore>).status === "function";
}

function isRead(request: Request): boolean {
  return request.method === "GET" || request.method === "HEAD";
}

function methodNotAllowed(): Response {
  return new Response("Method Not Allowed\n", {
    status: 405,
    headers: { allow: "GET" },
  });
}
