/**
 * A logger that writes the first few warnings of each event and counts the
 * rest, so a peer that sends 100,000 bad frames, or an address that knocks
 * 20,000 times, costs a handful of lines instead of megabytes.
 *
 * @module
 */
import type { LogFields, Logger, LogLevel } from "./log.ts";

/** Options of {@linkcode createRepeatLimitedLogger}. */
export interface RepeatLimitOptions {
  /**
   * Lines of one event written per window; the rest are counted.
   *
   * @default {10}
   */
  burst?: number;
  /**
   * Length of a window in ms, from the first line of the event in it.
   *
   * @default {10000}
   */
  intervalMs?: number;
  /**
   * Clock, in ms.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/** A logger whose warnings and errors are limited per event; see {@linkcode createRepeatLimitedLogger}. */
export interface RepeatLimitedLogger extends Logger {
  /**
   * Writes one summary line for each event with warnings not yet written
   * (the fields of the latest, with `suppressed`, how many were not
   * written), and starts over. Call it when the work the logger is for
   * ends, so that no count is lost.
   */
  flush(): void;
}

/** How far one event is into its window. */
interface EventWindow {
  startedAt: number;
  written: number;
  suppressed: number;
  level: LogLevel;
  latest: LogFields | undefined;
}

/**
 * Wraps a logger so that warnings and errors of one `event` are written at
 * most `burst` times per `intervalMs`; the others are counted. The first
 * line of the next window carries `suppressed`, how many lines of that
 * event were not written since the one before, and `flush` writes a
 * summary of whatever is still counted. Debug and info lines pass as they
 * are.
 *
 * No timer runs: a count waits for the next line of its event or for
 * `flush`.
 *
 * @param log Where lines go.
 * @param options Burst, window and clock.
 * @returns The limited logger.
 *
 * @example One call's bad frames
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./log.ts";
 * import { createRepeatLimitedLogger } from "./repeat_limited_log.ts";
 *
 * const lines: string[] = [];
 * const log = createRepeatLimitedLogger(
 *   createLogger({ sink: (line) => lines.push(line) }),
 *   { burst: 2 },
 * );
 * for (let index = 0; index < 1000; index++) {
 *   log.warn("frame_rejected", { call_id: "c1", kind: "binary" });
 * }
 * assert.equal(lines.length, 2);
 * log.flush();
 * assert.equal(lines.length, 3);
 * assert.equal(JSON.parse(lines[2]!).suppressed, 998);
 * ```
 */
export function createRepeatLimitedLogger(
  log: Logger,
  options: RepeatLimitOptions = {},
): RepeatLimitedLogger {
  const burst = options.burst ?? 10;
  const intervalMs = options.intervalMs ?? 10_000;
  const now = options.now ?? Date.now;
  // Made with the first warning: most calls never write one.
  let windows: Map<string, EventWindow> | undefined;

  function limited(
    level: "warn" | "error",
    event: string,
    fields?: LogFields,
  ): void {
    const at = now();
    windows ??= new Map();
    const window = windows.get(event);
    if (window === undefined || at - window.startedAt >= intervalMs) {
      const suppressed = window?.suppressed ?? 0;
      windows.set(event, {
        startedAt: at,
        written: 1,
        suppressed: 0,
        level,
        latest: undefined,
      });
      log[level](event, suppressed > 0 ? { ...fields, suppressed } : fields);
      return;
    }
    if (window.written < burst) {
      window.written++;
      log[level](event, fields);
      return;
    }
    window.suppressed++;
    window.level = level;
    window.latest = fields;
  }

  function flush(): void {
    if (windows === undefined) return;
    for (const [event, window] of windows) {
      if (window.suppressed === 0) continue;
      log[window.level](event, {
        ...window.latest,
        suppressed: window.suppressed,
      });
      window.suppressed = 0;
    }
  }

  return {
    debug: (event, fields) => log.debug(event, fields),
    info: (event, fields) => log.info(event, fields),
    warn: (event, fields) => limited("warn", event, fields),
    error: (event, fields) => limited("error", event, fields),
    enabled: (level) => log.enabled(level),
    flush,
  };
}
