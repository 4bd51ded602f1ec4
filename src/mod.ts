/**
 * A Retell AI custom-LLM WebSocket server for Deno.
 *
 * Retell opens one WebSocket per call to `{websocketPath}/{call_id}`,
 * streams the live transcript, and speaks what the server streams back.
 * {@linkcode serveRetell} runs the whole server from the environment's
 * settings; {@linkcode createRetellServer} gives the handler for your own
 * `Deno.serve`; each call runs the protocol in {@linkcode startCallSession};
 * a {@linkcode Responder} decides what the agent says.
 *
 * @example A server with your own responder
 * ```ts ignore
 * import { type Responder, serveRetell } from "./src/mod.ts";
 *
 * const responder: Responder = {
 *   begin: () => "Hello! What can I do for you?",
 *   async *respond(turn) {
 *     yield "You said: ";
 *     yield turn.transcript.at(-1)?.content ?? "nothing";
 *   },
 * };
 * await serveRetell({ responder });
 * ```
 *
 * ## The public surface
 *
 * Everything below is exported on purpose, grouped by what a user does with
 * it; the rest of `src/` (LLM message building, Markdown stripping, the
 * allowlist parser, the simulator's internals) may change between releases.
 *
 * - **Run a server**: {@linkcode serveRetell} is the entry point (settings,
 *   listening, signals, the stop, startup errors); {@linkcode loadConfig}
 *   reads the environment into a {@linkcode Config};
 *   {@linkcode createRetellServer} gives the handler for your own
 *   `Deno.serve`; {@linkcode startCallSession} runs one call on an upgraded
 *   socket.
 * - **Decide what the agent says**: the {@linkcode Responder} contract and
 *   the built-in responders ({@linkcode createDummyResponder},
 *   {@linkcode createLlmResponder}, {@linkcode createResponderFromConfig});
 *   {@linkcode defineTool} gives the LLM responder your own tools.
 * - **Speak the protocol**: every event Retell sends ({@linkcode parseInbound})
 *   and every event the server sends (the `create*Event` builders,
 *   {@linkcode encodeOutbound}, {@linkcode parseOutbound}), as documented
 *   interfaces; section numbers refer to `src/protocol/PROTOCOL.md`.
 * - **Keep calls across reconnects**: a {@linkcode CallStore} remembers, per
 *   call id, the greeting, the call details and tool runs, so a socket that
 *   Retell reconnects continues the call; {@linkcode openCallStore} opens the
 *   one the settings name ({@linkcode createMemoryCallStore},
 *   {@linkcode createKvCallStore}, {@linkcode openRedisCallStore}, each shared
 *   backend wrapped by {@linkcode createFallbackCallStore}).
 * - **Log**: {@linkcode createLogger} writes JSON lines.
 * - **Operate**: `GET /metrics` renders {@linkcode ServerMetrics}
 *   ({@linkcode createServerMetrics} makes a set to share between servers or
 *   read yourself); with `OTEL_DENO=true`, every call, turn and tool run is
 *   a span under the instrumentation scope {@linkcode TRACER_NAME}; each
 *   call's `call_ended` line carries its {@linkcode LatencySummary}s.
 *
 * @module
 */
export {
  type AgentConfig,
  CALL_STORE_BACKENDS,
  type CallStoreBackend,
  type Config,
  type LlmConfig,
  RESPONDER_NAMES,
  type ResponderName,
} from "./config/settings.ts";
export {
  ConfigError,
  type EnvSource,
  loadConfig,
  type LoadConfigOptions,
} from "./config/load.ts";
export {
  AGENT_NAME_REGEXP,
  type AgentSettings,
  DEFAULT_AGENT_NAME,
} from "./config/agents_file.ts";
export type { RetellAgent } from "./agents.ts";
export { type InputLimits, inputLimitsOf } from "./limits.ts";
export {
  installProcessGuard,
  type ProcessGuardOptions,
} from "./process_guard.ts";
export {
  type RetellService,
  serveRetell,
  type ServeRetellOptions,
} from "./serve.ts";
export {
  createRetellServer,
  type DrainResult,
  type RetellServer,
  type RetellServerOptions,
} from "./server.ts";
export {
  type CallSession,
  type CallSessionOptions,
  type CallSummary,
  DEFAULT_FALLBACK_TEXT,
  startCallSession,
} from "./session.ts";
export { DEFAULT_HOOK_TIMEOUT_MS } from "./call_hooks.ts";
export type {
  AgentUpdate,
  CallContext,
  CallDetailsResult,
  CallHandleResult,
  InterruptOptions,
  InterruptOutcome,
  InterruptReply,
  ModelErrorKind,
  ModelRequestOutcome,
  ModelRole,
  Reply,
  Responder,
  ResponderOptions,
  ResponseAction,
  ResponsePart,
  Turn,
} from "./responder.ts";
export {
  createDemoResponder,
  DEMO_ANSWER,
  DEMO_GREETING,
  DEMO_REMINDER,
  type DemoResponderOptions,
} from "./responders/demo.ts";
export { createDummyResponder } from "./responders/dummy.ts";
export {
  createLlmResponder,
  DEFAULT_AGENT_PROMPT,
  DEFAULT_REMINDER_INSTRUCTION,
  type LlmFallbackOptions,
  type LlmResponderOptions,
} from "./responders/llm.ts";
export {
  createResponderFromConfig,
  type ResponderFromConfigOptions,
} from "./responders/from_config.ts";
export {
  type ArgumentsSchema,
  defineTool,
  type LlmTool,
  type ParsedArguments,
  type ToolContext,
  type ToolDefinition,
  type ToolOutcome,
  type ValidationResult,
} from "./llm/tools.ts";
export {
  type CallDetails,
  type CallDetailsRequest,
  type InboundEvent,
  type InboundFailureKind,
  type InboundParseResult,
  type InteractionType,
  parseInbound,
  parseInboundStrict,
  type PingPongRequest,
  type ReminderRequiredRequest,
  type ResponseRequiredRequest,
  type TranscriptItem,
  type TranscriptWord,
  type UpdateOnlyRequest,
  type Utterance,
  type UtteranceRole,
} from "./protocol/inbound.ts";
export {
  actionOfFlags,
  type AgentConfigUpdate,
  type AgentInterruptEvent,
  type AgentInterruptEventOptions,
  type CallAction,
  type CallConfig,
  type ConfigEvent,
  createAgentInterruptEvent,
  createConfigEvent,
  createMetadataEvent,
  createPingPongEvent,
  createResponseEvent,
  createToolCallInvocationEvent,
  createToolCallResultEvent,
  createUpdateAgentEvent,
  encodeOutbound,
  type EncodeResult,
  type MetadataEvent,
  type OutboundEvent,
  type PingPongEvent,
  type ResponseActions,
  type ResponseEvent,
  type ResponseEventOptions,
  type ToolCallInvocationEvent,
  type ToolCallResultEvent,
  type UpdateAgentEvent,
  withActionFlags,
} from "./protocol/outbound.ts";
export {
  type OutboundFailureKind,
  type OutboundParseResult,
  parseOutbound,
} from "./protocol/outbound_parse.ts";
export type { Issue, ReadFailure } from "./protocol/issues.ts";
export type {
  CallRecord,
  CallStore,
  ToolClaim,
  ToolRun,
} from "./call_store/call_store.ts";
export {
  createMemoryCallStore,
  type MemoryCallStoreOptions,
} from "./call_store/memory.ts";
export { createKvCallStore, type KvCallStoreOptions } from "./call_store/kv.ts";
export {
  type OpenedRedisCallStore,
  openRedisCallStore,
  type RedisCallStoreOptions,
} from "./call_store/redis.ts";
export {
  type CallStoreStatus,
  createFallbackCallStore,
  type FallbackCallStoreOptions,
  type MonitoredCallStore,
} from "./call_store/fallback.ts";
export {
  type CallStoreSettings,
  openCallStore,
  type OpenCallStoreOptions,
  type OpenCallStoreResult,
} from "./call_store/from_settings.ts";
export {
  type CallEndReason,
  createServerMetrics,
  type FrameRejectKind,
  type RefusalReason,
  type ServerMetrics,
  type ServerMetricsOptions,
  type TurnKind,
  type TurnOutcome,
} from "./metrics.ts";
export {
  type Counter,
  type Gauge,
  type Histogram,
  type Labels,
  PROMETHEUS_CONTENT_TYPE,
  type UpdateArgs,
} from "./metric_registry.ts";
export { TRACER_NAME } from "./tracing.ts";
export type { LatencySummary } from "./latency_sample.ts";
export {
  createLogger,
  LOG_LEVELS,
  type LogFields,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  type LogSink,
} from "./log.ts";
