/**
 * A server started as its own process (`main.ts`, `deno task start` or an
 * example), for tests of the entry point: its signals, its stop and its
 * startup failures happen to a real process.
 */
import { SETTING_NAMES, SETTINGS } from "../../src/config/settings.ts";
import type { LogRecord } from "./logs.ts";
import { waitUntil } from "./wait.ts";

/** The repository root, where `deno.json` is. */
export const ROOT: URL = new URL("../../", import.meta.url);

/** The command `deno task start` runs, minus its optional `.env`. */
export const MAIN_ARGS = [
  "run",
  "--no-prompt",
  "-P=server",
  "--v8-flags=--max-semi-space-size=16",
  "main.ts",
];

/** What {@linkcode spawnServer} starts. */
export interface ServerProcessOptions {
  /**
   * Arguments of `deno`, run in the repository root.
   *
   * @default {MAIN_ARGS}
   */
  args?: readonly string[];
  /**
   * The directory it runs in; outside the repository root, `args` must
   * name `deno.json` and `main.ts` by their full paths.
   *
   * @default {ROOT}
   */
  cwd?: string | URL;
  /**
   * Settings, on top of every setting at its default, with
   * `LISTEN_HOST=127.0.0.1`, `ALLOW_LOOPBACK=true` and a free `PORT`.
   */
  env?: Record<string, string>;
  /**
   * The process's limit on open file descriptors (`ulimit -n`), set by a
   * `sh` that then becomes `deno`.
   *
   * @default {this process's limit}
   */
  fileLimit?: number;
}

/** A running (or finished) server process and what it wrote. */
export interface ServerProcess extends AsyncDisposable {
  /** The process; signal it with `child.kill()`. */
  readonly child: Deno.ChildProcess;
  /** The port it was told to listen on. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** `ws://127.0.0.1:<port>/llm-websocket/<callId>`. */
  url(callId: string): string;
  /** Every JSON log line it wrote, from stdout and stderr, in order of arrival. */
  readonly logs: readonly LogRecord[];
  /** Lines of stderr that are not log lines (Deno's own warnings, "Cannot start: ..."). */
  readonly stderrText: readonly string[];
  /**
   * The first log line with this event code (and that `match` accepts, when
   * given), waiting up to `timeoutMs`.
   */
  waitForLog(
    event: string,
    timeoutMs?: number,
    match?: (record: LogRecord) => boolean,
  ): Promise<LogRecord>;
  /** Resolves once the process has exited and all its output is read. */
  readonly exited: Promise<Deno.CommandStatus>;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

/**
 * Starts `deno` with the given arguments in the repository root and reads
 * its output. Disposing kills it (SIGKILL) if it is still running and waits
 * for it to exit.
 */
export function spawnServer(options: ServerProcessOptions = {}): ServerProcess {
  const port = freePort();
  // Every setting at its default, so the test's own environment cannot leak in.
  const defaults = Object.fromEntries(
    SETTING_NAMES.map((name) => [name, SETTINGS[name].default]),
  );
  const args = [...(options.args ?? MAIN_ARGS)];
  const command = options.fileLimit === undefined
    ? { program: "deno", args }
    : {
      program: "sh",
      args: [
        "-c",
        `ulimit -n ${options.fileLimit} && exec deno "$@"`,
        "sh",
        ...args,
      ],
    };
  const child = new Deno.Command(command.program, {
    args: command.args,
    cwd: options.cwd ?? ROOT,
    env: {
      ...defaults,
      NO_COLOR: "1",
      LISTEN_HOST: "127.0.0.1",
      ALLOW_LOOPBACK: "true",
      PORT: String(port),
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const logs: LogRecord[] = [];
  const stderrText: string[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  const onLine = (line: string, fromStderr: boolean) => {
    const record = parseLogLine(line);
    if (record) logs.push(record);
    else if (fromStderr && line !== "") stderrText.push(line);
    waiters.forEach((check) => check());
  };
  const read = Promise.all([
    readLines(child.stdout, (line) => onLine(line, false)),
    readLines(child.stderr, (line) => onLine(line, true)),
  ]);
  const exited = read.then(() => child.status).finally(() => {
    ended = true;
    waiters.forEach((check) => check());
  });

  return {
    child,
    port,
    origin: `http://127.0.0.1:${port}`,
    url: (callId) => `ws://127.0.0.1:${port}/llm-websocket/${callId}`,
    logs,
    stderrText,
    async waitForLog(event, timeoutMs = 10_000, match = () => true) {
      const find = () =>
        logs.find((record) => record.event === event && match(record));
      await waitUntil(
        () => find() !== undefined || ended,
        waiters,
        timeoutMs,
        () => `No ${event} log line within ${timeoutMs} ms`,
      );
      const found = find();
      if (found === undefined) {
        throw new Error(
          `The server exited without a ${event} log line; stderr:\n${
            stderrText.join("\n")
          }`,
        );
      }
      return found;
    },
    exited,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      await exited;
    },
  };
}

/** Starts a server process and waits for its `listening` line. */
export async function startServerProcess(
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const server = spawnServer(options);
  try {
    // The first start may compile and cache modules: allow for it.
    await server.waitForLog("listening", 60_000);
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
  return server;
}

/** Milliseconds from now until `promise` settles, and its value. */
export async function timed<T>(
  promise: Promise<T>,
): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - start };
}

function parseLogLine(line: string): LogRecord | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const record = JSON.parse(line);
    return typeof record?.event === "string" ? record : undefined;
  } catch {
    return undefined;
  }
}

async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buffer = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    lines.forEach(onLine);
  }
  if (buffer !== "") onLine(buffer);
}
