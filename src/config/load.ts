/**
 * Server settings, read once from environment variables and validated
 * together, so that one start-up reports every bad variable at once.
 *
 * @module
 */
import type { z } from "zod";
import { describeError } from "../log.ts";
import {
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
}

/**
 * Reads and validates every variable in `SETTINGS` (`src/config/settings.ts`).
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
  const texts = textsOf(env);
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
  if (problems.length > 0) throw new ConfigError(problems);
  return assemble(values, prompt);
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
 * Puts each value at its setting's key, the prompt at `llm.prompt`; lists
 * and the result are frozen.
 */
function assemble(
  values: ReadonlyMap<SettingName, unknown>,
  prompt: string | undefined,
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
  }) as unknown as Config;
}
