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
export const RESPONDER_NAMES = ["dummy"] as const;

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
}

/** One environment variable the server reads, with its default and meaning. */
export interface EnvVariable {
  /** The variable's name. */
  name: string;
  /** The value used when it is unset (or empty, for all but lists). */
  default: string;
  /** What it does, as the README says it. */
  description: string;
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
      context.addIssue({ code: "custom", message: error.message });
      return z.NEVER;
    }
    return rules;
  });
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
});

// Lists keep an explicit empty value (ALLOWED_IPS= refuses everyone); for
// every other variable an empty value means "use the default".
const EMPTY_IS_A_VALUE = new Set(["ALLOWED_IPS", "TRUST_PROXY"]);

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
export function loadConfig(env: EnvSource): Config {
  const raw: Record<string, string> = {};
  for (const variable of ENV_VARIABLES) {
    const value = env.get(variable.name)?.trim();
    const unset = value === undefined ||
      (value === "" && !EMPTY_IS_A_VALUE.has(variable.name));
    raw[variable.name] = unset ? variable.default : value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      // Custom issues come from the IP parsers, whose message quotes the bad entry.
      return issue.code === "custom"
        ? `${name} is invalid: ${issue.message}`
        : `${name} ${issue.message}: current value is ${
          JSON.stringify(raw[name])
        }`;
    }));
  }
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
  });
}
