/**
 * The settings the server reads: the shape of the loaded {@linkcode Config}
 * and every environment variable behind it, with its default and meaning.
 *
 * @module
 */
import { LOG_LEVELS, type LogLevel } from "../log.ts";

/** Names accepted by `RESPONDER`. */
export const RESPONDER_NAMES = ["dummy", "llm"] as const;

/** A responder that can be chosen with `RESPONDER`. */
export type ResponderName = typeof RESPONDER_NAMES[number];

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
  /** `RESPONDER`: which responder answers calls. */
  responder: ResponderName;
  /** `LOG_LEVEL`: lowest level logged. */
  logLevel: LogLevel;
  /** `AUTO_RECONNECT`: ask Retell for `ping_pong` keepalives and reconnection. */
  autoReconnect: boolean;
  /** `CALL_DETAILS`: ask Retell for the `call_details` event. */
  callDetails: boolean;
  /** `TRANSCRIPT_WITH_TOOL_CALLS`: ask Retell for `transcript_with_tool_calls`. */
  transcriptWithToolCalls: boolean;
  /** `RESPONDER_TIMEOUT_MS`: longest wait for the responder's next piece of a reply. */
  responderTimeoutMs: number;
  /** `SHUTDOWN_GRACE_MS`: how long a stopping server waits for live calls to end. */
  shutdownGraceMs: number;
  /** Settings of the `llm` responder; only checked when `RESPONDER=llm`. */
  llm: LlmConfig;
}

/** Settings of the `llm` responder. */
export interface LlmConfig {
  /** `OPENAI_API_KEY`: the provider's key; never logged. */
  apiKey: string;
  /** `OPENAI_BASE_URL`: the OpenAI-compatible API's base URL. */
  baseUrl: string;
  /** `OPENAI_MODEL`: the model name. */
  model: string;
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
  /** `TRANSFER_NUMBER`: where `transfer_call` sends the caller; undefined hides the tool. */
  transferNumber: string | undefined;
}

/** One environment variable the server reads, with its default and meaning. */
export interface EnvVariable {
  /** The variable's name. */
  name: string;
  /** The value used when it is unset (or empty, for all but lists). */
  default: string;
  /** What it does, as the README says it. */
  description: string;
  /** Its value is never printed, not even in an error. */
  secret?: boolean;
}

/**
 * Every variable the server reads, in README order. The tasks in `deno.json`
 * grant `--allow-env` for exactly these names.
 */
export const ENV_VARIABLES: readonly EnvVariable[] = [
  { name: "PORT", default: "8080", description: "TCP port to listen on." },
  {
    name: "LISTEN_HOST",
    default: "0.0.0.0",
    description:
      "Address to bind: `0.0.0.0` (IPv4), `::` (IPv4 and IPv6), `127.0.0.1` (this machine).",
  },
  {
    name: "ALLOWED_IPS",
    default: "100.20.5.228",
    description:
      "Comma-separated IPs and CIDR ranges that may open a call. `*` lets everyone in (logged as a warning); empty refuses everyone.",
  },
  {
    name: "ALLOW_LOOPBACK",
    default: "false",
    description:
      "Also accept 127.0.0.0/8 and ::1, for local testing. `deno task dev` sets it.",
  },
  {
    name: "TRUST_PROXY",
    default: "",
    description:
      "Comma-separated IPs and CIDR ranges of your own reverse proxies. Only when the direct peer is one of them is the caller taken from `X-Forwarded-For`.",
  },
  {
    name: "WEBSOCKET_PATH",
    default: "/llm-websocket",
    description: "Path Retell dials, before `/{call_id}`.",
  },
  {
    name: "RESPONDER",
    default: "dummy",
    description: `Who answers: ${RESPONDER_NAMES.join(", ")}.`,
  },
  {
    name: "LOG_LEVEL",
    default: "info",
    description: `One of ${LOG_LEVELS.join(", ")}.`,
  },
  {
    name: "AUTO_RECONNECT",
    default: "true",
    description:
      "Ask Retell for `ping_pong` keepalives every 2 s and reconnection when they stop.",
  },
  {
    name: "CALL_DETAILS",
    default: "true",
    description:
      "Ask Retell for the `call_details` event (call object, dynamic variables).",
  },
  {
    name: "TRANSCRIPT_WITH_TOOL_CALLS",
    default: "false",
    description:
      "Ask Retell to add `transcript_with_tool_calls` to transcript events.",
  },
  {
    name: "RESPONDER_TIMEOUT_MS",
    default: "30000",
    description:
      "Longest wait in ms for the responder's next piece of a reply; past it the turn ends with a short apology.",
  },
  {
    name: "SHUTDOWN_GRACE_MS",
    default: "30000",
    description:
      "On SIGINT/SIGTERM, stop taking calls and wait up to this many ms for live calls to end before exiting. A second signal exits at once.",
  },
  {
    name: "OPENAI_API_KEY",
    default: "",
    description:
      "API key of the model provider. Required with `RESPONDER=llm` (any non-empty value for servers that need none, such as Ollama). Never logged.",
    secret: true,
  },
  {
    name: "OPENAI_BASE_URL",
    default: "https://api.openai.com/v1",
    description:
      "Base URL of any OpenAI-compatible chat-completions API: OpenAI, Azure OpenAI (v1), Groq, Together, OpenRouter, Ollama, vLLM, LM Studio.",
  },
  {
    name: "OPENAI_MODEL",
    default: "",
    description:
      "Model name, such as `gpt-4o-mini` or `llama3.2`. Required with `RESPONDER=llm`.",
  },
  {
    name: "AGENT_PROMPT",
    default: "",
    description:
      "System prompt. `{{name}}` placeholders are filled from the call's dynamic variables. Empty uses a built-in prompt for short spoken answers.",
  },
  {
    name: "AGENT_PROMPT_FILE",
    default: "",
    description:
      "Path of a file holding the system prompt, read once at startup. Use it or `AGENT_PROMPT`, not both.",
  },
  {
    name: "BEGIN_MESSAGE",
    default: "Hello! How can I help you today?",
    description:
      "The agent's greeting, with `{{name}}` placeholders filled from dynamic variables. Set it empty to let the caller speak first.",
  },
  {
    name: "LLM_TEMPERATURE",
    default: "",
    description:
      "Sampling temperature from 0 to 2; empty uses the provider's default.",
  },
  {
    name: "LLM_MAX_TOKENS",
    default: "",
    description:
      "Longest reply in tokens (`max_tokens`); empty uses the provider's default.",
  },
  {
    name: "LLM_FIRST_TOKEN_TIMEOUT_MS",
    default: "8000",
    description:
      "Longest wait for the model's first token; past it the turn ends with a short apology.",
  },
  {
    name: "LLM_STALL_TIMEOUT_MS",
    default: "8000",
    description:
      "Longest gap between two pieces of the model's stream before the turn ends with an apology.",
  },
  {
    name: "TRANSFER_NUMBER",
    default: "",
    description:
      "E.164 number (such as `+14155550123`) the `transfer_call` tool sends callers to. Empty: the model is not offered the tool.",
  },
];
