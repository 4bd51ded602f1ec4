import { createLogger, type Logger, type LogLevel } from "../../src/log.ts";
import { waitUntil } from "./wait.ts";

/** One parsed log line. */
export type LogRecord = Record<string, unknown> & {
  level: LogLevel;
  event: string;
};

/** A logger whose lines are kept, parsed, for assertions. */
export interface LogCapture {
  /** Pass this to the code under test. */
  log: Logger;
  /** Every line written so far, parsed. */
  records: LogRecord[];
  /** The length in characters of the longest line written so far. */
  readonly longestLine: number;
  /** Records with this event code. */
  events(event: string): LogRecord[];
  /** Resolves with the first record of `event`, once written; rejects after `timeoutMs`. */
  waitFor(event: string, timeoutMs?: number): Promise<LogRecord>;
}

/** Creates a logger at debug level that keeps its lines in memory. */
export function captureLogs(level: LogLevel = "debug"): LogCapture {
  const records: LogRecord[] = [];
  const waiters = new Set<() => void>();
  let longestLine = 0;
  const log = createLogger({
    level,
    sink: (line) => {
      longestLine = Math.max(longestLine, line.length);
      records.push(JSON.parse(line));
      for (const check of [...waiters]) check();
    },
  });
  const events = (event: string) =>
    records.filter((record) => record.event === event);
  return {
    log,
    records,
    get longestLine() {
      return longestLine;
    },
    events,
    async waitFor(event, timeoutMs = 3_000) {
      await waitUntil(
        () => events(event).length > 0,
        waiters,
        timeoutMs,
        () => `Nothing logged ${event} within ${timeoutMs} ms`,
      );
      return events(event)[0]!;
    },
  };
}
