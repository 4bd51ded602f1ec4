/**
 * A warning for a key that `.env` defines twice. Deno's `--env-file` keeps
 * the first value of a duplicated key and says nothing (Node's keeps the
 * last), so appending a block to a copy of `.env.example` silently keeps
 * the example's values.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { SETTING_NAMES, SETTINGS } from "./settings.ts";

/** The file `deno task dev` and `deno task start` load with `--env-file`. */
export const ENV_FILE = ".env";

/** A key that a dotenv file defines more than once. */
export interface DuplicateKey {
  /** The variable's name. */
  key: string;
  /** The 1-based lines that define it, in order. */
  lines: number[];
  /** The value on each of those lines, as Deno reads it. */
  values: string[];
}

/**
 * The keys whose values a warning may show: our settings that are not
 * secret. Any other key may hold someone's secret.
 */
const SHOWN_KEYS: ReadonlySet<string> = new Set(
  SETTING_NAMES.filter((name) => !SETTINGS[name].secret),
);

/** `KEY=value`, with an optional `export ` before the key. */
const ASSIGNMENT_REGEXP =
  /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=(.*)$/;

/**
 * The keys a dotenv text defines more than once, in the order of their
 * first line. Comments and lines that are not assignments are skipped;
 * values lose their quotes, and an unquoted value its ` # comment`.
 *
 * @param text The file's contents.
 * @returns Each duplicated key with its lines and values.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { findDuplicateKeys } from "./env_file_check.ts";
 *
 * const found = findDuplicateKeys("RESPONDER=dummy\n# llm\nRESPONDER=llm\n");
 * assert.deepEqual(found, [
 *   { key: "RESPONDER", lines: [1, 3], values: ["dummy", "llm"] },
 * ]);
 * ```
 */
export function findDuplicateKeys(text: string): DuplicateKey[] {
  const byKey = new Map<string, DuplicateKey>();
  text.split(/\r?\n/).forEach((line, index) => {
    const match = ASSIGNMENT_REGEXP.exec(line);
    if (match === null) return;
    const key = match[1]!;
    const value = valueOf(match[2]!);
    const found = byKey.get(key);
    if (found === undefined) {
      byKey.set(key, { key, lines: [index + 1], values: [value] });
    } else {
      found.lines.push(index + 1);
      found.values.push(value);
    }
  });
  return [...byKey.values()].filter((found) => found.lines.length > 1);
}

/** Options of {@linkcode warnEnvFileDuplicates}. */
export interface WarnEnvFileDuplicatesOptions {
  /**
   * The dotenv file to read.
   *
   * @default {ENV_FILE}
   */
  path?: string;
}

/**
 * Logs one `env_file_duplicate_key` warning per key that the env file
 * defines twice and that the process's environment got from it: the key,
 * its lines, the line whose value is in use (the first, as Deno keeps it)
 * and, for a setting that is not secret, that value. Nothing is logged when the
 * file is absent or cannot be read (a compiled binary, Deno Deploy), nor
 * for a key whose value in the environment is none of the file's (the file
 * was not loaded, or the real environment overrides it), nor for one the
 * process may not read.
 *
 * @param log Where the warnings go.
 * @param options The file to read.
 * @returns How many warnings were logged.
 */
export function warnEnvFileDuplicates(
  log: Logger,
  options: WarnEnvFileDuplicatesOptions = {},
): number {
  const path = options.path ?? ENV_FILE;
  const text = readIfAllowed(path);
  if (text === undefined) return 0;
  let warned = 0;
  for (const duplicate of findDuplicateKeys(text)) {
    const used = envValue(duplicate.key);
    const usedIndex = used === undefined ? -1 : duplicate.values.indexOf(used);
    if (usedIndex === -1) continue;
    const usedLine = duplicate.lines[usedIndex]!;
    log.warn("env_file_duplicate_key", {
      file: path,
      key: duplicate.key,
      lines: duplicate.lines,
      used_line: usedLine,
      ...(SHOWN_KEYS.has(duplicate.key) && { used_value: used }),
      reason: `${path} defines ${duplicate.key} on lines ${
        duplicate.lines.join(", ")
      }: the value on line ${usedLine} is used, the others are ignored`,
    });
    warned++;
  }
  return warned;
}

/** The value as Deno's dotenv reader gives it: unquoted, without a trailing comment. */
function valueOf(raw: string): string {
  const trimmed = raw.trim();
  const quote = trimmed[0];
  if (quote === '"' || quote === "'") {
    const end = trimmed.indexOf(quote, 1);
    if (end > 0) return trimmed.slice(1, end);
  }
  return trimmed.replace(/\s+#.*$/, "");
}

/** The file's text, or undefined when it is absent or may not be read. */
function readIfAllowed(path: string): string | undefined {
  if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
    return undefined;
  }
  try {
    return Deno.readTextFileSync(path);
  } catch {
    // Absent, a directory, or unreadable: no file was loaded from it.
    return undefined;
  }
}

/** The variable's value, or undefined when unset or not permitted. */
function envValue(key: string): string | undefined {
  const permission = Deno.permissions.querySync({ name: "env", variable: key });
  return permission.state === "granted" ? Deno.env.get(key) : undefined;
}
