/**
 * Server settings, read once from environment variables and validated
 * together, so that one start-up reports every bad variable at once.
 *
 * @module
 */
import { z } from "zod";
import { createClientAddressResolver } from "../client_address.ts";
import { createIpAllowlist } from "../ip_allowlist.ts";
import { LOG_LEVELS, type LogLevel } from "../log.ts";
import {
  flag,
  ipList,
  oneOf,
  optional,
  temperatureError,
  wholeNumber,
} from "./_schemas.ts";
import { type Config, ENV_VARIABLES, RESPONDER_NAMES } from "./settings.ts";

/** Anything that answers "what is variable X?"; `Deno.env` and a `Map` both fit. */
export interface EnvSource {
  /** The variable's value, or undefined when it is not set. */
  get(name: string): string | undefined;
}

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
 * import { loadConfig } from "./load.ts";
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
