/**
 * Structured logging: one JSON object per line, with a level, a stable
 * snake_case `event` code, and fields such as `call_id` and `response_id`.
 *
 * @module
 */

/** Severity of a log line, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** The levels in order, lowest first. */
export const LOG_LEVELS: readonly LogLevel[] = [
  "debug",
  "info",
  "warn",
  "error",
];

/** Extra fields of a log line; values must be JSON-serialisable. */
export type LogFields = Record<string, unknown>;

/** Writes log lines at or above a level. */
export interface Logger {
  /** Detail for debugging, such as one line per frame. */
  debug(event: string, fields?: LogFields): void;
  /** Normal operation: calls opening and closing, startup. */
  info(event: string, fields?: LogFields): void;
  /** Something is wrong with input from outside; work goes on. */
  warn(event: string, fields?: LogFields): void;
  /** Something is wrong on our side. */
  error(event: string, fields?: LogFields): void;
  /** Whether lines at `level` are written, to skip building costly fields. */
  enabled(level: LogLevel): boolean;
}

/** Receives each formatted line with its level. */
export type LogSink = (line: string, level: LogLevel) => void;

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /**
   * Lowest level written.
   *
   * @default {"info"}
   */
  level?: LogLevel;
  /**
   * Where lines go.
   *
   * @default {writes warn and error to stderr, the rest to stdout}
   */
  sink?: LogSink;
  /**
   * Clock for the `time` field, in ms since the epoch.
   *
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * Longest `reason` or `error` written; a longer one is cut, and says how
   * long it was.
   *
   * @default {LOG_REASON_MAX_CHARS}
   */
  reasonMaxChars?: number;
}

/**
 * Longest `reason` or `error` a log line carries, in characters. Both can
 * hold text from outside (a frame's contents, a model's error), and one
 * bad frame must not write a line of megabytes.
 */
export const LOG_REASON_MAX_CHARS = 300;

/** The fields cut to `reasonMaxChars`: those that can carry text from outside. */
const CUT_FIELDS = ["reason", "error"] as const;

/**
 * Creates a logger that writes JSON lines such as
 * `{"time":"…","level":"warn","event":"frame_rejected","call_id":"c1","reason":"…"}`.
 * A `reason` or `error` longer than `reasonMaxChars` is cut as
 * {@linkcode cutForLog} cuts it.
 *
 * @param options Level, sink and clock.
 * @returns The logger.
 *
 * @example Collect lines in a test
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./log.ts";
 *
 * const lines: string[] = [];
 * const log = createLogger({ level: "info", sink: (line) => lines.push(line) });
 * log.debug("frame_received", { call_id: "c1" });
 * log.warn("frame_rejected", { call_id: "c1" });
 * assert.equal(lines.length, 1);
 * assert.equal(JSON.parse(lines[0]!).event, "frame_rejected");
 * log.warn("frame_rejected", { call_id: "c1", reason: "x".repeat(1_000_000) });
 * assert.ok(lines[1]!.length < 500);
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const sink = options.sink ?? writeToConsole;
  const now = options.now ?? Date.now;
  const reasonMaxChars = options.reasonMaxChars ?? LOG_REASON_MAX_CHARS;

  function write(level: LogLevel, event: string, fields?: LogFields): void {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const line: LogFields = {
      time: new Date(now()).toISOString(),
      level,
      event,
      ...fields,
    };
    for (const key of CUT_FIELDS) {
      const value = line[key];
      if (typeof value === "string") {
        line[key] = cutForLog(value, reasonMaxChars);
      }
    }
    sink(JSON.stringify(line), level);
  }

  return {
    debug: (event, fields) => write("debug", event, fields),
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
    enabled: (level) => LOG_LEVELS.indexOf(level) >= threshold,
  };
}

const encoder = new TextEncoder();

/**
 * Writes a line to stdout, or stderr for warnings and errors. Straight to
 * the stream rather than through `console`, whose formatting of its
 * arguments cost more than the write itself on every turn.
 */
function writeToConsole(line: string, level: LogLevel): void {
  const stream = level === "warn" || level === "error"
    ? Deno.stderr
    : Deno.stdout;
  const bytes = encoder.encode(`${line}\n`);
  let written = 0;
  while (written < bytes.length) {
    written += stream.writeSync(bytes.subarray(written));
  }
}

/**
 * Describes a caught value for a log line without its stack: the message of
 * an `Error` (with its name when it is not plain `Error`), or the value as text.
 *
 * @param error Whatever was thrown.
 * @returns One line.
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    return error.name === "Error"
      ? error.message
      : `${error.name}: ${error.message}`;
  }
  return String(error);
}

/**
 * Cuts text for a log line: up to `maxChars` characters, then an ellipsis
 * and the length it had; shorter text is returned as it is.
 *
 * @param text The text.
 * @param maxChars How many characters to keep.
 * @returns The text, or its start and how long it was.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { cutForLog } from "./log.ts";
 *
 * assert.equal(cutForLog("short", 10), "short");
 * assert.equal(cutForLog("abcdefghijkl", 4), "abcd… (12 chars)");
 * ```
 */
export function cutForLog(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}… (${text.length} chars)`;
}
