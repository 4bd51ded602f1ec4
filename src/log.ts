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
}

/**
 * Creates a logger that writes JSON lines such as
 * `{"time":"…","level":"warn","event":"frame_rejected","call_id":"c1","reason":"…"}`.
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
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const sink = options.sink ?? writeToConsole;
  const now = options.now ?? Date.now;

  function write(level: LogLevel, event: string, fields?: LogFields): void {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    sink(
      JSON.stringify({
        time: new Date(now()).toISOString(),
        level,
        event,
        ...fields,
      }),
      level,
    );
  }

  return {
    debug: (event, fields) => write("debug", event, fields),
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
    enabled: (level) => LOG_LEVELS.indexOf(level) >= threshold,
  };
}

function writeToConsole(line: string, level: LogLevel): void {
  // deno-lint-ignore no-console -- the logger is the one place that prints
  if (level === "warn" || level === "error") console.error(line);
  // deno-lint-ignore no-console -- the logger is the one place that prints
  else console.log(line);
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
