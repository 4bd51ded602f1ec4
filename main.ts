/**
 * Starts the server from environment variables. Wiring only: everything it
 * uses lives in `src/`.
 *
 * @module
 */
import {
  type Config,
  ConfigError,
  createLogger,
  createResponderFromConfig,
  createRetellServer,
  loadConfig,
  openCallStore,
} from "./src/mod.ts";

let config: Config;
try {
  config = loadConfig(Deno.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // deno-lint-ignore no-console -- the one human-readable fatal message, before logging exists
  console.error(error.message);
  Deno.exit(1);
}

const log = createLogger({ level: config.logLevel });
const opened = await openCallStore({
  backend: config.callStore,
  kvPath: config.kvPath,
  redisUrl: config.redisUrl,
  ttlHours: config.callStoreTtlHours,
}, { log });
if (!opened.ok) {
  // deno-lint-ignore no-console -- the same one-line fatal message as a config error
  console.error(new ConfigError(opened.errors).message);
  Deno.exit(1);
}
const retell = createRetellServer({
  responder: createResponderFromConfig(config, log),
  log,
  allowedIps: config.allowedIps,
  allowLoopback: config.allowLoopback,
  trustProxy: config.trustProxy,
  websocketPath: config.websocketPath,
  callConfig: {
    auto_reconnect: config.autoReconnect,
    call_details: config.callDetails,
    transcript_with_tool_calls: config.transcriptWithToolCalls,
  },
  responderTimeoutMs: config.responderTimeoutMs,
  callStore: opened.store,
  turnStallMs: config.turnStallMs,
  metricsAllowedIps: config.metricsAllowedIps,
  metricsToken: config.metricsToken,
});

const server = Deno.serve({
  hostname: config.listenHost,
  port: config.port,
  onListen({ hostname, port }) {
    // A wildcard bind is reachable as localhost from this machine.
    const local = hostname === "0.0.0.0" || hostname === "::"
      ? "localhost"
      : hostname;
    const host = local.includes(":") ? `[${local}]` : local;
    log.info("listening", {
      url: `http://${host}:${port}`,
      websocket: `ws://${host}:${port}${config.websocketPath}/{call_id}`,
      responder: config.responder,
      call_store: config.callStore,
    });
  },
}, retell.handler);

// Closing live sockets would end each call as an error at Retell (PROTOCOL.md
// §5.8), so a stop drains: no new calls, then wait for live ones to end. Calls
// still live at the deadline are dropped with the process; Retell sees an
// abnormal close and reconnects, reaching another instance if there is one.
let stopping = false;
async function stop(signal: Deno.Signal): Promise<void> {
  if (stopping) {
    log.warn("shutdown_forced", { signal, live_calls: retell.calls.size });
    Deno.exit(1);
  }
  stopping = true;
  log.info("shutdown_started", {
    signal,
    live_calls: retell.calls.size,
    grace_ms: config.shutdownGraceMs,
  });
  const left = await retell.drain(config.shutdownGraceMs);
  await server.shutdown();
  log.info("shutdown_finished", { calls_dropped: left });
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void stop(signal));
}
