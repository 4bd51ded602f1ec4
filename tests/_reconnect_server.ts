/**
 * Run as its own process by `reconnect_test.ts`: the server `main.ts`
 * starts, from the same settings and call store, with one tool added,
 * `book_slot`, which posts its arguments to the booking endpoint given as
 * the first argument and returns the endpoint's answer. Once `serveRetell`
 * takes tools, this becomes a call to it.
 */
import { z } from "zod";
import {
  createLogger,
  createResponderFromConfig,
  createRetellServer,
  defineTool,
  loadConfig,
  openCallStore,
} from "../src/mod.ts";

const [bookingUrl] = Deno.args;
if (bookingUrl === undefined) {
  throw new TypeError("Cannot start: give the booking endpoint's URL");
}
const config = loadConfig(Deno.env);
const log = createLogger({ level: config.logLevel });
const opened = await openCallStore({
  backend: config.callStore,
  kvPath: config.kvPath,
  redisUrl: config.redisUrl,
  ttlHours: config.callStoreTtlHours,
}, { log });
if (!opened.ok) {
  throw new Error(`Cannot start: ${opened.errors.join("; ")}`);
}

const bookSlot = defineTool({
  name: "book_slot",
  description: "Books an appointment slot for the caller.",
  parameters: z.object({ slot: z.string(), name: z.string() }),
  holdingLine: "One moment while I book that.",
  handler: async (args, { signal }) => {
    const response = await fetch(bookingUrl, {
      method: "POST",
      body: JSON.stringify(args),
      signal,
    });
    return await response.text();
  },
});

const retell = createRetellServer({
  responder: createResponderFromConfig(config, log, { tools: [bookSlot] }),
  log,
  allowedIps: config.allowedIps,
  allowLoopback: config.allowLoopback,
  callConfig: {
    auto_reconnect: config.autoReconnect,
    call_details: config.callDetails,
    transcript_with_tool_calls: config.transcriptWithToolCalls,
  },
  callStore: opened.store,
});
Deno.serve({
  hostname: config.listenHost,
  port: config.port,
  onListen({ hostname, port }) {
    log.info("listening", {
      url: `http://${hostname}:${port}`,
      call_store: config.callStore,
    });
  },
}, retell.handler);
