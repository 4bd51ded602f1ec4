/**
 * The servers the load benchmark compares, each its own process on
 * 127.0.0.1: ours (`main.ts` with the `start` task's permissions, started by
 * `spawnServer`) and the bare baselines (`bare_dummy.ts`, and
 * `../bare_relay.ts` for streaming).
 *
 * @module
 */
import {
  freePort,
  MAIN_ARGS,
  type ServerProcess,
  spawnServer,
} from "../../_support/server_process.ts";

/** A server under test. */
export interface BenchServer extends AsyncDisposable {
  /** `bare` or `ours`. */
  readonly name: "bare" | "ours";
  /** Its process id, for CPU and memory. */
  readonly pid: number;
  /** The socket URL of a call. */
  url(callId: string): string;
  /** Lines it wrote on stderr that are not Deno's own notices. */
  readonly stderr: readonly string[];
  /** Whether it has exited. */
  exited(): boolean;
}

/** Deno's notice about permissions from the config file, not the server's. */
const DENO_NOTICE = /^Warning Permissions in the config file/;

/**
 * Settings of our server in the benchmark: logs at `warn` (the baselines
 * write none), no `call_details` wait and no keepalives (the generator sends
 * neither), room for S3's calls from one address, and no per-call frame
 * rate cap (S1's turns back to back pass 100 frames a second); the call
 * store, metrics and tracing stay at their defaults.
 */
const OUR_ENV = {
  LOG_LEVEL: "warn",
  AUTO_RECONNECT: "false",
  CALL_DETAILS: "false",
  ALLOWED_IPS: "127.0.0.1",
  MAX_CALLS: "20000",
  MAX_CALLS_PER_ADDRESS: "0",
  MAX_FRAMES_PER_SECOND: "1000000",
};

/** Polls until something answers HTTP on the port (up to 60 s). */
async function untilListening(
  process: ServerProcess,
  port: number,
  what: string,
): Promise<void> {
  let ended = false;
  process.exited.then(() => ended = true, () => ended = true);
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    if (ended) {
      throw new Error(
        `Cannot start ${what}: it exited\n${process.stderrText.join("\n")}`,
      );
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`Cannot start ${what}: no answer on port ${port} in 60 s`);
}

async function start(
  name: "bare" | "ours",
  what: string,
  port: number,
  args: readonly string[],
  env: Record<string, string>,
  path: string,
): Promise<BenchServer> {
  const process = spawnServer({ args, env: { ...env, PORT: String(port) } });
  let ended = false;
  process.exited.then(() => ended = true, () => ended = true);
  try {
    await untilListening(process, port, what);
  } catch (error) {
    await process[Symbol.asyncDispose]();
    throw error;
  }
  return {
    name,
    pid: process.child.pid,
    url: (callId) => `ws://127.0.0.1:${port}${path}${callId}`,
    get stderr() {
      return process.stderrText.filter((line) => !DENO_NOTICE.test(line));
    },
    exited: () => ended,
    [Symbol.asyncDispose]: () => process[Symbol.asyncDispose](),
  };
}

/** Starts our server (`main.ts`) with the given responder settings. */
export function startOurs(
  env: Record<string, string> = {},
): Promise<BenchServer> {
  return start(
    "ours",
    "our server",
    freePort(),
    MAIN_ARGS,
    { ...OUR_ENV, ...env },
    "/llm-websocket/",
  );
}

/** Starts `bare_dummy.ts`. */
export function startBareDummy(): Promise<BenchServer> {
  return start(
    "bare",
    "the bare dummy server",
    freePort(),
    [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "--allow-env=PORT",
      "tests/bench/load/bare_dummy.ts",
    ],
    {},
    "/",
  );
}

/** Starts `../bare_relay.ts` against the model at `baseUrl`. */
export function startBareRelay(baseUrl: string): Promise<BenchServer> {
  const port = freePort();
  return start(
    "bare",
    "the bare relay",
    port,
    [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "tests/bench/bare_relay.ts",
      String(port),
      baseUrl,
    ],
    {},
    "/",
  );
}

/** Starts our server with `RESPONDER=llm` against the model at `baseUrl`. */
export function startOursLlm(baseUrl: string): Promise<BenchServer> {
  return startOurs({
    RESPONDER: "llm",
    OPENAI_BASE_URL: baseUrl,
    OPENAI_API_KEY: "bench",
    OPENAI_MODEL: "bench",
    BEGIN_MESSAGE: "Hi",
  });
}
