/**
 * Every setting the server reads, one record each: the environment
 * variable, where its value lands in {@linkcode Config}, how its text is
 * read, its default, whether it is secret, and the line docs/configuration.md and
 * `.env.example` show for it. The loader, the library's defaults, the docs
 * and the `deno.json` permission set are all built from {@linkcode SETTINGS}.
 *
 * @module
 */
import { z } from "zod";
import { createClientAddressResolver } from "../client_address.ts";
import { createIpAllowlist } from "../ip_allowlist.ts";
import { LOG_LEVELS, type LogLevel } from "../log.ts";
import {
  flag,
  hours,
  ipList,
  oneOf,
  optional,
  temperature,
  wholeNumber,
} from "./_schemas.ts";

/** Shortest `METRICS_TOKEN` accepted: a guessable token would open the numbers to anyone. */
const MIN_METRICS_TOKEN_LENGTH = 16;

/** Shortest `WS_SECRET` accepted: it is the socket's second lock, and must not be guessable. */
const MIN_WS_SECRET_LENGTH = 16;

/** Names accepted by `RESPONDER`. */
export const RESPONDER_NAMES = ["dummy", "llm", "demo"] as const;

/** A responder that can be chosen with `RESPONDER`. */
export type ResponderName = typeof RESPONDER_NAMES[number];

/** Backends accepted by `CALL_STORE`. */
export const CALL_STORE_BACKENDS = ["memory", "kv", "redis"] as const;

/** A call store backend that can be chosen with `CALL_STORE`. */
export type CallStoreBackend = typeof CALL_STORE_BACKENDS[number];

/** The server's settings, as read by `loadConfig`. */
export interface Config {
  /** `PORT`: TCP port to listen on. */
  port: number;
  /** `LISTEN_HOST`: address to bind; `0.0.0.0` for IPv4, `::` for dual stack. */
  listenHost: string;
  /** `ALLOWED_IPS`: addresses and CIDR ranges that may open a call; `*` is everyone. */
  allowedIps: readonly string[];
  /** `ALLOW_LOOPBACK`: also accept 127.0.0.0/8 and ::1 (set by `deno task dev`). */
  allowLoopback: boolean;
  /** `TRUST_PROXY`: reverse proxies whose `X-Forwarded-For` is believed. */
  trustProxy: readonly string[];
  /** `WEBSOCKET_PATH`: path before `/{call_id}`, without a trailing slash. */
  websocketPath: string;
  /** `WS_SECRET`: what the socket URL must carry to be upgraded; empty is no secret. Never logged. */
  wsSecret: string;
  /** `RESPONDER`: which responder answers calls. */
  responder: ResponderName;
  /** `LOG_LEVEL`: lowest level logged. */
  logLevel: LogLevel;
  /** `METRICS_ALLOWED_IPS`: addresses and CIDR ranges that may read `/metrics` without a token. */
  metricsAllowedIps: readonly string[];
  /** `METRICS_TOKEN`: bearer token that lets any address read `/metrics`; empty accepts none. */
  metricsToken: string;
  /** `PLAYGROUND`: serve the browser playground at `/playground` (set by `deno task dev`). */
  playground: boolean;
  /** `AUTO_RECONNECT`: ask Retell for `ping_pong` keepalives and reconnection. */
  autoReconnect: boolean;
  /** `CALL_DETAILS`: ask Retell for the `call_details` event. */
  callDetails: boolean;
  /** `TRANSCRIPT_WITH_TOOL_CALLS`: ask Retell for `transcript_with_tool_calls`. */
  transcriptWithToolCalls: boolean;
  /** `RESPONDER_TIMEOUT_MS`: longest wait for the responder's next piece of a reply. */
  responderTimeoutMs: number;
  /** `TURN_STALL_MS`: silence in a live response after which `turn_stalled` is logged; 0 is off. */
  turnStallMs: number;
  /** `SHUTDOWN_GRACE_MS`: how long a stopping server waits for responses in flight. */
  shutdownGraceMs: number;
  /** `MAX_CALLS`: live calls this process holds; past it a new socket gets 503. */
  maxCalls: number;
  /** `MAX_CALLS_PER_ADDRESS`: live calls one client address holds (Retell's exempt); 0 is off. */
  maxCallsPerAddress: number;
  /** `MAX_FRAME_BYTES`: longest inbound text frame read; longer ones are rejected unparsed. */
  maxFrameBytes: number;
  /** `MAX_TRANSCRIPT_ITEMS`: most transcript items kept per request; the newest are kept. */
  maxTranscriptItems: number;
  /** `MAX_CALL_DETAILS_BYTES`: longest `call_details` frame kept; a longer one is rejected. */
  maxCallDetailsBytes: number;
  /** `MAX_FRAMES_PER_SECOND`: inbound frames per call per second; the rest are dropped. */
  maxFramesPerSecond: number;
  /** `SLOW_READER_BYTES`: a send queue over this many bytes means the peer is not reading. */
  slowReaderBytes: number;
  /** `SLOW_READER_MS`: how long the send queue may stay over `SLOW_READER_BYTES` before the call is closed. */
  slowReaderMs: number;
  /** `CALL_STORE`: where a call's state lives between sockets. */
  callStore: CallStoreBackend;
  /** `KV_PATH`: the Deno KV database; undefined for Deno's default. */
  kvPath: string | undefined;
  /** `REDIS_URL`: the Redis server of `CALL_STORE=redis`; never logged. */
  redisUrl: string | undefined;
  /** `CALL_STORE_TTL_HOURS`: how long a call is kept after its last activity. */
  callStoreTtlHours: number;
  /** Settings of the `llm` responder; only checked when `RESPONDER=llm`. */
  llm: LlmConfig;
  /** `AGENTS_FILE`: the JSON file naming further agents; undefined for none. */
  agentsFile: string | undefined;
  /**
   * The agents of `AGENTS_FILE` (and of `loadConfig`'s `agents` option),
   * each with its own settings; empty when there are none. The
   * environment's own agent is this config itself.
   */
  agents: readonly AgentConfig[];
}

/** One named agent of {@linkcode Config.agents}. */
export interface AgentConfig {
  /** The name in its URL: `{WEBSOCKET_PATH}/{name}/{call_id}`. */
  name: string;
  /**
   * Its settings: the environment's, with the agent-scope ones it sets in
   * their place. Its own `agents` list is empty.
   */
  config: Config;
}

/** Settings of the `llm` responder. */
export interface LlmConfig {
  /** `OPENAI_API_KEY`: the provider's key; never logged. */
  apiKey: string;
  /** `OPENAI_BASE_URL`: the OpenAI-compatible API's base URL. */
  baseUrl: string;
  /** `OPENAI_MODEL`: the model name. */
  model: string;
  /** `OPENAI_FALLBACK_MODEL`: the model asked when the primary fails before speaking; undefined for none. */
  fallbackModel: string | undefined;
  /** `OPENAI_FALLBACK_BASE_URL`: the fallback's base URL; undefined for `OPENAI_BASE_URL`. */
  fallbackBaseUrl: string | undefined;
  /** `OPENAI_FALLBACK_API_KEY`: the fallback's key; undefined for `OPENAI_API_KEY`; never logged. */
  fallbackApiKey: string | undefined;
  /** `AGENT_PROMPT` or the contents of `AGENT_PROMPT_FILE`; undefined for the built-in prompt. */
  prompt: string | undefined;
  /** `BEGIN_MESSAGE`: the greeting; empty lets the caller speak first. */
  beginMessage: string;
  /** `LLM_TEMPERATURE`: sampling temperature; undefined for the provider's default. */
  temperature: number | undefined;
  /** `LLM_MAX_TOKENS`: longest reply in tokens; undefined for the provider's default. */
  maxTokens: number | undefined;
  /** `LLM_FIRST_TOKEN_TIMEOUT_MS`: longest wait for the model's first token. */
  firstTokenTimeoutMs: number;
  /** `LLM_STALL_TIMEOUT_MS`: longest gap between two pieces of the model's stream. */
  stallTimeoutMs: number;
  /** `TOOL_PROGRESS_MS`: a tool still running after this many ms gets one spoken progress line; 0 is off. */
  toolProgressMs: number;
  /** `TRANSFER_NUMBER`: where `transfer_call` sends the caller; undefined hides the tool. */
  transferNumber: string | undefined;
}

/**
 * Where a setting applies. `server` settings shape the process (where it
 * listens, who may call, logs, shutdown); `agent` settings shape each call
 * (who answers, with which model, what Retell is asked for), so a later
 * agents file can set them per agent under the variable's name in
 * snake_case, falling back to the environment.
 */
export type SettingScope = "server" | "agent";

/** A place in {@linkcode Config}: a top-level key, or `llm.` and a key of {@linkcode LlmConfig}. */
export type ConfigKey =
  | Exclude<keyof Config, "llm" | "agents">
  | `llm.${keyof LlmConfig}`;

/** The type of the value at `K` in {@linkcode Config}. */
export type ConfigValue<K extends ConfigKey> = K extends
  `llm.${infer L extends keyof LlmConfig}` ? LlmConfig[L]
  : K extends keyof Config ? Config[K]
  : never;

/** One environment variable the server reads. */
export interface Setting<T = unknown> {
  /**
   * Where the value lands in {@linkcode Config}. `AGENT_PROMPT_FILE` has
   * none: the loader reads the file into `llm.prompt` when `AGENT_PROMPT`
   * is empty.
   */
  readonly key: ConfigKey | undefined;
  /** Whether it applies to the whole server or to each agent's calls. */
  readonly scope: SettingScope;
  /** Reads the trimmed text; its issues name the problem without the variable. */
  readonly schema: z.ZodType<T, string>;
  /** The value used when it is unset, as written in the environment. */
  readonly default: string;
  /**
   * An empty value is a value (an empty list, no greeting) rather than
   * "use the default".
   */
  readonly emptyIsValue: boolean;
  /** Must not be empty when `RESPONDER` names this responder. */
  readonly requiredFor: ResponderName | undefined;
  /** Its value is never printed, not even in an error. */
  readonly secret: boolean;
  /** What it does, in one line of Markdown, for docs/configuration.md and `.env.example`. */
  readonly description: string;
}

/** What a record of {@linkcode SETTINGS} spells out; the rest has defaults. */
interface SettingSpec<K extends ConfigKey | undefined> {
  key: K;
  scope: SettingScope;
  schema: z.ZodType<K extends ConfigKey ? ConfigValue<K> : string, string>;
  default: string;
  emptyIsValue?: boolean;
  requiredFor?: ResponderName;
  secret?: boolean;
  description: string;
}

/** A record whose schema is checked against the type at its key. */
function setting<K extends ConfigKey | undefined>(
  spec: SettingSpec<K>,
): Setting<K extends ConfigKey ? ConfigValue<K> : string> {
  return Object.freeze({
    ...spec,
    emptyIsValue: spec.emptyIsValue ?? false,
    requiredFor: spec.requiredFor,
    secret: spec.secret ?? false,
  });
}

/**
 * Every variable the server reads, by name, in the order the loader reports
 * problems; docs/configuration.md and `.env.example` list them in this order within
 * each scope.
 */
export const SETTINGS = {
  PORT: setting({
    key: "port",
    scope: "server",
    schema: wholeNumber(1, 65535),
    default: "8080",
    description: "TCP port to listen on.",
  }),
  LISTEN_HOST: setting({
    key: "listenHost",
    scope: "server",
    schema: z.string().min(1),
    default: "0.0.0.0",
    description:
      "Address to bind: `0.0.0.0` (IPv4), `::` (IPv4 and IPv6), `127.0.0.1` (this machine only).",
  }),
  ALLOWED_IPS: setting({
    key: "allowedIps",
    scope: "server",
    schema: ipList(createIpAllowlist),
    default: "100.20.5.228",
    emptyIsValue: true,
    description:
      "Comma-separated IPs and CIDR ranges (IPv4 or IPv6) that may open a call; Retell calls from `100.20.5.228`. `*` lets everyone in and is logged as a warning; an empty value refuses everyone.",
  }),
  ALLOW_LOOPBACK: setting({
    key: "allowLoopback",
    scope: "server",
    schema: flag,
    default: "false",
    description:
      "Also accept `127.0.0.0/8` and `::1`, for local testing. `deno task dev` sets it.",
  }),
  TRUST_PROXY: setting({
    key: "trustProxy",
    scope: "server",
    schema: ipList(createClientAddressResolver),
    default: "",
    emptyIsValue: true,
    description:
      "Comma-separated IPs and CIDR ranges of your own reverse proxies (for ngrok's local agent: `127.0.0.1,::1`). Only when the direct peer is one of them is the caller taken from `X-Forwarded-For`.",
  }),
  WS_SECRET: setting({
    key: "wsSecret",
    scope: "server",
    schema: z.string().regex(
      new RegExp(`^(|[A-Za-z0-9._~-]{${MIN_WS_SECRET_LENGTH},})$`),
      {
        error:
          `must be empty or at least ${MIN_WS_SECRET_LENGTH} letters, digits and . _ ~ - (it goes in a URL as it is)`,
      },
    ),
    default: "",
    secret: true,
    description:
      `A second lock besides \`ALLOWED_IPS\`: at least ${MIN_WS_SECRET_LENGTH} letters, digits and \`. _ ~ -\` (\`openssl rand -hex 32\` makes one). When set, a socket is upgraded only when its URL carries it, as the segment before the call id (agent URL \`wss://<host><path>/<secret>\`) or as \`?token=<secret>\`; others get 403. Empty: no secret. Never logged.`,
  }),
  WEBSOCKET_PATH: setting({
    key: "websocketPath",
    scope: "server",
    schema: z.string().regex(/^(\/[A-Za-z0-9._~-]+)+\/*$/, {
      error:
        "must be a path such as /llm-websocket: segments of letters, digits and . _ ~ - after a /",
    }).transform((path) => path.replace(/\/+$/, "")),
    default: "/llm-websocket",
    description:
      "Path Retell dials, before `/{call_id}`: the agent's URL is `wss://<host><path>`. A query string and a trailing slash after the call id are fine.",
  }),
  AGENTS_FILE: setting({
    key: "agentsFile",
    scope: "server",
    schema: optional(z.string()),
    default: "",
    description:
      'A JSON file of further agents on this server, `{"agents": {"<name>": {...}}}`, each set with the agent-scope variables in snake case (`responder`, `openai_model`, ...) and falling back to these for the rest; Retell dials `wss://<host><path>/<name>`. Read and checked once at startup. See `docs/agents.md`.',
  }),
  RESPONDER: setting({
    key: "responder",
    scope: "agent",
    schema: oneOf(RESPONDER_NAMES),
    default: "dummy",
    description:
      "Who answers calls: `dummy` (fixed replies, no model), `demo` (streams word by word at speaking pace and echoes the caller, no model: try interruptions in the simulator) or `llm` (an OpenAI-compatible chat model, set with the `OPENAI_` and `LLM_` variables).",
  }),
  LOG_LEVEL: setting({
    key: "logLevel",
    scope: "server",
    schema: oneOf(
      LOG_LEVELS as readonly LogLevel[] as [LogLevel, ...LogLevel[]],
    ),
    default: "info",
    description:
      "`debug`, `info`, `warn` or `error`. `debug` logs every frame in both directions.",
  }),
  METRICS_ALLOWED_IPS: setting({
    key: "metricsAllowedIps",
    scope: "server",
    schema: ipList(createIpAllowlist),
    default: "127.0.0.0/8,::1",
    emptyIsValue: true,
    description:
      "Comma-separated IPs and CIDR ranges that may read `GET /metrics` (Prometheus text) without a token; behind `TRUST_PROXY`, the forwarded client counts. Everyone else gets 404, or 403 for a wrong token. Empty: only the token opens it.",
  }),
  METRICS_TOKEN: setting({
    key: "metricsToken",
    scope: "server",
    schema: z.string().refine(
      (token) => token === "" || token.length >= MIN_METRICS_TOKEN_LENGTH,
      {
        error:
          `must be empty or at least ${MIN_METRICS_TOKEN_LENGTH} characters`,
      },
    ),
    default: "",
    secret: true,
    description:
      `Bearer token (at least ${MIN_METRICS_TOKEN_LENGTH} characters) that lets any address read \`/metrics\` with \`Authorization: Bearer <token>\`, for a scraper outside \`METRICS_ALLOWED_IPS\`. Empty: no token is accepted. Never logged.`,
  }),
  PLAYGROUND: setting({
    key: "playground",
    scope: "server",
    schema: flag,
    default: "false",
    description:
      "Serve the browser playground at `GET /playground`, to those who may read `/metrics` (`METRICS_ALLOWED_IPS`, `METRICS_TOKEN`); its socket is admitted like any call. `deno task dev` sets it. See docs/playground.md.",
  }),
  AUTO_RECONNECT: setting({
    key: "autoReconnect",
    scope: "agent",
    schema: flag,
    default: "true",
    description:
      "Ask Retell for `ping_pong` keepalives every 2 s, and to reconnect when they stop.",
  }),
  CALL_DETAILS: setting({
    key: "callDetails",
    scope: "agent",
    schema: flag,
    default: "true",
    description:
      "Ask Retell for the `call_details` event (the call object and its dynamic variables).",
  }),
  TRANSCRIPT_WITH_TOOL_CALLS: setting({
    key: "transcriptWithToolCalls",
    scope: "agent",
    schema: flag,
    default: "false",
    description:
      "Ask Retell to add `transcript_with_tool_calls` to transcript events.",
  }),
  RESPONDER_TIMEOUT_MS: setting({
    key: "responderTimeoutMs",
    scope: "agent",
    schema: wholeNumber(1, 600_000),
    default: "30000",
    description:
      "Longest wait in ms for the responder's next piece of a reply; past it the turn ends with a short spoken apology.",
  }),
  TURN_STALL_MS: setting({
    key: "turnStallMs",
    scope: "agent",
    schema: wholeNumber(0, 600_000),
    default: "5000",
    description:
      "A live response that has sent nothing for this many ms logs one `turn_stalled` warning and counts in `retell_turn_stalls_total`; the turn goes on (`RESPONDER_TIMEOUT_MS` ends it). `0` turns the watchdog off.",
  }),
  SHUTDOWN_GRACE_MS: setting({
    key: "shutdownGraceMs",
    scope: "server",
    schema: wholeNumber(0, 86_400_000),
    default: "3000",
    description:
      "On SIGINT or SIGTERM, refuse new calls, let responses in flight finish for up to this many ms, then exit: open calls drop and Retell reconnects them.",
  }),
  MAX_CALLS: setting({
    key: "maxCalls",
    scope: "server",
    schema: wholeNumber(1, 1_000_000),
    default: "2000",
    description:
      'Live calls this process holds; one more socket gets 503 and counts in `retell_connections_refused_total{reason="capacity"}`. 2000 fits a 1 GiB instance: an idle Deno WebSocket takes about 29 KiB, and a call\'s transcript and state a few hundred KiB more on a long call, so 2000 calls stay near half of 1 GiB. Raise it with memory (and `LimitNOFILE`: one descriptor per call).',
  }),
  MAX_CALLS_PER_ADDRESS: setting({
    key: "maxCallsPerAddress",
    scope: "server",
    schema: wholeNumber(0, 1_000_000),
    default: "50",
    description:
      "Live calls one client address (after `TRUST_PROXY`) holds; one more gets 429 and counts as `address_limit`. Retell's `100.20.5.228` is exempt, since every Retell call comes from it; the cap matters when `ALLOWED_IPS` lets in other addresses. Behind a proxy, set `TRUST_PROXY`, or the proxy is the one address. `0` turns it off.",
  }),
  MAX_FRAME_BYTES: setting({
    key: "maxFrameBytes",
    scope: "server",
    schema: wholeNumber(1024, 536_870_000),
    default: "4194304",
    description:
      'Longest inbound text frame read, in characters (UTF-16 units, never more than its bytes): a longer one is rejected without parsing (`retell_frames_rejected_total{kind="too_large"}`, logged once per call) and the call goes on. Sized from a long call: a `response_required` for one hour of speech (640 utterances with word timings) is 0.53 MB, or 1.06 MB with `TRANSCRIPT_WITH_TOOL_CALLS`, so 4 MiB holds about four such hours.',
  }),
  MAX_TRANSCRIPT_ITEMS: setting({
    key: "maxTranscriptItems",
    scope: "server",
    schema: wholeNumber(1, 1_000_000),
    default: "2000",
    description:
      "Most transcript items a request hands to the responder (about three hours of speech at 640 utterances an hour): a longer transcript keeps its newest items, which are the ones a reply answers, and the call goes on; logged once per call.",
  }),
  MAX_CALL_DETAILS_BYTES: setting({
    key: "maxCallDetailsBytes",
    scope: "server",
    schema: wholeNumber(1024, 536_870_000),
    default: "32768",
    description:
      "Longest `call_details` frame kept, in characters: a longer one is rejected (`kind=\"too_large\"`), its details are neither given to the responder nor stored, and the call goes on. Retell's details are a few KB; 32 KiB keeps a stored call under Deno KV's 64 KiB value limit.",
  }),
  MAX_FRAMES_PER_SECOND: setting({
    key: "maxFramesPerSecond",
    scope: "server",
    schema: wholeNumber(1, 1_000_000),
    default: "100",
    description:
      'Inbound frames per call per second, with bursts of as many: the rest are dropped unread (`kind="rate_limited"`, logged once per call). Retell sends a ping every 2 s and at most an update per spoken word, a few frames a second.',
  }),
  SLOW_READER_BYTES: setting({
    key: "slowReaderBytes",
    scope: "server",
    schema: wholeNumber(1024, 1_073_741_824),
    default: "1048576",
    description:
      "A call whose send queue holds more than this many bytes is not reading what the server sends: a whole reply is a few KB, which Retell reads at once. See `SLOW_READER_MS`.",
  }),
  SLOW_READER_MS: setting({
    key: "slowReaderMs",
    scope: "server",
    schema: wholeNumber(0, 600_000),
    default: "5000",
    description:
      "How long a call's send queue may stay over `SLOW_READER_BYTES`, judged at each send, before the server closes the call with 1008 (policy violation) and logs `slow_reader`, so a peer that stops reading cannot grow the server's memory.",
  }),
  CALL_STORE: setting({
    key: "callStore",
    scope: "server",
    schema: oneOf(CALL_STORE_BACKENDS),
    default: "memory",
    description:
      "Where each call's state is kept, so that a socket Retell reconnects continues the call: `memory` (this process), `kv` (Deno KV, see `KV_PATH`) or `redis` (a fleet, see `REDIS_URL`).",
  }),
  KV_PATH: setting({
    key: "kvPath",
    scope: "server",
    schema: optional(z.string()),
    default: "",
    description:
      "With `CALL_STORE=kv`: a database file (one process per file) or a KV Connect URL. Empty uses Deno's default, which on Deno Deploy is the database attached to the app.",
  }),
  REDIS_URL: setting({
    key: "redisUrl",
    scope: "server",
    schema: optional(z.string()),
    default: "",
    secret: true,
    description:
      "With `CALL_STORE=redis`: `redis://[user:password@]host:6379[/db]`, or `rediss://` for TLS. Never logged.",
  }),
  CALL_STORE_TTL_HOURS: setting({
    key: "callStoreTtlHours",
    scope: "server",
    schema: hours,
    default: "6",
    description: "Hours a call's stored state is kept after its last activity.",
  }),
  OPENAI_API_KEY: setting({
    key: "llm.apiKey",
    scope: "agent",
    schema: z.string(),
    default: "",
    requiredFor: "llm",
    secret: true,
    description:
      "API key of the model provider. Required with `RESPONDER=llm` (any non-empty value for servers that need none, such as Ollama). Never logged.",
  }),
  OPENAI_BASE_URL: setting({
    key: "llm.baseUrl",
    scope: "agent",
    schema: z.url({
      protocol: /^https?$/,
      error: "must be an http or https URL",
    }),
    default: "https://api.openai.com/v1",
    description:
      "Base URL of any OpenAI-compatible chat-completions API, such as `http://localhost:11434/v1` for Ollama; Groq, Together, OpenRouter, vLLM, LM Studio and Azure OpenAI (v1) work too.",
  }),
  OPENAI_MODEL: setting({
    key: "llm.model",
    scope: "agent",
    schema: z.string(),
    default: "",
    requiredFor: "llm",
    description:
      "Model name, such as `gpt-4o-mini` or `llama3.2`. Required with `RESPONDER=llm`.",
  }),
  OPENAI_FALLBACK_MODEL: setting({
    key: "llm.fallbackModel",
    scope: "agent",
    schema: optional(z.string()),
    default: "",
    description:
      "Model asked at once, for the same turn, when `OPENAI_MODEL` errors or sends no first token within `LLM_FIRST_TOKEN_TIMEOUT_MS` before anything was spoken; only when both fail is the apology spoken. Empty: no fallback.",
  }),
  OPENAI_FALLBACK_BASE_URL: setting({
    key: "llm.fallbackBaseUrl",
    scope: "agent",
    schema: optional(z.url({
      protocol: /^https?$/,
      error: "must be an http or https URL",
    })),
    default: "",
    description:
      "Base URL of the fallback model's API. Empty uses `OPENAI_BASE_URL`.",
  }),
  OPENAI_FALLBACK_API_KEY: setting({
    key: "llm.fallbackApiKey",
    scope: "agent",
    schema: optional(z.string()),
    default: "",
    secret: true,
    description:
      "API key of the fallback model's provider. Empty uses `OPENAI_API_KEY`. Never logged.",
  }),
  AGENT_PROMPT: setting({
    key: "llm.prompt",
    scope: "agent",
    schema: optional(z.string()),
    default: "",
    description:
      "System prompt. `{{name}}` placeholders are filled from the call's dynamic variables (a default may follow the name after a bar, see docs/model.md; one left unfilled is removed and logged). Empty uses a built-in prompt for short spoken answers.",
  }),
  AGENT_PROMPT_FILE: setting({
    key: undefined,
    scope: "agent",
    schema: z.string(),
    default: "",
    description:
      "Path of a file holding the system prompt, read once at startup. Use it or `AGENT_PROMPT`, not both.",
  }),
  BEGIN_MESSAGE: setting({
    key: "llm.beginMessage",
    scope: "agent",
    schema: z.string(),
    default: "Hello! How can I help you today?",
    emptyIsValue: true,
    description:
      "The `llm` agent's greeting, with `{{name}}` placeholders, which may carry a default (docs/model.md); one left unfilled is removed, never spoken. Set it empty to let the caller speak first.",
  }),
  LLM_TEMPERATURE: setting({
    key: "llm.temperature",
    scope: "agent",
    schema: optional(temperature),
    default: "",
    description:
      "Sampling temperature from 0 to 2; empty uses the provider's default.",
  }),
  LLM_MAX_TOKENS: setting({
    key: "llm.maxTokens",
    scope: "agent",
    schema: optional(wholeNumber(1, 1_000_000)),
    default: "",
    description:
      "Longest reply in tokens (`max_tokens`); empty uses the provider's default.",
  }),
  LLM_FIRST_TOKEN_TIMEOUT_MS: setting({
    key: "llm.firstTokenTimeoutMs",
    scope: "agent",
    schema: wholeNumber(1, 600_000),
    default: "8000",
    description:
      "Longest wait in ms for the model's first token; past it the turn ends with a short apology.",
  }),
  LLM_STALL_TIMEOUT_MS: setting({
    key: "llm.stallTimeoutMs",
    scope: "agent",
    schema: wholeNumber(1, 600_000),
    default: "8000",
    description:
      "Longest gap in ms between two pieces of the model's stream before the turn ends with an apology.",
  }),
  TOOL_PROGRESS_MS: setting({
    key: "llm.toolProgressMs",
    scope: "agent",
    schema: wholeNumber(0, 600_000),
    default: "2500",
    description:
      "A tool still running after this many ms gets one short spoken progress line in the same response; 0 turns it off.",
  }),
  TRANSFER_NUMBER: setting({
    key: "llm.transferNumber",
    scope: "agent",
    schema: optional(
      z.string().regex(/^\+[1-9]\d{6,14}$/, {
        error: "must be an E.164 number such as +14155550123",
      }),
    ),
    default: "",
    description:
      "E.164 number (such as `+14155550123`) the `transfer_call` tool sends callers to. Empty: the model is not offered the tool.",
  }),
} as const;

/** The name of a variable in {@linkcode SETTINGS}. */
export type SettingName = keyof typeof SETTINGS;

/** The names of {@linkcode SETTINGS}, in order. */
export const SETTING_NAMES: readonly SettingName[] = Object.freeze(
  Object.keys(SETTINGS) as SettingName[],
);
