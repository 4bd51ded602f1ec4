/**
 * The server as its own `deno` process, started the way `deno task start`
 * starts it (the `server` permission set), for tests that kill a process
 * mid-call and reconnect to another.
 */
import type { LogRecord } from "./logs.ts";
import { waitUntil } from "./wait.ts";

/** A running server process. Disposing kills it. */
export interface ServerProcess extends AsyncDisposable {
  /** `ws://127.0.0.1:<port>/llm-websocket/{callId}`. */
  url(callId: string): string;
  /** Its JSON log lines so far, from stdout and stderr, parsed. */
  readonly records: readonly LogRecord[];
  /** Its output lines that are not JSON (Deno's own warnings, a crash). */
  readonly otherLines: readonly string[];
  /**
   * Resolves with the first log line of `event` that `match` accepts, or
   * rejects after `timeoutMs` with the process's output.
   */
  waitFor(
    event: string,
    match?: (record: LogRecord) => boolean,
    timeoutMs?: number,
  ): Promise<LogRecord>;
  /** Sends `signal` (default SIGKILL) and waits for the process to end. */
  kill(signal?: Deno.Signal): Promise<void>;
}

/** Options of {@linkcode startServerProcess}. */
export interface ServerProcessOptions {
  /** The entry point, relative to the repository root, such as `main.ts`. */
  script: string;
  /** The port to listen on, on 127.0.0.1. */
  port: number;
  /** Variables set for the process, over those it inherits. */
  env: Record<string, string>;
  /** Arguments after the script. */
  args?: string[];
  /** Time allowed to print the `listening` line; 20 s by default. */
  startTimeoutMs?: number;
}

const ROOT = new URL("../../", import.meta.url);

/**
 * Starts `deno run --no-prompt -P=server <script>` with loopback callers
 * allowed, and resolves once it logs `listening`.
 */
export async function startServerProcess(
  options: ServerProcessOptions,
): Promise<ServerProcess> {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--no-prompt",
      "-P=server",
      options.script,
      ...(options.args ?? []),
    ],
    cwd: ROOT.pathname,
    env: {
      PORT: String(options.port),
      LISTEN_HOST: "127.0.0.1",
      ALLOWED_IPS: "",
      ALLOW_LOOPBACK: "true",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  const records: LogRecord[] = [];
  const otherLines: string[] = [];
  const waiters = new Set<() => void>();
  let exited = false;
  const status = child.status.then(() => {
    exited = true;
    for (const check of [...waiters]) check();
  });
  const reading = Promise.all(
    [child.stdout, child.stderr].map(async (stream) => {
      let rest = "";
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + text).split("\n");
        rest = lines.pop()!;
        for (const line of lines) take(line);
      }
      if (rest !== "") take(rest);
    }),
  );

  function take(line: string): void {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      record = undefined;
    }
    if (typeof record === "object" && record !== null && "event" in record) {
      records.push(record as LogRecord);
    } else if (line.trim() !== "") {
      otherLines.push(line);
    }
    for (const check of [...waiters]) check();
  }

  function output(): string {
    return [...otherLines, ...records.map((record) => JSON.stringify(record))]
      .join("\n");
  }

  async function waitFor(
    event: string,
    match: (record: LogRecord) => boolean = () => true,
    timeoutMs = 5_000,
  ): Promise<LogRecord> {
    const find = () =>
      records.find((record) => record.event === event && match(record));
    await waitUntil(
      () => find() !== undefined || exited,
      waiters,
      timeoutMs,
      () =>
        `${options.script} logged no matching ${event} within ${timeoutMs} ms:\n${output()}`,
    );
    const found = find();
    if (found === undefined) {
      throw new Error(
        `${options.script} ended before logging ${event}:\n${output()}`,
      );
    }
    return found;
  }

  async function kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    if (!exited) child.kill(signal);
    await status;
    await reading;
  }

  try {
    await waitFor("listening", undefined, options.startTimeoutMs ?? 20_000);
  } catch (error) {
    await kill();
    throw error;
  }
  return {
    url: (callId) => `ws://127.0.0.1:${options.port}/llm-websocket/${callId}`,
    records,
    otherLines,
    waitFor,
    kill,
    [Symbol.asyncDispose]: () => kill(),
  };
}
