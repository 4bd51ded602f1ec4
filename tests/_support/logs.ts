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
  /** Records with this event code. */
  events(event: string): LogRecord[];
  /** The first record with this event code, once written; rejects after `timeoutMs`. */
  waitFor(event: string, timeoutMs?: number): Promise<LogRecord>;
}

/** Creates a logger at debug level that keeps its lines in memory. */
export function captureLogs(level: LogLevel = "debug"): LogCapture {
  const records: LogRecord[] = [];
  const waiters = new Set<() => void>();
  const log = createLogger({
    level,
    sink: (line) => {
      records.push(JSON.parse(line));
      for (const waiter of [...waiters]) waiter();
    },
  });
  const events = (event: string) =>
    records.filter((record) => record.event === event);
  return {
    log,
    records,
    events,
    async waitFor(event, timeoutMs = 3_000) {
      await waitUntil(
        () => events(event).length > 0,
        waiters,
        timeoutMs,
        () => `No ${event} line within ${timeoutMs} ms`,
      );
      return events(event)[0]!;
    },
  };
}
