import { createLogger, type Logger, type LogLevel } from "../../src/log.ts";

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
}

/** Creates a logger at debug level that keeps its lines in memory. */
export function captureLogs(level: LogLevel = "debug"): LogCapture {
  const records: LogRecord[] = [];
  const log = createLogger({
    level,
    sink: (line) => records.push(JSON.parse(line)),
  });
  return {
    log,
    records,
    events: (event) => records.filter((record) => record.event === event),
  };
}
