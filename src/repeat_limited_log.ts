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
  return new LimitedLogger(
    log,
    options.burst ?? 10,
    options.intervalMs ?? 10_000,
    options.now ?? Date.now,
  );
}

// A class, not closures (STYLE.md §9): there is one per call, and with its
// methods on the prototype it costs 593 → 72 bytes per call (measured with
// `_heap_parts.ts`, 10,000 instances).
class LimitedLogger implements RepeatLimitedLogger {
  readonly #log: Logger;
  readonly #burst: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  // Made with the first warning: most calls never write one.
  #windows: Map<string, EventWindow> | undefined;

  constructor(
    log: Logger,
    burst: number,
    intervalMs: number,
    now: () => number,
  ) {
    this.#log = log;
    this.#burst = burst;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  debug(event: string, fields?: LogFields): void {
    this.#log.debug(event, fields);
  }

  info(event: string, fields?: LogFields): void {
    this.#log.info(event, fields);
  }

  warn(event: string, fields?: LogFields): void {
    this.#limited("warn", event, fields);
  }

  error(event: string, fields?: LogFields): void {
    this.#limited("error", event, fields);
  }

  enabled(level: LogLevel): boolean {
    return this.#log.enabled(level);
  }

  flush(): void {
    if (this.#windows === undefined) return;
    for (const [event, window] of this.#windows) {
      if (window.suppressed === 0) continue;
      this.#log[window.level](event, {
        ...window.latest,
        suppressed: window.suppressed,
      });
      window.suppressed = 0;
    }
  }

  #limited(level: "warn" | "error", event: string, fields?: LogFields): void {
    // Called as a plain function, as the closure called it.
    const now = this.#now;
    const at = now();
    const windows = this.#windows ??= new Map();
    const window = windows.get(event);
    if (window === undefined || at - window.startedAt >= this.#intervalMs) {
      const suppressed = window?.suppressed ?? 0;
      windows.set(event, {
        startedAt: at,
        written: 1,
        suppressed: 0,
        level,
        latest: undefined,
      });
      this.#log[level](
        event,
        suppressed > 0 ? { ...fields, suppressed } : fields,
      );
      return;
    }
    if (window.written < this.#burst) {
      window.written++;
      this.#log[level](event, fields);
      return;
    }
    window.suppressed++;
    window.level = level;
    window.latest = fields;
  }
}
