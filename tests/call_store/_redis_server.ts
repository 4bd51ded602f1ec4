/**
 * A real `redis-server` for the tests, on a free loopback port, keeping
 * nothing on disk. When the binary is missing the tests that need it are
 * skipped, and this module says so once.
 */

/** A running server. Disposing stops it. */
export interface RedisServer extends AsyncDisposable {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** `redis://127.0.0.1:{port}`. */
  readonly url: string;
  /** Sends a signal to the server's process, by its id. */
  signal(signal: Deno.Signal): void;
  /** Stops it (`SIGKILL` for a crash) and waits for the process to end. */
  stop(signal?: Deno.Signal): Promise<void>;
}

/** Why redis tests are skipped, or `undefined` when `redis-server` runs. */
export const redisMissing: string | undefined = await findRedisServer();

if (redisMissing !== undefined) {
  // deno-lint-ignore no-console -- the skip must be visible in the test output
  console.log(
    `SKIPPED: the Redis call store tests (${redisMissing}; .ci/run installs it, or run: apt-get install redis-server)`,
  );
}

async function findRedisServer(): Promise<string | undefined> {
  try {
    const { success } = await new Deno.Command("redis-server", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? undefined : "redis-server --version failed";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return "redis-server is not installed";
    }
    throw error;
  }
}

/** Time allowed for the server to say it is ready. */
const READY_TIMEOUT_MS = 10_000;

/**
 * Starts `redis-server` on 127.0.0.1 and resolves once it accepts
 * connections.
 *
 * @param port A port to reuse, to restart a server where clients expect it;
 *   by default a free one.
 */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  const chosen = port ?? freePort();
  const child = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(chosen),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();

  let output = "";
  const ready = Promise.withResolvers<void>();
  const reading = (async () => {
    for await (
      const text of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      output += text;
      if (output.includes("Ready to accept connections")) ready.resolve();
    }
    ready.reject(
      new Error(`redis-server ended before it was ready:\n${output}`),
    );
  })();
  const timer = setTimeout(
    () =>
      ready.reject(
        new Error(
          `redis-server was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`,
        ),
      ),
    READY_TIMEOUT_MS,
  );

  let exited = false;
  const status = child.status.then(() => {
    exited = true;
  });
  async function stop(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    if (!exited) child.kill(signal);
    await status;
    await reading;
  }

  try {
    await ready.promise;
  } catch (error) {
    await stop("SIGKILL");
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    signal: (signal) => child.kill(signal),
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
}

/** A loopback port nothing listens on at the moment. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
