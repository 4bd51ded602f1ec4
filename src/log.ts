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

/** Each level's place in {@linkcode LOG_LEVELS}. */
const LEVEL_RANK: Readonly<Record<LogLevel, number>> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
};

/**
 * Whether `fields` go after `time`, `level` and `event` as they are: none
 * of them named like those three, no reason or error longer than the cap.
 */
function isPlainTail(fields: LogFields, reasonMaxChars: number): boolean {
  if ("time" in fields || "level" in fields || "event" in fields) return false;
  for (const key of CUT_FIELDS) {
    const value = fields[key];
    if (typeof value === "string" && value.length > reasonMaxChars) {
      return false;
    }
  }
  return true;
}

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
  const threshold = LEVEL_RANK[options.level ?? "info"];
  const sink = options.sink ?? writeToConsole;
  const now = options.now ?? Date.now;
  const reasonMaxChars = options.reasonMaxChars ?? LOG_REASON_MAX_CHARS;

  /** The last clock reading and its text: lines of one ms share it. */
  let stampedAt = Number.NaN;
  let stamp = "";

  function write(level: LogLevel, event: string, fields?: LogFields): void {
    if (LEVEL_RANK[level] < threshold) return;
    const at = now();
    if (at !== stampedAt) {
      stampedAt = at;
      stamp = new Date(at).toISOString();
    }
    if (fields !== undefined && !isPlainTail(fields, reasonMaxChars)) {
      sink(JSON.stringify(lineOf(stamp, level, event, fields)), level);
      return;
    }
    // The common line, built as text: no copy of the fields per line.
    const head = `{"time":"${stamp}","level":"${level}","event":${
      JSON.stringify(event)
    }`;
    const tail = fields === undefined ? "{}" : JSON.stringify(fields);
    sink(tail === "{}" ? `${head}}` : `${head},${tail.slice(1)}`, level);
  }

  /** The line as an object, its reasons cut, for fields that need either. */
  function lineOf(
    time: string,
    level: LogLevel,
    event: string,
    fields: LogFields,
  ): LogFields {
    const line: LogFields = { time, level, event, ...fields };
    for (const key of CUT_FIELDS) {
      const value = line[key];
      if (typeof value === "string") {
        line[key] = cutForLog(value, reasonMaxChars);
      }
    }
    return line;
  }

  return {
    debug: (event, fields) => write("debug", event, fields),
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
    enabled: (level) => LEVEL_RANK[level] >= threshold,
  };
}

const encoder = new TextEncoder();

/** Longest time an info or debug line waits to be written, in ms. */
const BATCH_MS = 10;

/** Most bytes of info and debug lines held before they are written. */
const BATCH_BYTES = 64 * 1024;

/** Info and debug lines not written yet, each ending in a line break. */
let batch = "";
/** Whether the batch is written when the process ends. */
let flushesAtExit = false;
/** The timer that writes the batch, while one is set. */
let batchTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * Writes a line to stdout, or stderr for warnings and errors. Straight to
 * the stream rather than through `console`, whose formatting of its
 * arguments cost more than the write itself on every turn.
 *
 * Info and debug lines (one per turn at 10,000 calls) are written together
 * once the current task and its neighbours are done, at the next timer
 * tick, or at 64 KiB: one system call per tick instead of one per line.
 * A warning or an error writes what waits first, then itself at once, and
 * whatever waits is written when the process exits or an error escapes.
 */
function writeToConsole(line: string, level: LogLevel): void {
  if (level === "warn" || level === "error") {
    flushBatch();
    writeAll(Deno.stderr, `${line}\n`);
    return;
  }
  if (!flushesAtExit) {
    // A process that exits, or is about to die of an escaped error, still
    // writes every line it logged.
    flushesAtExit = true;
    for (const event of ["unload", "error", "unhandledrejection"]) {
      globalThis.addEventListener(event, flushBatch);
    }
  }
  if (batchTimer === undefined) {
    batchTimer = setTimeout(flushBatch, BATCH_MS);
    // The batch must not keep a process alive: exit writes it (below).
    Deno.unrefTimer(batchTimer);
  }
  batch += `${line}\n`;
  if (batch.length >= BATCH_BYTES) flushBatch();
}

/** Writes the waiting info and debug lines. */
function flushBatch(): void {
  if (batchTimer !== undefined) {
    clearTimeout(batchTimer);
    batchTimer = undefined;
  }
  if (batch === "") return;
  const text = batch;
  batch = "";
  writeAll(Deno.stdout, text);
}

function writeAll(stream: typeof Deno.stdout, text: string): void {
  const bytes = encoder.encode(text);
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
