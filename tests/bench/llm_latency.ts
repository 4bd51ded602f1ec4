/**
 * `deno task bench`: how long a model token takes to reach Retell.
 *
 * This process hosts a scripted OpenAI-style model server
 * (`tests/_support/llm_server.ts`) and plays Retell's side of many concurrent
 * calls. Two servers run as subprocesses between them: ours (`main.ts` with
 * `RESPONDER=llm`, started with the `start` task's permissions) and a bare
 * relay (`bare_relay.ts`: read SSE, write frame). For every token, latency is
 * the time from the model server writing it to the Retell-side client
 * receiving the frame that carries it, on this process's clock. Rounds
 * alternate between the two servers (bare, ours, bare, ours, ...) and samples
 * are pooled per server.
 *
 * It prints figures and never asserts times. It exits 1 only when the run
 * itself broke: a crash, a server that would not start, or more than 1% of
 * the tokens missing.
 *
 * Flags: `--calls=50 --tokens=200 --interval-ms=10 --rounds=2`.
 * `--interval-ms=0` writes each reply's tokens back to back, without pauses.
 *
 * @module
 */
import { SETTING_NAMES } from "../../src/config/settings.ts";
import { describeError } from "../../src/log.ts";
import { childCpuMs, ownCpuMs } from "./_process_stats.ts";
import {
  type FakeLlm,
  type LlmScript,
  type LlmStep,
  startFakeLlm,
} from "../_support/llm_server.ts";

/** Command-line settings. */
interface Options {
  calls: number;
  tokens: number;
  intervalMs: number;
  rounds: number;
}

/** A server under test, running as a subprocess. */
interface Target {
  name: string;
  /** The socket URL for a call id. */
  url(callId: string): string;
  child: Deno.ChildProcess;
  /** Last lines the subprocess wrote, for error reports. */
  output: string[];
  /** Lines it wrote on stderr during the run (ours: warn and error logs). */
  stderrLines: number;
  /** Drains of its stdout and stderr. */
  drained: Promise<unknown>;
  /** Its exit code, once it has exited. */
  exitCode?: number;
}

/** What one call saw. */
interface CallResult {
  /** Script serial, token index and receive time of each token, in order. */
  serials: number[];
  indexes: number[];
  times: number[];
  /** The call tag, sent in the transcript, to check which request was whose. */
  tag: string;
  unexpected: number;
  error?: string;
}

/** Samples of one round of one target. */
interface RoundResult {
  latencies: number[];
  expected: number;
  missing: number;
  unexpected: number;
  errors: string[];
  wallMs: number;
  /** CPU time of the server under test and of this process during the round. */
  serverCpuMs: number | undefined;
  benchCpuMs: number;
}

const ROOT = new URL("../../", import.meta.url);
const USAGE =
  "Usage: deno task bench [--calls=50] [--tokens=200] [--interval-ms=10] [--rounds=2]";
const TOKEN = /^w(\d+)_(\d+)$/;

function now(): number {
  return performance.timeOrigin + performance.now();
}

function print(line = ""): void {
  // deno-lint-ignore no-console -- a benchmark prints its figures
  console.log(line);
}

function parseOptions(args: readonly string[]): Options {
  const options: Options = {
    calls: 50,
    tokens: 200,
    intervalMs: 10,
    rounds: 2,
  };
  const names: Record<string, keyof Options> = {
    calls: "calls",
    tokens: "tokens",
    "interval-ms": "intervalMs",
    rounds: "rounds",
  };
  for (const arg of args) {
    const match = /^--([a-z-]+)=(\d+)$/.exec(arg);
    const key = match ? names[match[1]!] : undefined;
    if (!match || key === undefined) {
      throw new Error(`Cannot read flag ${JSON.stringify(arg)}\n${USAGE}`);
    }
    options[key] = Number(match[2]);
  }
  for (const key of ["calls", "tokens", "rounds"] as const) {
    if (options[key] < 1) throw new Error(`--${key} must be at least 1`);
  }
  return options;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects after `ms` with `message`, unless `promise` settles first. */
async function within<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a subprocess stream line by line, keeping the last 40 lines. */
async function drain(
  stream: ReadableStream<Uint8Array>,
  output: string[],
  onLine: (line: string) => void = () => {},
): Promise<void> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + text).split("\n");
    rest = lines.pop()!;
    for (const line of lines) {
      output.push(line);
      if (output.length > 40) output.shift();
      onLine(line);
    }
  }
  if (rest !== "") output.push(rest);
}

/** A port that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** The `start` task's `deno run` flags, without `--env-file`. */
async function startTaskFlags(): Promise<string[]> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  );
  const task = config.tasks?.start;
  const command: unknown = typeof task === "string" ? task : task?.command;
  const words = typeof command === "string" ? command.split(/\s+/) : [];
  const run = words.indexOf("run");
  const entry = words.findIndex((word) => word.endsWith("main.ts"));
  if (words[0] !== "deno" || run < 0 || entry < run) {
    throw new Error(
      `Cannot read the start task of deno.json: expected "deno run ... main.ts", got ${
        JSON.stringify(command)
      }`,
    );
  }
  return words.slice(run + 1, entry).filter((flag) =>
    !flag.startsWith("--env-file")
  );
}

function spawn(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): { target: Omit<Target, "url">; stdoutLines: ReadableStream<string> } {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const lines = new TransformStream<string, string>();
  const writer = lines.writable.getWriter();
  const target: Omit<Target, "url"> = {
    name,
    child,
    output,
    stderrLines: 0,
    drained: Promise.resolve(),
  };
  target.drained = Promise.all([
    drain(child.stdout, output, (line) => void writer.write(line)).finally(
      () => writer.close().catch(() => {}),
    ),
    drain(child.stderr, output, () => target.stderrLines++),
  ]).catch(() => {});
  child.status.then((status) => target.exitCode = status.code);
  return { target, stdoutLines: lines.readable };
}

/** Stops a subprocess: SIGTERM, then SIGKILL after 5 s. */
async function stop(target: Omit<Target, "url">): Promise<void> {
  try {
    target.child.kill("SIGTERM");
  } catch { /* already gone */ }
  const exited = await within(target.child.status, 5000, "still running")
    .then(() => true, () => false);
  if (!exited) {
    try {
      target.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await target.child.status;
  }
  await target.drained.catch(() => {});
}

async function startBareRelay(
  fake: FakeLlm,
  started: Omit<Target, "url">[],
): Promise<Target> {
  const { target, stdoutLines } = spawn("bare relay", [
    "run",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    "tests/bench/bare_relay.ts",
    "0",
    fake.baseUrl,
  ]);
  started.push(target);
  const reader = stdoutLines.getReader();
  const port = await within(
    (async () => {
      while (true) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the bare relay exited before listening");
        const match = /^listening (\d+)$/.exec(value);
        if (match) return Number(match[1]);
      }
    })(),
    60_000,
    "the bare relay did not listen within 60 s",
  );
  reader.releaseLock();
  void stdoutLines.pipeTo(new WritableStream()).catch(() => {});
  return Object.assign(target, {
    url: (id: string) => `ws://127.0.0.1:${port}/${id}`,
  });
}

async function startOurs(
  fake: FakeLlm,
  started: Omit<Target, "url">[],
): Promise<Target> {
  const port = freePort();
  // Every variable the server reads, empty (its default) unless set here, so
  // the shell's own settings cannot change what is measured.
  const env: Record<string, string> = Object.fromEntries(
    SETTING_NAMES.map((name) => [name, ""]),
  );
  Object.assign(env, {
    PORT: String(port),
    LISTEN_HOST: "127.0.0.1",
    ALLOWED_IPS: "127.0.0.1",
    RESPONDER: "llm",
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_API_KEY: "bench",
    OPENAI_MODEL: "bench",
    LOG_LEVEL: "warn",
    BEGIN_MESSAGE: "Hi",
    CALL_DETAILS: "false",
  });
  const { target, stdoutLines } = spawn("ours", [
    "run",
    ...await startTaskFlags(),
    "main.ts",
  ], env);
  started.push(target);
  void stdoutLines.pipeTo(new WritableStream()).catch(() => {});
  const exited = target.child.status.then((status) => {
    throw new Error(`our server exited with code ${status.code}`);
  });
  exited.catch(() => {});
  let waiting = true;
  await within(
    Promise.race([
      exited,
      (async () => {
        while (waiting) {
          try {
            const response = await fetch(`http://127.0.0.1:${port}/healthz`);
            await response.body?.cancel();
            if (response.ok) return;
          } catch { /* not listening yet */ }
          await sleep(50);
        }
      })(),
    ]),
    60_000,
    "our server did not answer /healthz within 60 s",
  ).finally(() => waiting = false);
  return Object.assign(target, {
    url: (id: string) => `ws://127.0.0.1:${port}/llm-websocket/${id}`,
  });
}

/** The script for one reply: `tokens` unique words, `intervalMs` apart. */
function script(serial: number, tokens: number, intervalMs: number): LlmScript {
  const steps: LlmStep[] = [];
  for (let i = 0; i < tokens; i++) {
    if (intervalMs > 0) steps.push({ delayMs: intervalMs });
    steps.push({ text: `w${serial}_${i} ` });
  }
  return { steps };
}

/** An open call, greeted, ready to ask. */
interface OpenCall {
  /** Sends `response_required` 1 after `delayMs` and collects the reply. */
  ask(delayMs: number, timeoutMs: number): Promise<CallResult>;
}

/** Opens a call and waits for the begin message (response 0, complete). */
async function openCall(url: string, tag: string): Promise<OpenCall> {
  const socket = new WebSocket(url);
  const result: CallResult = {
    serials: [],
    indexes: [],
    times: [],
    tag,
    unexpected: 0,
  };
  const begun = Promise.withResolvers<void>();
  const done = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  socket.onmessage = (event) => {
    const at = now();
    const frame = JSON.parse(event.data);
    if (frame.response_type !== "response") return;
    if (frame.response_id === 0) {
      if (frame.content_complete) begun.resolve();
      return;
    }
    if (frame.response_id !== 1) return;
    for (const word of String(frame.content).split(/\s+/)) {
      if (word === "") continue;
      const match = TOKEN.exec(word);
      if (match) {
        result.serials.push(Number(match[1]));
        result.indexes.push(Number(match[2]));
        result.times.push(at);
      } else result.unexpected++;
    }
    if (frame.content_complete) done.resolve();
  };
  socket.onclose = (event) => {
    const error = new Error(`socket closed with code ${event.code}`);
    begun.reject(error);
    done.reject(error);
    closed.resolve();
  };
  socket.onerror = () => {};
  begun.promise.catch(() => {});
  done.promise.catch(() => {});

  async function close(): Promise<void> {
    if (socket.readyState !== WebSocket.CLOSED) socket.close(1000);
    await within(closed.promise, 5000, "socket did not close").catch(() => {});
  }

  try {
    await within(begun.promise, 15_000, `${tag}: no begin message in 15 s`);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    async ask(delayMs, timeoutMs) {
      try {
        if (delayMs > 0) await sleep(delayMs);
        socket.send(JSON.stringify({
          interaction_type: "response_required",
          response_id: 1,
          transcript: [
            { role: "agent", content: "Hi" },
            { role: "user", content: `Tell me a story, ${tag}.` },
          ],
        }));
        await within(done.promise, timeoutMs, `${tag}: reply incomplete`);
      } catch (error) {
        result.error = describeError(error);
      } finally {
        await close();
      }
      return result;
    },
  };
}

/** The call tag found in a request's messages. */
function tagOf(body: Record<string, unknown>): string | undefined {
  const text = JSON.stringify(body.messages ?? "");
  return /story, ([^.]+)\./.exec(text)?.[1];
}

/** Runs `calls` concurrent calls of `tokens` tokens against one target. */
async function runRound(
  target: Target,
  fake: FakeLlm,
  label: string,
  calls: number,
  tokens: number,
  intervalMs: number,
): Promise<RoundResult> {
  // The fake model serves scripts in the order requests arrive, so request k
  // gets the k-th script ever queued: serial k, tokens `w<k>_<i>`.
  const firstSerial = fake.requests.length;
  for (let c = 0; c < calls; c++) {
    fake.enqueue(script(firstSerial + c, tokens, intervalMs));
  }
  const started = performance.now();
  const serverCpu = await childCpuMs(target.child.pid);
  const benchCpu = ownCpuMs();
  const errors: string[] = [];
  const opened = await Promise.allSettled(
    Array.from(
      { length: calls },
      (_, c) => openCall(target.url(`${label}c${c}`), `${label}c${c}`),
    ),
  );
  const open: OpenCall[] = [];
  for (const outcome of opened) {
    if (outcome.status === "fulfilled") open.push(outcome.value);
    else errors.push(String(outcome.reason?.message ?? outcome.reason));
  }
  // Spread the requests over one interval so that the calls interleave.
  const timeoutMs = tokens * Math.max(intervalMs, 1) * 3 + 30_000;
  const results = await Promise.all(
    open.map((call, c) => call.ask(c * intervalMs / calls, timeoutMs)),
  );
  const wallMs = performance.now() - started;
  const serverCpuMs = difference(await childCpuMs(target.child.pid), serverCpu);
  const benchCpuMs = ownCpuMs() - benchCpu;

  const latencies: number[] = [];
  const seen = new Set<string>();
  let unexpected = 0;
  for (const result of results) {
    if (result.error) errors.push(result.error);
    unexpected += result.unexpected;
    for (let k = 0; k < result.times.length; k++) {
      const serial = result.serials[k]!;
      const index = result.indexes[k]!;
      const request = fake.requests[serial];
      const written = request?.tokenTimes[index];
      const key = `${serial}_${index}`;
      if (
        serial < firstSerial || serial >= firstSerial + calls ||
        written === undefined || seen.has(key) ||
        tagOf(request!.body) !== result.tag
      ) {
        unexpected++;
        continue;
      }
      seen.add(key);
      latencies.push(result.times[k]! - written);
    }
  }
  const expected = calls * tokens;
  // Scripts left unserved would shift every later serial: stop the run.
  if (fake.requests.length !== firstSerial + calls) {
    throw new Error(
      `${target.name}: ${fake.requests.length - firstSerial} model requests ` +
        `for ${calls} calls; cannot match tokens to requests any more`,
    );
  }
  return {
    latencies,
    expected,
    missing: expected - latencies.length,
    unexpected,
    errors,
    wallMs,
    serverCpuMs,
    benchCpuMs,
  };
}

function difference(
  after: number | undefined,
  before: number | undefined,
): number | undefined {
  return after === undefined || before === undefined
    ? undefined
    : after - before;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

function summarize(latencies: number[]) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
  };
}

function percent(part: number | undefined, whole: number): string {
  return part === undefined ? "n/a" : `${(part * 100 / whole).toFixed(0)}%`;
}

function ms(value: number): string {
  return value.toFixed(3);
}

function row(cells: (string | number)[], widths: number[]): string {
  return cells.map((cell, i) =>
    i === 0
      ? String(cell).padEnd(widths[i]!)
      : String(cell).padStart(widths[i]!)
  ).join("  ");
}

async function main(): Promise<number> {
  const options = parseOptions(Deno.args);
  const { calls, tokens, intervalMs, rounds } = options;
  print("LLM token latency: model server writes a token -> Retell-side client");
  print("receives the frame carrying it (same process clock).");
  print(
    `deno ${Deno.version.deno}, v8 ${Deno.version.v8}, ${Deno.build.os}/${Deno.build.arch}, ` +
      `hardwareConcurrency ${navigator.hardwareConcurrency}`,
  );
  print(
    `calls=${calls} tokens=${tokens} interval-ms=${intervalMs} rounds=${rounds}` +
      ` (${calls * tokens} tokens per round, ${
        calls * tokens * rounds
      } per server)`,
  );

  const started: Omit<Target, "url">[] = [];
  const onInterrupt = () => {
    for (const target of started) {
      try {
        target.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  await using fake = startFakeLlm();
  try {
    const [bare, ours] = await Promise.all([
      startBareRelay(fake, started),
      startOurs(fake, started),
    ]);
    const targets = [bare, ours];
    for (const target of targets) {
      const warm = await runRound(
        target,
        fake,
        `w${target === bare ? "b" : "o"}`,
        1,
        Math.min(tokens, 20),
        intervalMs,
      );
      if (warm.missing > 0 || warm.errors.length > 0) {
        throw new Error(
          `${target.name}: warm-up call failed: ${
            warm.errors.join("; ") || `${warm.missing} tokens missing`
          }\n${target.output.join("\n")}`,
        );
      }
    }

    const pooled = new Map(targets.map((target) => [target, {
      latencies: [] as number[],
      expected: 0,
      missing: 0,
      unexpected: 0,
      errors: [] as string[],
      serverCpuMs: 0 as number | undefined,
    }]));
    const roundWidths = [5, 10, 7, 7, 8, 8, 6, 11, 9];
    print();
    print(row([
      "round",
      "server",
      "tokens",
      "missing",
      "p50 ms",
      "p99 ms",
      "wall s",
      "server CPU",
      "bench CPU",
    ], roundWidths));
    for (let round = 1; round <= rounds; round++) {
      for (const target of targets) {
        if (target.exitCode !== undefined) {
          throw new Error(
            `${target.name} exited with code ${target.exitCode} during the run`,
          );
        }
        const result = await runRound(
          target,
          fake,
          `r${round}${target === bare ? "b" : "o"}`,
          calls,
          tokens,
          intervalMs,
        );
        const total = pooled.get(target)!;
        for (const latency of result.latencies) total.latencies.push(latency);
        total.expected += result.expected;
        total.missing += result.missing;
        total.unexpected += result.unexpected;
        total.errors.push(...result.errors);
        total.serverCpuMs =
          total.serverCpuMs === undefined || result.serverCpuMs === undefined
            ? undefined
            : total.serverCpuMs + result.serverCpuMs;
        const stats = summarize(result.latencies);
        print(row([
          round,
          target.name,
          stats.count,
          result.missing,
          ms(stats.p50),
          ms(stats.p99),
          (result.wallMs / 1000).toFixed(1),
          percent(result.serverCpuMs, result.wallMs),
          percent(result.benchCpuMs, result.wallMs),
        ], roundWidths));
      }
    }
    print(
      "(CPU: user + system time of the process over the round's wall time; " +
        "100% is one core)",
    );

    print();
    const widths = [10, 7, 7, 8, 8, 8, 8, 16];
    print(row([
      "server",
      "tokens",
      "missing",
      "p50 ms",
      "p90 ms",
      "p99 ms",
      "max ms",
      "server CPU/token",
    ], widths));
    const stats = new Map<Target, ReturnType<typeof summarize>>();
    let broken = false;
    for (const target of targets) {
      const total = pooled.get(target)!;
      const summary = summarize(total.latencies);
      stats.set(target, summary);
      print(row([
        target.name,
        summary.count,
        total.missing,
        ms(summary.p50),
        ms(summary.p90),
        ms(summary.p99),
        ms(summary.max),
        total.serverCpuMs === undefined || summary.count === 0
          ? "n/a"
          : `${(total.serverCpuMs * 1000 / summary.count).toFixed(0)} us`,
      ], widths));
      if (total.missing > total.expected * 0.01) broken = true;
    }
    const b = stats.get(bare)!;
    const o = stats.get(ours)!;
    const ratio = (x: number, y: number) => (x / y).toFixed(2);
    print();
    print(
      `ours/bare: p50 ${ratio(o.p50, b.p50)}x, p90 ${ratio(o.p90, b.p90)}x, ` +
        `p99 ${ratio(o.p99, b.p99)}x`,
    );
    print(
      `target p99 <= 1.5x bare: ${
        o.p99 <= 1.5 * b.p99 ? "met" : "NOT met"
      } (ours ${ms(o.p99)} ms, limit ${ms(1.5 * b.p99)} ms)`,
    );

    for (const target of targets) {
      const total = pooled.get(target)!;
      if (total.unexpected > 0) {
        print(
          `${target.name}: ${total.unexpected} unexpected or duplicate tokens`,
        );
      }
      if (total.errors.length > 0) {
        print(`${target.name}: ${total.errors.length} call(s) failed, e.g.:`);
        for (const error of total.errors.slice(0, 5)) print(`  ${error}`);
      }
      if (target.stderrLines > 0) {
        print(
          `${target.name}: wrote ${target.stderrLines} line(s) on stderr; last:`,
        );
        for (const line of target.output.slice(-5)) print(`  ${line}`);
      }
    }
    for (const target of targets) {
      if (target.exitCode === undefined) continue;
      print(
        `${target.name} exited with code ${target.exitCode} during the run`,
      );
      broken = true;
    }
    if (broken) {
      print(
        "run broken: a server exited or more than 1% of tokens are missing",
      );
      return 1;
    }
    return 0;
  } catch (error) {
    for (const target of started) {
      if (target.output.length === 0) continue;
      print(`${target.name}, last lines of output:`);
      for (const line of target.output.slice(-10)) print(`  ${line}`);
    }
    throw error;
  } finally {
    await Promise.all(started.map(stop));
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

try {
  Deno.exitCode = await main();
} catch (error) {
  // deno-lint-ignore no-console -- the bench's own failure
  console.error(
    `bench failed: ${error instanceof Error ? error.stack : error}`,
  );
  Deno.exitCode = 1;
}
