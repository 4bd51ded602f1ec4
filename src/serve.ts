/**
 * The entry point: reads the settings, builds the server from all of them,
 * listens, and stops in the way that keeps calls alive. `main.ts` and the
 * examples call it; embedding the handler in your own `Deno.serve` is what
 * `createRetellServer` is for.
 *
 * @module
 */
import { agentNamesOf, type RetellAgent } from "./agents.ts";
import type { CallStore } from "./call_store/call_store.ts";
import { openCallStore } from "./call_store/from_settings.ts";
import { describeEffectiveSettings } from "./config/effective.ts";
import { warnEnvFileDuplicates } from "./config/env_file_check.ts";
import {
  type AgentSettings,
  DEFAULT_AGENT_NAME,
} from "./config/agents_file.ts";
import { ConfigError, type EnvSource, loadConfig } from "./config/load.ts";
import type { Config } from "./config/settings.ts";
import type { LlmTool } from "./llm/tools.ts";
import { createLogger, describeError, type Logger } from "./log.ts";
import { createServerMetrics, type ServerMetrics } from "./metrics.ts";
import { installProcessGuard } from "./process_guard.ts";
import type { Responder } from "./responder.ts";
import { createRetellServer, type RetellServer } from "./server.ts";

/** The signals that start the stop; Windows has no SIGTERM listener. */
const STOP_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM"];

/**
 * A signal this soon after the first one belongs to the same stop: Ctrl-C
 * under `deno task` arrives twice (from the terminal and forwarded by the
 * task), and `deno run --watch` adds a SIGTERM of its own.
 */
const REPEAT_WINDOW_MS = 1000;

/** First wait before listening again after the accept loop failed. */
const RESERVE_FIRST_DELAY_MS = 100;

/** Longest wait between attempts to listen again while they keep failing. */
const RESERVE_MAX_DELAY_MS = 1000;

/**
 * A listener that fails again within this long of listening is the same
 * streak of failures (a flood still holding every descriptor): the wait
 * keeps growing instead of starting again from the first.
 */
const RESERVE_STREAK_MS = 5000;

/** Options of {@linkcode serveRetell}. */
export interface ServeRetellOptions {
  /**
   * The settings; every one of them is used.
   *
   * @default {loadConfig(env)}
   */
  config?: Config;
  /**
   * Where the settings are read from when `config` is not given.
   *
   * @default {Deno.env}
   */
  env?: EnvSource;
  /**
   * Decides what the agent says, instead of the one `RESPONDER` names.
   *
   * @default {the responder `RESPONDER` names}
   */
  responder?: Responder;
  /**
   * Your own tools, offered to the model when `RESPONDER=llm`.
   *
   * @default {[]}
   */
  tools?: readonly LlmTool[];
  /**
   * More agents, each with its own responder, tools or settings (read with
   * the environment and `AGENTS_FILE`, every problem reported at once);
   * Retell reaches each at `wss://<host>{WEBSOCKET_PATH}/{name}`. The
   * options above are the environment's agent's, named `default`.
   *
   * @default {[]: those of `AGENTS_FILE` only}
   */
  agents?: readonly RetellAgent[];
  /**
   * Where log lines go.
   *
   * @default {JSON lines at `LOG_LEVEL`}
   */
  log?: Logger;
  /**
   * Where calls are kept across reconnects, instead of the one
   * `CALL_STORE` names; the caller closes it.
   *
   * @default {the store `CALL_STORE` names, opened by `openCallStore`}
   */
  callStore?: CallStore;
  /**
   * Whether the process is the server's: SIGINT and SIGTERM start the
   * stop, the stop ends by exiting the process, and a startup failure
   * prints one "Cannot start: ..." message and exits with status 1. Set it
   * to false to embed the server (or test it) in a process that is not
   * its own: no signal listeners, no exits, a startup failure rejects, and
   * the stop ends by shutting the listener down, which closes sockets still
   * open with 1001.
   *
   * @default {true}
   */
  signals?: boolean;
}

/** A server that {@linkcode serveRetell} started. */
export interface RetellService {
  /** The address it listens on; with `PORT` 0 in tests, the port it got. */
  readonly address: Deno.NetAddr;
  /** Resolves once the listener has shut down (only with `signals: false`). */
  readonly finished: Promise<void>;
  /**
   * Starts the stop, as SIGINT or SIGTERM do: new sockets get 503 and
   * `/healthz` reports `draining`; responses in flight finish, for up to
   * `SHUTDOWN_GRACE_MS`; then the process exits without closing any call's
   * socket, so Retell sees an abnormal drop and reconnects (PROTOCOL.md
   * §5.7, §5.8). Calling it again returns the same stop.
   *
   * @returns Resolves with `finished`, unless the process exits first.
   */
  stop(): Promise<void>;
}

/**
 * Serves Retell calls with everything the settings ask for: reads them
 * (from `Deno.env` unless given), logs them in one `settings` line with
 * secrets redacted (and an `env_file_duplicate_key` warning per key that
 * `.env` defines twice), builds the server from all of them, listens on
 * `LISTEN_HOST`:`PORT`, logs one `listening` line, and handles SIGINT and
 * SIGTERM.
 *
 * The stop: new sockets are refused with 503 and `/healthz` reports
 * `draining`; responses in flight finish, for up to `SHUTDOWN_GRACE_MS`;
 * then the process exits. It waits for no idle call and closes no socket:
 * a close frame from the server ends Retell's call (1000 hangs up, any
 * other code is an error), while a dropped socket is reconnected, to the
 * restarted process or another instance. A signal within 1 s of the first
 * counts as the same one; a later one exits at once, with status 1.
 *
 * When the accept loop fails (a flood of idle connections exhausts the
 * file descriptors, and `Deno.serve` stops accepting), the failure is
 * logged as `accept_failed` and the server listens again on the same
 * address after 100 ms, waiting up to 1 s between attempts while they
 * keep failing; calls already open are untouched, and each new listener
 * counts in `retell_accept_restarts_total`.
 *
 * A startup failure (an invalid setting, a port in use, a `LISTEN_HOST`
 * that cannot be used, a missing permission) prints one "Cannot start: ..."
 * message on stderr, without a stack trace, and exits with status 1.
 *
 * @param options Settings and overrides; everything defaults to the environment.
 * @returns The running server, once it listens.
 * @throws {Error} With `signals: false`, when it cannot start; the message
 * is the "Cannot start: ..." line.
 *
 * @example Your own tools, everything else from the environment
 * ```ts ignore
 * import { z } from "zod";
 * import { defineTool, serveRetell } from "./mod.ts";
 *
 * const lookUp = defineTool({
 *   name: "look_up_order",
 *   description: "The status of an order, by its number.",
 *   parameters: z.object({ order: z.string() }),
 *   handler: ({ order }) => ({ order, status: "shipped" }),
 * });
 * await serveRetell({ tools: [lookUp] });
 * ```
 */
export async function serveRetell(
  options: ServeRetellOptions = {},
): Promise<RetellService> {
  const ownsProcess = options.signals ?? true;
  try {
    return await listen(options, ownsProcess);
  } catch (error) {
    const message = describeStartFailure(error);
    if (!ownsProcess) throw new Error(message, { cause: error });
    // deno-lint-ignore no-console -- the one human-readable fatal message
    console.error(message);
    Deno.exit(1);
  }
}

/** Builds the server, listens, and wires the stop. */
async function listen(
  options: ServeRetellOptions,
  ownsProcess: boolean,
): Promise<RetellService> {
  const agents = options.agents ?? [];
  const config = options.config ??
    loadConfig(options.env ?? Deno.env, { agents: agentSettingsOf(agents) });
  const log = options.log ?? createLogger({ level: config.logLevel });
  // One socket's message too large to read must not end every call.
  if (ownsProcess) installProcessGuard({ log });
  log.info("settings", { ...describeEffectiveSettings(config, options) });
  if (!options.config && !options.env) warnEnvFileDuplicates(log);
  const callStore = options.callStore ?? await openConfiguredStore(config, log);
  const agentNames = agentNamesOf(config, agents);
  const metrics = createServerMetrics(
    agentNames.length > 1 ? { agents: agentNames } : {},
  );
  const retell = createRetellServer({
    config,
    log,
    callStore,
    metrics,
    agents,
    ...(options.responder && { responder: options.responder }),
    ...(options.tools && { tools: options.tools }),
  });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: config.listenHost,
      port: config.port,
      onListen() {},
    }, retell.handler);
  } catch (error) {
    throw new StartFailure(describeListenFailure(config, error), {
      cause: error,
    });
  }
  // With PORT 0, listening again must take the port this one got.
  const address = server.addr;
  const listener = keepServing(server, {
    log,
    metrics,
    serve: () =>
      Deno.serve({
        hostname: config.listenHost,
        port: address.port,
        onListen() {},
      }, retell.handler),
  });
  const stopper = createStopper({
    retell,
    listener,
    log,
    config,
    ownsProcess,
  });
  if (ownsProcess) {
    // Before the listening line: whoever waits for it may signal at once.
    for (const signal of STOP_SIGNALS) {
      Deno.addSignalListener(signal, () => stopper.signal(signal));
    }
  }
  logListening(log, address, config);
  if (agentNames.length > 1) {
    logAgents(log, config, agents, options.responder !== undefined);
  }
  return {
    address,
    finished: listener.finished,
    stop: () => stopper.stop(),
  };
}

/** Opens the store `CALL_STORE` names; a store that cannot open stops startup. */
async function openConfiguredStore(
  config: Config,
  log: Logger,
): Promise<CallStore> {
  const opened = await openCallStore({
    backend: config.callStore,
    kvPath: config.kvPath,
    redisUrl: config.redisUrl,
    ttlHours: config.callStoreTtlHours,
  }, { log });
  if (!opened.ok) throw new ConfigError(opened.errors);
  return opened.store;
}

/** What {@linkcode keepServing} needs besides the first server. */
interface KeepServingOptions {
  log: Logger;
  metrics: ServerMetrics;
  /** Listens again on the same address; throws when it cannot. */
  serve: () => Deno.HttpServer;
}

/** The server that is listening now, whichever attempt that is. */
interface Listener {
  /** Stops listening (closing sockets still open with 1001) and any retry. */
  shutdown(): Promise<void>;
  /** Resolves once {@linkcode Listener.shutdown} has finished. */
  readonly finished: Promise<void>;
}

/**
 * Watches the server's accept loop and, when it fails, listens again: its
 * `finished` promise rejects (out of file descriptors, say) while the
 * sockets it upgraded keep working (PITFALLS 11). Handling the rejection
 * here is also what keeps it from ending the process.
 */
function keepServing(
  first: Deno.HttpServer,
  options: KeepServingOptions,
): Listener {
  const { log, metrics, serve } = options;
  const finished = Promise.withResolvers<void>();
  let server = first;
  // The first listener's failure starts a streak, whenever it comes.
  let servedAt = -Infinity;
  let delayMs = RESERVE_FIRST_DELAY_MS;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  function watch(watched: Deno.HttpServer): void {
    watched.finished.then(
      () => {
        if (watched === server) finished.resolve();
      },
      (error: unknown) => {
        if (stopped || watched !== server) return;
        const streak = performance.now() - servedAt < RESERVE_STREAK_MS;
        delayMs = streak
          ? Math.min(delayMs * 2, RESERVE_MAX_DELAY_MS)
          : RESERVE_FIRST_DELAY_MS;
        log.error("accept_failed", {
          error: describeError(error),
          retry_in_ms: delayMs,
        });
        scheduleRetry();
      },
    );
  }

  function scheduleRetry(): void {
    retry = setTimeout(serveAgain, delayMs);
  }

  function serveAgain(): void {
    retry = undefined;
    if (stopped) return;
    try {
      server = serve();
    } catch (error) {
      delayMs = Math.min(delayMs * 2, RESERVE_MAX_DELAY_MS);
      log.error("serve_again_failed", {
        error: describeError(error),
        retry_in_ms: delayMs,
      });
      scheduleRetry();
      return;
    }
    servedAt = performance.now();
    metrics.acceptRestarts.inc();
    log.info("listening_again", {});
    watch(server);
  }

  async function shutdown(): Promise<void> {
    stopped = true;
    clearTimeout(retry);
    try {
      await server.shutdown();
    } catch {
      // A listener whose accept loop failed rejects here with the failure
      // `accept_failed` already logged.
    } finally {
      finished.resolve();
    }
  }

  watch(first);
  return { shutdown, finished: finished.promise };
}

/** What {@linkcode createStopper} stops. */
interface StopperOptions {
  retell: RetellServer;
  listener: Listener;
  log: Logger;
  config: Config;
  ownsProcess: boolean;
}

/** The stop, started by a call or a signal. */
interface Stopper {
  /** Starts the stop, once; later calls return the same promise. */
  stop(signal?: Deno.Signal): Promise<void>;
  /** A stop signal arrived: start the stop, or, on a later signal, exit now. */
  signal(signal: Deno.Signal): void;
}

/**
 * The stop: drain (new sockets refused, responses in flight finished, up
 * to `SHUTDOWN_GRACE_MS`), then exit the process, or shut the listener
 * down when the process is not ours. A signal within 1 s of the first one
 * is the same stop; a later one exits at once.
 */
function createStopper(options: StopperOptions): Stopper {
  const { retell, listener, log, config, ownsProcess } = options;
  let stopping: Promise<void> | undefined;
  let startedAt = 0;

  function stop(signal?: Deno.Signal): Promise<void> {
    stopping ??= drainAndEnd(signal);
    return stopping;
  }

  async function drainAndEnd(signal?: Deno.Signal): Promise<void> {
    startedAt = performance.now();
    log.info("shutdown_started", {
      signal: signal ?? "stop",
      open_calls: retell.calls.size,
      responding: respondingCalls(),
      grace_ms: config.shutdownGraceMs,
    });
    const left = await retell.drain(config.shutdownGraceMs);
    log.info("shutdown_finished", {
      open_calls: left.openCalls,
      responses_cut: left.responding,
      waited_ms: waitedMs(),
    });
    // Exiting drops every open socket without a close frame: Retell
    // reconnects. server.shutdown() would close them with 1001, which ends
    // each call as an error (PROTOCOL.md §5.8).
    if (ownsProcess) Deno.exit(0);
    await listener.shutdown();
  }

  function signal(signal: Deno.Signal): void {
    if (stopping === undefined) {
      void stop(signal);
      return;
    }
    if (waitedMs() < REPEAT_WINDOW_MS) return;
    log.warn("shutdown_forced", {
      signal,
      open_calls: retell.calls.size,
      responding: respondingCalls(),
      waited_ms: waitedMs(),
    });
    Deno.exit(1);
  }

  function waitedMs(): number {
    return Math.round(performance.now() - startedAt);
  }

  function respondingCalls(): number {
    return [...retell.calls].filter((call) => call.responding).length;
  }

  return { stop, signal };
}

/** Writes the `listening` line with the URLs to give a client and Retell. */
function logListening(
  log: Logger,
  address: Deno.NetAddr,
  config: Config,
): void {
  // A wildcard bind is reachable as localhost from this machine.
  const local = address.hostname === "0.0.0.0" || address.hostname === "::"
    ? "localhost"
    : address.hostname;
  const host = local.includes(":") ? `[${local}]` : local;
  log.info("listening", {
    url: `http://${host}:${address.port}`,
    websocket: `ws://${host}:${address.port}${config.websocketPath}${
      config.wsSecret === "" ? "" : "/{WS_SECRET}"
    }/{call_id}`,
    responder: config.responder,
  });
}

/** The settings of the agents given in code that have any, by name. */
function agentSettingsOf(
  agents: readonly RetellAgent[],
): Record<string, AgentSettings> {
  return Object.fromEntries(
    agents.flatMap(({ name, settings }) =>
      settings === undefined ? [] : [[name, settings]]
    ),
  );
}

/**
 * Writes the `agents_loaded` line: each agent's name, its responder (`custom`
 * for one given in code) and the path Retell dials for it.
 */
function logAgents(
  log: Logger,
  config: Config,
  agents: readonly RetellAgent[],
  ownDefault: boolean,
): void {
  const secret = config.wsSecret === "" ? "" : "/{WS_SECRET}";
  const path = (name: string) =>
    `${config.websocketPath}${
      name === DEFAULT_AGENT_NAME ? "" : `/${name}`
    }${secret}/{call_id}`;
  log.info("agents_loaded", {
    agents: agentNamesOf(config, agents).map((name) => {
      const own = name === DEFAULT_AGENT_NAME
        ? ownDefault
        : agents.some((agent) => agent.name === name && agent.responder);
      const agentConfig = config.agents.find((agent) =>
        agent.name === name
      )?.config ?? config;
      return {
        name,
        responder: own ? "custom" : agentConfig.responder,
        path: path(name),
      };
    }),
  });
}

/** A startup failure whose message is already the one to print. */
class StartFailure extends Error {}

/** The one "Cannot start: ..." message for a startup failure. */
function describeStartFailure(error: unknown): string {
  if (error instanceof ConfigError || error instanceof StartFailure) {
    return error.message;
  }
  if (isPermissionError(error)) {
    return `Cannot start: a permission is missing: ${error.message}`;
  }
  return `Cannot start: ${describeError(error)}`;
}

/** The message for a failed `Deno.serve`, naming the setting to change. */
function describeListenFailure(config: Config, error: unknown): string {
  const host = JSON.stringify(config.listenHost);
  if (error instanceof Deno.errors.AddrInUse) {
    return `Cannot start: port ${config.port} on ${host} is already in use: change PORT or stop the other server`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `Cannot start: LISTEN_HOST is not an address of this machine: current value is ${host}`;
  }
  if (isPermissionError(error)) return describeStartFailure(error);
  return `Cannot start: LISTEN_HOST cannot be used (${
    describeError(error)
  }): current value is ${host}`;
}

function isPermissionError(error: unknown): error is Error {
  return error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied;
}
