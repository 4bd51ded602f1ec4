/**
 * Server settings, read once from environment variables and validated
 * together, so that one start-up reports every bad variable at once.
 *
 * @module
 */
import { z } from "zod";
import { createClientAddressResolver } from "./client_address.ts";
import { createIpAllowlist } from "./ip_allowlist.ts";
import { LOG_LEVELS, type LogLevel } from "./log.ts";

/** Anything that answers "what is variable X?"; `Deno.env` and a `Map` both fit. */
export interface EnvSource {
  /** The variable's value, or undefined when it is not set. */
  get(name: string): string | undefined;
}

/** Names accepted by `RESPONDER`. */
export const RESPONDER_NAMES = ["dummy", "llm"] as const;

/** A responder that can be chosen with `RESPONDER`. */
export type ResponderName = typeof RESPONDER_NAMES[number];

/** The server's settings, as read by {@linkcode loadConfig}. */
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

/** Thrown by {@linkcode loadConfig} when variables are invalid; lists every one. */
export class ConfigError extends Error {
  /** One line per bad variable, each naming it. */
  readonly problems: readonly string[];

  /**
   * Creates the error; its message lists every problem on its own line.
   *
   * @param problems One line per bad variable.
   */
  constructor(problems: readonly string[]) {
    const count = problems.length === 1
      ? "1 setting is"
      : `${problems.length} settings are`;
    super(
      `Cannot start: ${count} invalid\n${
        problems.map((line) => `- ${line}`).join("\n")
      }`,
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

function wholeNumber(min: number, max: number) {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.string().regex(/^\d+$/, { error }).transform(Number).pipe(
    z.number().min(min, { error }).max(max, { error }),
  );
}

const TRUTHY = ["true", "1", "yes", "on"];
const FALSY = ["false", "0", "no", "off"];
const flag = z.string().toLowerCase().pipe(
  z.enum([...TRUTHY, ...FALSY], { error: "must be true or false" }),
).transform((value) => TRUTHY.includes(value));

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

function ipList(compile: (rules: readonly string[]) => unknown) {
  return z.string().transform((text, context) => {
    const rules = text.split(",").map((rule) => rule.trim()).filter((rule) =>
      rule !== ""
    );
    try {
      compile(rules);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      context.addIssue({
        code: "custom",
        message: `is invalid: ${error.message}`,
        params: { omitValue: true },
      });
      return z.NEVER;
    }
    return rules;
  });
}

const temperatureError = "must be a number from 0 to 2";

/** Lets an empty value through as undefined. */
function optional<T>(schema: z.ZodType<T, string>) {
  return z.string().transform((value) => value === "" ? undefined : value)
    .pipe(schema.optional());
}

const schema = z.object({
  PORT: wholeNumber(1, 65535),
  LISTEN_HOST: z.string().min(1),
  ALLOWED_IPS: ipList(createIpAllowlist),
  ALLOW_LOOPBACK: flag,
  TRUST_PROXY: ipList(createClientAddressResolver),
  WEBSOCKET_PATH: z.string().regex(/^(\/[A-Za-z0-9._~-]+)+\/*$/, {
    error:
      "must be a path such as /llm-websocket: segments of letters, digits and . _ ~ - after a /",
  }).transform((path) => path.replace(/\/+$/, "")),
  RESPONDER: oneOf(RESPONDER_NAMES),
  LOG_LEVEL: oneOf(
    LOG_LEVELS as readonly LogLevel[] as [LogLevel, ...LogLevel[]],
  ),
  AUTO_RECONNECT: flag,
  CALL_DETAILS: flag,
  TRANSCRIPT_WITH_TOOL_CALLS: flag,
  RESPONDER_TIMEOUT_MS: wholeNumber(1, 600_000),
  SHUTDOWN_GRACE_MS: wholeNumber(0, 86_400_000),
  OPENAI_API_KEY: z.string(),
  OPENAI_BASE_URL: z.url({
    protocol: /^https?$/,
    error: "must be an http or https URL",
  }),
  OPENAI_MODEL: z.string(),
  AGENT_PROMPT: z.string(),
  AGENT_PROMPT_FILE: z.string(),
  BEGIN_MESSAGE: z.string(),
  LLM_TEMPERATURE: optional(
    z.string().regex(/^\d+(\.\d+)?$/, { error: temperatureError }).transform(
      Number,
    ).pipe(z.number().max(2, { error: temperatureError })),
  ),
  LLM_MAX_TOKENS: optional(wholeNumber(1, 1_000_000)),
  LLM_FIRST_TOKEN_TIMEOUT_MS: wholeNumber(1, 600_000),
  LLM_STALL_TIMEOUT_MS: wholeNumber(1, 600_000),
  TRANSFER_NUMBER: optional(
    z.string().regex(/^\+[1-9]\d{6,14}$/, {
      error: "must be an E.164 number such as +14155550123",
    }),
  ),
}).superRefine((values, context) => {
  if (values.RESPONDER !== "llm") return;
  for (const name of ["OPENAI_API_KEY", "OPENAI_MODEL"] as const) {
    if (values[name] === "") {
      context.addIssue({
        code: "custom",
        path: [name],
        message: "is required when RESPONDER=llm",
        params: { omitValue: true },
      });
    }
  }
  if (values.AGENT_PROMPT !== "" && values.AGENT_PROMPT_FILE !== "") {
    context.addIssue({
      code: "custom",
      path: ["AGENT_PROMPT_FILE"],
      message: "cannot be used together with AGENT_PROMPT: set one of them",
      params: { omitValue: true },
    });
  }
});

// Lists keep an explicit empty value (ALLOWED_IPS= refuses everyone); for
// every other variable an empty value means "use the default".
const EMPTY_IS_A_VALUE = new Set([
  "ALLOWED_IPS",
  "TRUST_PROXY",
  "BEGIN_MESSAGE",
]);
const SECRETS = new Set(
  ENV_VARIABLES.filter((variable) => variable.secret).map((variable) =>
    variable.name
  ),
);

/** Options of {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /**
   * Reads the file named by `AGENT_PROMPT_FILE`.
   *
   * @default {Deno.readTextFileSync}
   */
  readTextFile?: (path: string) => string;
}

/**
 * Reads and validates every variable in {@linkcode ENV_VARIABLES}.
 *
 * @param env Where to read variables from, usually `Deno.env`.
 * @returns The settings.
 * @throws {ConfigError} When any variable is invalid; the message names each one.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfig } from "./config.ts";
 *
 * const config = loadConfig(new Map([["PORT", "9000"]]));
 * assert.equal(config.port, 9000);
 * assert.deepEqual(config.allowedIps, ["100.20.5.228"]);
 * ```
 */
export function loadConfig(
  env: EnvSource,
  options: LoadConfigOptions = {},
): Config {
  const raw: Record<string, string> = {};
  for (const variable of ENV_VARIABLES) {
    const value = env.get(variable.name)?.trim();
    const unset = value === undefined ||
      (value === "" && !EMPTY_IS_A_VALUE.has(variable.name));
    raw[variable.name] = unset ? variable.default : value;
  }
  const parsed = schema.safeParse(raw);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    const omitValue = SECRETS.has(name) ||
      (issue.code === "custom" && issue.params?.omitValue === true);
    return omitValue
      ? `${name} ${issue.message}`
      : `${name} ${issue.message}: current value is ${
        JSON.stringify(raw[name])
      }`;
  });
  // The prompt file is read even when other variables are bad, so that one
  // start-up reports every problem.
  let prompt: string | undefined;
  if (raw.RESPONDER === "llm") {
    prompt = raw.AGENT_PROMPT || undefined;
    const path = raw.AGENT_PROMPT_FILE ?? "";
    if (path !== "" && prompt === undefined) {
      const where = `current value is ${JSON.stringify(path)}`;
      try {
        prompt = (options.readTextFile ?? Deno.readTextFileSync)(path).trim();
        if (prompt === "") {
          problems.push(`AGENT_PROMPT_FILE names an empty file: ${where}`);
        }
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        problems.push(`AGENT_PROMPT_FILE cannot be read (${detail}): ${where}`);
      }
    }
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const values = parsed.data;
  return Object.freeze({
    port: values.PORT,
    listenHost: values.LISTEN_HOST,
    allowedIps: Object.freeze(values.ALLOWED_IPS),
    allowLoopback: values.ALLOW_LOOPBACK,
    trustProxy: Object.freeze(values.TRUST_PROXY),
    websocketPath: values.WEBSOCKET_PATH,
    responder: values.RESPONDER,
    logLevel: values.LOG_LEVEL,
    autoReconnect: values.AUTO_RECONNECT,
    callDetails: values.CALL_DETAILS,
    transcriptWithToolCalls: values.TRANSCRIPT_WITH_TOOL_CALLS,
    responderTimeoutMs: values.RESPONDER_TIMEOUT_MS,
    shutdownGraceMs: values.SHUTDOWN_GRACE_MS,
    llm: Object.freeze({
      apiKey: values.OPENAI_API_KEY,
      baseUrl: values.OPENAI_BASE_URL,
      model: values.OPENAI_MODEL,
      prompt,
      beginMessage: values.BEGIN_MESSAGE,
      temperature: values.LLM_TEMPERATURE,
      maxTokens: values.LLM_MAX_TOKENS,
      firstTokenTimeoutMs: values.LLM_FIRST_TOKEN_TIMEOUT_MS,
      stallTimeoutMs: values.LLM_STALL_TIMEOUT_MS,
      transferNumber: values.TRANSFER_NUMBER,
    }),
  });
}
