/**
 * The effective settings, as the `settings` line at startup shows them:
 * every variable's value with secrets redacted, and what they add up to
 * (which responder, which call store, which addresses may call, the
 * socket path).
 *
 * @module
 */
import { cutForLog } from "../log.ts";
import {
  type Config,
  type ConfigKey,
  SETTING_NAMES,
  SETTINGS,
} from "./settings.ts";

/** What a secret that is set shows instead of its value. */
export const REDACTED = "[redacted]";

/** Longest text value shown; a longer prompt shows its start and length. */
const MAX_VALUE_CHARS = 80;

/** The addresses `ALLOW_LOOPBACK=true` adds to `ALLOWED_IPS`. */
const LOOPBACK = ["127.0.0.0/8", "::1"] as const;

/**
 * What was given in code instead of chosen by a setting; `serveRetell`'s
 * options fit.
 */
export interface EffectiveSettingsOverrides {
  /** A responder given in code: `RESPONDER` is not the one answering. */
  responder?: unknown;
  /** A call store given in code: `CALL_STORE` is not the one used. */
  callStore?: unknown;
}

/** The fields of the `settings` log line. */
export interface EffectiveSettings {
  /** The `RESPONDER` name, or `custom` for one given in code. */
  responder: string;
  /** The `CALL_STORE` backend, or `custom` for one given in code. */
  call_store: string;
  /** Who may open a call: `ALLOWED_IPS`, plus loopback with `ALLOW_LOOPBACK`. */
  allowed_ips: readonly string[];
  /** The path Retell connects to; `{WS_SECRET}` stands for the secret. */
  socket_path: string;
  /** Every variable by name, as read; secrets that are set show {@linkcode REDACTED}. */
  values: Record<string, unknown>;
}

/**
 * Describes the effective settings for the startup log line. A secret
 * (a record of `SETTINGS` with `secret: true`) shows {@linkcode REDACTED}
 * when set and `""` when empty, so the line tells whether it is set
 * without printing it; text longer than 80 characters (a prompt) shows its
 * start and length; an optional value left unset (`LLM_TEMPERATURE`) is
 * `null`.
 *
 * @param config The settings the server runs with.
 * @param overrides What was given in code instead of by the settings.
 * @returns The line's fields.
 *
 * @example Secrets are redacted
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeEffectiveSettings } from "./effective.ts";
 * import { loadConfig } from "./load.ts";
 *
 * const config = loadConfig(new Map([["WS_SECRET", "0123456789abcdef"]]));
 * const settings = describeEffectiveSettings(config);
 * assert.equal(settings.values.WS_SECRET, "[redacted]");
 * assert.equal(settings.socket_path, "/llm-websocket/{WS_SECRET}/{call_id}");
 * ```
 */
export function describeEffectiveSettings(
  config: Config,
  overrides: EffectiveSettingsOverrides = {},
): EffectiveSettings {
  const values: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const { key, secret } = SETTINGS[name];
    // AGENT_PROMPT_FILE has no key: its text is llm.prompt's value.
    if (key === undefined) continue;
    const value = valueAt(config, key);
    values[name] = secret
      ? (value === "" || value === undefined ? "" : REDACTED)
      : typeof value === "string"
      ? cutForLog(value, MAX_VALUE_CHARS)
      : value ?? null;
  }
  const secretSegment = config.wsSecret === "" ? "" : "/{WS_SECRET}";
  return {
    responder: overrides.responder === undefined ? config.responder : "custom",
    call_store: overrides.callStore === undefined ? config.callStore : "custom",
    allowed_ips: config.allowLoopback
      ? [...config.allowedIps, ...LOOPBACK]
      : config.allowedIps,
    socket_path: `${config.websocketPath}${secretSegment}/{call_id}`,
    values,
  };
}

/** The value at a place in {@linkcode Config}. */
function valueAt(config: Config, key: ConfigKey): unknown {
  return key.startsWith("llm.")
    ? config.llm[key.slice("llm.".length) as keyof Config["llm"]]
    : config[key as Exclude<ConfigKey, `llm.${string}`>];
}
