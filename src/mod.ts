/**
 * A Retell AI custom-LLM WebSocket server for Deno.
 *
 * Retell opens one WebSocket per call to `{websocketPath}/{call_id}`,
 * streams the live transcript, and speaks what the server streams back.
 * {@linkcode createRetellServer} gives a handler for `Deno.serve`; each call
 * runs the protocol in {@linkcode startCallSession}; a
 * {@linkcode Responder} decides what the agent says.
 *
 * @example A server with your own responder
 * ```ts ignore
 * import { createLogger, createRetellServer, type Responder } from "./src/mod.ts";
 *
 * const responder: Responder = {
 *   begin: () => "Hello! What can I do for you?",
 *   async *respond(turn) {
 *     yield "You said: ";
 *     yield turn.transcript.at(-1)?.content ?? "nothing";
 *   },
 * };
 * const server = createRetellServer({ responder, log: createLogger(), allowLoopback: true });
 * Deno.serve({ port: 8080 }, server.handler);
 * ```
 *
 * @module
 */
export {
  type Config,
  type LlmConfig,
  RESPONDER_NAMES,
  type ResponderName,
} from "./config/settings.ts";
export * from "./config/load.ts";
export * from "./client_address.ts";
export * from "./ip_allowlist.ts";
export * from "./log.ts";
export * from "./protocol/inbound.ts";
export type { Issue, ReadFailure } from "./protocol/issues.ts";
export * from "./protocol/outbound.ts";
export * from "./responder.ts";
export * from "./llm/markdown.ts";
export * from "./llm/messages.ts";
export * from "./llm/template.ts";
export * from "./llm/tools.ts";
export * from "./responders/dummy.ts";
export * from "./responders/llm.ts";
export * from "./responders/from_config.ts";
export * from "./server.ts";
export * from "./session.ts";
