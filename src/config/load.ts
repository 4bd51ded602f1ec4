/**
 * Server settings, read once from environment variables and validated
 * together, so that one start-up reports every bad variable at once.
 *
 * @module
 */
import type { z } from "zod";
import { describeError } from "../log.ts";
import {
  type AgentEntry,
  type AgentSettings,
  parseAgentsFile,
  readAgentSettings,
} from "./agents_file.ts";
import {
  type AgentConfig,
  type Config,
  type Setting,
  SETTING_NAMES,
  type SettingName,
  SETTINGS,
} from "./settings.ts";

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

/** Options of {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /**
   * Reads the file named by `AGENT_PROMPT_FILE`.
   *
   * @default {Deno.readTextFileSync}
   */
  readTextFile?: (path: string) => string;
  /**
   * Agents defined in code, by name, with their settings as in the agents
   * file (`serveRetell` passes those of its `agents`); checked with
   * `AGENTS_FILE`'s, and a name cannot be in both.
   *
   * @default {none}
   */
  agents?: Readonly<Record<string, AgentSettings>>;
}

/**
 * Reads and validates every variable in `SETTINGS` (`src/config/settings.ts`),
 * then the agents of `AGENTS_FILE` and of `options.agents`, each read as
 * the environment with its own agent-scope settings in place.
 *
 * @param env Where to read variables from, usually `Deno.env`.
 * @param options How files are read; agents defined in code.
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
  const texts = textsOf(env);
  const read = readSettings(texts, options);
  const problems = [...read.problems];
  const agents = readAgents(texts, read, options, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return assemble(read.values, read.prompt, agents);
}

/** The settings read from one set of texts, and what is wrong with them. */
interface SettingsRead {
  values: Map<SettingName, unknown>;
  prompt: string | undefined;
  problems: string[];
}

/** Reads every setting from its text, collecting every problem. */
function readSettings(
  texts: Record<SettingName, string>,
  options: LoadConfigOptions,
): SettingsRead {
  const values = new Map<SettingName, unknown>();
  const problems: string[] = [];
  for (const name of SETTING_NAMES) {
    const setting: Setting = SETTINGS[name];
    const parsed = setting.schema.safeParse(texts[name]);
    if (parsed.success) values.set(name, parsed.data);
    else {
      for (const issue of parsed.error.issues) {
        problems.push(describeIssue(name, issue, texts[name]));
      }
    }
  }
  problems.push(...responderProblems(texts));
  // The prompt file is read even when other variables are bad, so that one
  // start-up reports every problem.
  const prompt = readPrompt(texts, options, problems);
  return { values, prompt, problems };
}

/**
 * The agents of `AGENTS_FILE` and of `options.agents`, each read as the
 * environment with its own settings in place; their problems name the
 * agent and, for what it sets, the field. A problem the environment has
 * already reported is not repeated for each agent.
 */
function readAgents(
  texts: Record<SettingName, string>,
  read: SettingsRead,
  options: LoadConfigOptions,
  problems: string[],
): AgentConfig[] {
  const entries = [
    ...readAgentsFile(read.values.get("AGENTS_FILE"), options, problems),
  ];
  const fromFile = new Set(entries.map((entry) => entry.name));
  for (const [name, settings] of Object.entries(options.agents ?? {})) {
    if (fromFile.has(name)) {
      problems.push(
        `agent ${
          JSON.stringify(name)
        } is defined both in AGENTS_FILE and in code: set it in one place`,
      );
    }
    entries.push(readAgentSettings(name, settings, {
      source: "code",
      folder: ".",
      problems,
    }));
  }
  const secret = read.values.get("WS_SECRET");
  if (entries.some((entry) => entry.name === secret)) {
    problems.push(
      "WS_SECRET cannot be the name of an agent: choose another secret",
    );
  }
  return entries.map((entry) => {
    const own = readSettings(agentTexts(texts, entry), options);
    for (const problem of own.problems) {
      if (read.problems.includes(problem)) continue;
      const source = fromFile.has(entry.name) ? "AGENTS_FILE" : "code";
      problems.push(
        `${source} agent ${JSON.stringify(entry.name)}: ${
          namingFields(problem, entry)
        }`,
      );
    }
    return {
      name: entry.name,
      config: assemble(own.values, own.prompt, []),
    };
  });
}

/**
 * The agents `AGENTS_FILE` names, their faults added to `problems`; none
 * when it is unset, unreadable or not an agents file.
 */
function readAgentsFile(
  path: unknown,
  options: LoadConfigOptions,
  problems: string[],
): AgentEntry[] {
  if (typeof path !== "string") return [];
  let text: string;
  try {
    text = (options.readTextFile ?? Deno.readTextFileSync)(path);
  } catch (error) {
    problems.push(
      `AGENTS_FILE cannot be read (${describeError(error)}): current value is ${
        JSON.stringify(path)
      }`,
    );
    return [];
  }
  const parsed = parseAgentsFile(text, path);
  problems.push(...parsed.problems);
  return parsed.agents;
}

/**
 * The environment's texts with the agent's in their place; a prompt the
 * agent sets, inline or as a file, replaces both of the environment's.
 */
function agentTexts(
  texts: Record<SettingName, string>,
  entry: AgentEntry,
): Record<SettingName, string> {
  const merged = { ...texts };
  if (entry.texts.has("AGENT_PROMPT") || entry.texts.has("AGENT_PROMPT_FILE")) {
    merged.AGENT_PROMPT = "";
    merged.AGENT_PROMPT_FILE = "";
  }
  for (const [name, text] of entry.texts) {
    const setting: Setting = SETTINGS[name];
    merged[name] = text === "" && !setting.emptyIsValue
      ? setting.default
      : text;
  }
  return merged;
}

/** A problem line with the variables the agent sets named as its fields. */
function namingFields(problem: string, entry: AgentEntry): string {
  return problem.replace(
    /\b[A-Z][A-Z0-9_]+\b/g,
    (word) => entry.texts.has(word as SettingName) ? word.toLowerCase() : word,
  );
}

/**
 * The trimmed text of every variable, or its default when it is unset or
 * empty (unless empty is a value for it).
 */
function textsOf(env: EnvSource): Record<SettingName, string> {
  const texts = {} as Record<SettingName, string>;
  for (const name of SETTING_NAMES) {
    const setting: Setting = SETTINGS[name];
    const value = env.get(name)?.trim();
    const unset = value === undefined ||
      (value === "" && !setting.emptyIsValue);
    texts[name] = unset ? setting.default : value;
  }
  return texts;
}

/** One problem line: the variable, what is wrong, and its value unless secret. */
function describeIssue(
  name: SettingName,
  issue: z.core.$ZodIssue,
  text: string,
): string {
  const omitValue = SETTINGS[name].secret ||
    (issue.code === "custom" && issue.params?.omitValue === true);
  return omitValue
    ? `${name} ${issue.message}`
    : `${name} ${issue.message}: current value is ${JSON.stringify(text)}`;
}

/**
 * What the chosen responder is missing: variables it requires that are
 * empty, and a prompt given twice.
 */
function responderProblems(texts: Record<SettingName, string>): string[] {
  const responder = texts.RESPONDER;
  const problems = SETTING_NAMES.filter((name) =>
    SETTINGS[name].requiredFor === responder && texts[name] === ""
  ).map((name) => `${name} is required when RESPONDER=${responder}`);
  if (
    responder === "llm" && texts.AGENT_PROMPT !== "" &&
    texts.AGENT_PROMPT_FILE !== ""
  ) {
    problems.push(
      "AGENT_PROMPT_FILE cannot be used together with AGENT_PROMPT: set one of them",
    );
  }
  return problems;
}

/**
 * The `llm` responder's prompt: `AGENT_PROMPT`, or the contents of
 * `AGENT_PROMPT_FILE`, or undefined for the built-in one. A file that
 * cannot be read or is empty adds a problem.
 */
function readPrompt(
  texts: Record<SettingName, string>,
  options: LoadConfigOptions,
  problems: string[],
): string | undefined {
  if (texts.RESPONDER !== "llm") return undefined;
  const prompt = texts.AGENT_PROMPT || undefined;
  const path = texts.AGENT_PROMPT_FILE;
  if (path === "" || prompt !== undefined) return prompt;
  const where = `current value is ${JSON.stringify(path)}`;
  try {
    const text = (options.readTextFile ?? Deno.readTextFileSync)(path).trim();
    if (text === "") {
      problems.push(`AGENT_PROMPT_FILE names an empty file: ${where}`);
    }
    return text;
  } catch (error) {
    const detail = describeError(error);
    problems.push(`AGENT_PROMPT_FILE cannot be read (${detail}): ${where}`);
    return undefined;
  }
}

/**
 * Puts each value at its setting's key, the prompt at `llm.prompt`, the
 * agents at `agents`; lists and the result are frozen.
 */
function assemble(
  values: ReadonlyMap<SettingName, unknown>,
  prompt: string | undefined,
  agents: readonly AgentConfig[],
): Config {
  const top: Record<string, unknown> = {};
  const llm: Record<string, unknown> = {};
  for (const [name, value] of values) {
    const key = SETTINGS[name].key;
    if (key === undefined) continue;
    const frozen = Array.isArray(value) ? Object.freeze(value) : value;
    if (key.startsWith("llm.")) llm[key.slice("llm.".length)] = frozen;
    else top[key] = frozen;
  }
  llm.prompt = prompt;
  return Object.freeze({
    ...top,
    llm: Object.freeze(llm),
    agents: Object.freeze(agents),
  }) as unknown as Config;
}
