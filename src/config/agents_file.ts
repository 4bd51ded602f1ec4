/**
 * The agents file (`AGENTS_FILE`): its format, the names an agent may
 * take, and the settings an agent may set, which are the agent-scope
 * records of `SETTINGS` under their names in snake case. Their values are
 * checked by `loadConfig` with the same schemas as the environment's.
 *
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { SETTING_NAMES, type SettingName, SETTINGS } from "./settings.ts";

/**
 * The name of the environment's own agent, the one
 * `{WEBSOCKET_PATH}/{call_id}` reaches; `{WEBSOCKET_PATH}/default/{call_id}`
 * reaches it too, so an agents file cannot take the name.
 */
export const DEFAULT_AGENT_NAME = "default";

/**
 * What an agent may be called: a lowercase letter, then up to 31 lowercase
 * letters, digits, `_` and `-`. A name is a URL segment as it is (no
 * escaping, no case folding by proxies to worry about), and only the
 * names configured are read as agents: the socket path parser takes a
 * segment for an agent only when it is one of them, and startup refuses a
 * `WS_SECRET` equal to a name, so a name is never taken for the secret or
 * the call id.
 */
export const AGENT_NAME_REGEXP = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * One agent's settings, as in the agents file: agent-scope variables in
 * snake case (`responder`, `openai_model`, `agent_prompt_file`, ...) with
 * a string, number or boolean each.
 */
export type AgentSettings = Readonly<
  Record<string, string | number | boolean>
>;

/** One agent as read: its name and the text of each variable it sets. */
export interface AgentEntry {
  /** The agent's name. */
  name: string;
  /** The variables it sets, as environment text; prompt file paths resolved. */
  texts: ReadonlyMap<SettingName, string>;
}

/**
 * What {@linkcode parseAgentsFile} found: the agents it could read (their
 * values still to be checked), and every problem with the file's shape,
 * the names and the keys.
 */
export interface AgentsFileResult {
  /** The agents whose settings are an object, faults and all. */
  agents: AgentEntry[];
  /** One line per fault, each naming the agent and the field. */
  problems: string[];
}

/** Agent-scope variables by their snake-case name. */
const AGENT_KEYS: ReadonlyMap<string, SettingName> = new Map(
  SETTING_NAMES.filter((name) => SETTINGS[name].scope === "agent").map((
    name,
  ) => [name.toLowerCase(), name]),
);

/**
 * Reads the text of an agents file, `{"agents": {"<name>": {...}}}`, and
 * checks its shape, the agents' names and the keys and value types of
 * their settings; every problem is reported, each naming the agent and
 * the field, and the agents are returned all the same, so that their
 * values can be checked in the same pass. A relative `agent_prompt_file`
 * is resolved against the file's folder.
 *
 * @param text The file's contents.
 * @param path The file's path, for relative prompt files.
 * @returns The agents and the problems.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAgentsFile } from "./agents_file.ts";
 *
 * const read = parseAgentsFile(
 *   '{"agents": {"sales": {"responder": "dummy"}, "Bad!": {"port": 1}}}',
 *   "/etc/agents.json",
 * );
 * assert.deepEqual(read.agents.map(({ name }) => name), ["sales", "Bad!"]);
 * assert.equal(read.problems.length, 2);
 * ```
 */
export function parseAgentsFile(text: string, path: string): AgentsFileResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { agents: [], problems: [`AGENTS_FILE is not JSON (${detail})`] };
  }
  if (!isRecord(parsed) || !isRecord(parsed.agents)) {
    return {
      agents: [],
      problems: [
        'AGENTS_FILE must hold an object {"agents": {"<name>": {...}}}',
      ],
    };
  }
  const problems = Object.keys(parsed).filter((key) => key !== "agents").map(
    (key) => `AGENTS_FILE has an unknown key ${JSON.stringify(key)}`,
  );
  const names = Object.keys(parsed.agents);
  if (names.length === 0) problems.push("AGENTS_FILE names no agent");
  const agents = Object.entries(parsed.agents).map(([name, settings]) =>
    readAgentSettings(name, settings, {
      source: "AGENTS_FILE",
      folder: dirname(path),
      problems,
    })
  );
  return { agents, problems };
}

/** Options of {@linkcode readAgentSettings}. */
export interface ReadAgentSettingsOptions {
  /** Where the agent was defined, first in each problem (`AGENTS_FILE`). */
  source: string;
  /** The folder a relative `agent_prompt_file` is resolved against. */
  folder: string;
  /** Where problems are added. */
  problems: string[];
}

/**
 * Checks one agent's name and the keys and value types of its settings,
 * adding a problem for each fault, and returns them as environment text.
 *
 * @param name The agent's name.
 * @param settings Its settings, from JSON or code.
 * @param options Where problems go and relative paths resolve.
 * @returns The agent as read; meaningful only when no problem was added.
 */
export function readAgentSettings(
  name: string,
  settings: unknown,
  options: ReadAgentSettingsOptions,
): AgentEntry {
  const { source, folder, problems } = options;
  const where = `${source} agent ${JSON.stringify(name)}`;
  const texts = new Map<SettingName, string>();
  if (!AGENT_NAME_REGEXP.test(name)) {
    problems.push(
      `${where} cannot be used as a name: it must be a lowercase letter, then up to 31 lowercase letters, digits, _ and -`,
    );
  } else if (name === DEFAULT_AGENT_NAME) {
    problems.push(
      `${where} cannot be used as a name: it is the environment's own agent`,
    );
  }
  if (!isRecord(settings)) {
    problems.push(`${where} must be an object of settings`);
    return { name, texts };
  }
  for (const [key, value] of Object.entries(settings)) {
    const variable = AGENT_KEYS.get(key);
    if (variable === undefined) {
      problems.push(`${where}: ${key} ${unknownKeyReason(key)}`);
      continue;
    }
    if (
      typeof value !== "string" && typeof value !== "boolean" &&
      !(typeof value === "number" && Number.isFinite(value))
    ) {
      problems.push(`${where}: ${key} must be a string, number or boolean`);
      continue;
    }
    const text = String(value).trim();
    texts.set(
      variable,
      variable === "AGENT_PROMPT_FILE" && text !== "" && !isAbsolute(text)
        ? join(folder, text)
        : text,
    );
  }
  return { name, texts };
}

/** Why a key is not an agent setting, with the likely fix. */
function unknownKeyReason(key: string): string {
  const upper = key.toUpperCase() as SettingName;
  if (upper in SETTINGS && SETTINGS[upper].scope === "server") {
    return `is a server setting: set ${upper} in the environment`;
  }
  if (AGENT_KEYS.has(key.toLowerCase())) {
    return `is not an agent setting: write it as ${key.toLowerCase()}`;
  }
  return `is not an agent setting: use one of ${
    [...AGENT_KEYS.keys()].join(", ")
  }`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
