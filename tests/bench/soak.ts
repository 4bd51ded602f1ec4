/**
 * `deno task soak`: many concurrent calls for minutes against the real
 * server, to show it stays correct and its memory stays flat.
 *
 * The server runs as a subprocess (`main.ts`, `-P=server`, on 127.0.0.1),
 * once with `RESPONDER=dummy` and once with `RESPONDER=llm` against a fake
 * model in another subprocess (eight tokens, 15 ms apart). This process plays
 * Retell for `--calls` concurrent calls through the simulator's call driver,
 * whose conformance checker referees every frame. Each call takes turns with
 * pauses between them; some turns are interrupted (a newer
 * `response_required` before the reply completes), some are reminders, and
 * some drop the connection without a close frame and reconnect with the same
 * call id, as Retell does. Keepalive pings run throughout. A call hangs up
 * after a few turns and a fresh call takes its place.
 *
 * Prints turns handled, protocol violations, errors, the server's resident
 * memory at start, after warm-up, in the middle, at the end and after the
 * calls have ended, and the CPU time of the server and of this process.
 * Exits 0 when there were no violations and no errors, 1 otherwise, 2 when it
 * could not run. Everything stays on loopback; it stops what it started.
 *
 * Flags: `--calls=50 --minutes=1 --responder=both` (`dummy`, `llm` or
 * `both`; each responder runs for `--minutes`). Each side needs a file
 * descriptor per call: raise `ulimit -n` first for large runs (the soak
 * refuses to start when the limit is too low).
 *
 * @module
 */
import { describeError } from "../../src/log.ts";
import {
  type SimulatedCall,
  startSimulatedCall,
} from "../../src/simulator/call.ts";
import type { SimulatorEvent } from "../../src/simulator/simulator_event.ts";
import {
  type ServerProcess,
  startServerProcess,
} from "../_support/server_process.ts";
import {
  childCpuMs,
  openFilesLimit,
  ownCpuMs,
  rssKiB,
} from "./_process_stats.ts";

/** Command-line settings. */
interface Options {
  calls: number;
  minutes: number;
  responders: ("dummy" | "llm")[];
}

/** What one run saw. */
interface Tally {
  calls: number;
  turns: number;
  interruptions: number;
  reminders: number;
  reconnects: number;
  pingEchoes: number;
  /** Violations by code, and the first few in full. */
  violations: Map<string, number>;
  firstViolations: string[];
  /** Errors of the load generator and the server, by message. */
  errors: Map<string, number>;
}

/** Resident memory samples of the server, in KiB, with their labels. */
type RssSample = [label: string, kib: number | undefined];

const USAGE =
  "Usage: deno task soak [--calls=50] [--minutes=1] [--responder=dummy|llm|both]";
const ROOT = new URL("../../", import.meta.url);
/** Longest wait for a reply; the checker reports one open after 15 s. */
const REPLY_TIMEOUT_MS = 20_000;
/** File descriptors each side needs beyond one per call. */
const SPARE_FDS = 128;
/** Deno's own notices on the server's stderr, not the server's. */
const DENO_NOTICE = /^Warning Permissions in the config file/;
const LINES = [
  "What time do you open tomorrow?",
  "I would like to book a table for two.",
  "Can you say that again, please?",
  "Is there parking near the restaurant?",
  "Thanks, that is all.",
];

function print(line = ""): void {
  // deno-lint-ignore no-console -- a load tool prints its figures
  console.log(line);
}

function parseOptions(args: readonly string[]): Options {
  const options: Options = {
    calls: 50,
    minutes: 1,
    responders: ["dummy", "llm"],
  };
  for (const arg of args) {
    const match = /^--([a-z]+)=(.+)$/.exec(arg);
    const [, name, value] = match ?? [];
    if (name === "calls" && /^\d+$/.test(value!)) {
      options.calls = Number(value);
    } else if (name === "minutes" && /^\d+(\.\d+)?$/.test(value!)) {
      options.minutes = Number(value);
    } else if (name === "responder" && /^(dummy|llm|both)$/.test(value!)) {
      options.responders = value === "both"
        ? ["dummy", "llm"]
        : [value as "dummy" | "llm"];
    } else {
      throw new Error(`Cannot read flag ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  if (options.calls < 1) throw new Error("Cannot soak: --calls must be >= 1");
  if (options.minutes <= 0) {
    throw new Error("Cannot soak: --minutes must be > 0");
  }
  return options;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function between(low: number, high: number): number {
  return low + Math.random() * (high - low);
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function mib(kib: number | undefined): string {
  return kib === undefined ? "n/a" : `${(kib / 1024).toFixed(1)} MiB`;
}

/** Starts the fake model subprocess and reads its base URL. */
async function startModel(): Promise<
  { baseUrl: string; child: Deno.ChildProcess }
> {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "tests/bench/_soak_model.ts",
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    // Deno's notice about Deno.serve's legacy abort behaviour is not ours.
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + 60_000;
  while (!text.includes("\n") && Date.now() < deadline) {
    const { value, done } = await lines.read();
    if (done) break;
    text += value;
  }
  lines.releaseLock();
  void child.stdout.cancel().catch(() => {});
  const baseUrl = text.split("\n")[0]!.trim();
  if (!baseUrl.startsWith("http://127.0.0.1:")) {
    await stopChild(child);
    throw new Error(`Cannot start the fake model: it printed ${text}`);
  }
  return { baseUrl, child };
}

/** SIGTERM, then SIGKILL after `graceMs`; waits for the exit. */
async function stopChild(
  child: Deno.ChildProcess,
  graceMs = 10_000,
): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* already exited */ }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, graceMs);
  await child.status;
  clearTimeout(timer);
}

/** Opens a call (or reopens it, with `reconnect`) and records what it reports. */
async function open(
  server: ServerProcess,
  callId: string,
  reconnect: boolean,
  tally: Tally,
): Promise<SimulatedCall> {
  const onEvent = (event: SimulatorEvent) => {
    if (event.type === "ping_echo") tally.pingEchoes++;
    if (event.type !== "violation") return;
    // The server knows a reconnected call as greeted and rightly sends no
    // second begin message; the checker of the new socket expects one.
    if (reconnect && event.violation.code === "no_begin") return;
    count(tally.violations, event.violation.code);
    if (tally.firstViolations.length < 5) {
      tally.firstViolations.push(
        `${callId}: ${event.violation.code}: ${event.violation.message}`,
      );
    }
  };
  return await startSimulatedCall({
    url: `ws://127.0.0.1:${server.port}/llm-websocket`,
    callId,
    onEvent,
  });
}

/** Waits for a reply; anything but complete (or cut by a newer request) is an error. */
async function expectReply(
  call: SimulatedCall,
  id: number,
  tally: Tally,
  allowSuperseded = false,
): Promise<void> {
  const record = await call.waitForCompletion(id, REPLY_TIMEOUT_MS);
  if (record.status === "complete") return;
  if (allowSuperseded && record.status === "superseded") return;
  count(tally.errors, `a ${record.kind} ended ${record.status}`);
}

/** One caller's turn: a line, an interruption, a reminder, or a reconnect. */
async function turn(
  server: ServerProcess,
  call: SimulatedCall,
  tally: Tally,
): Promise<SimulatedCall> {
  const line = () => LINES[Math.floor(Math.random() * LINES.length)]!;
  const roll = Math.random();
  if (roll < 0.6) {
    await expectReply(call, call.say(line()), tally);
  } else if (roll < 0.8) {
    // The caller barges in while the reply is on its way, or just before.
    const first = call.say(line());
    if (Math.random() < 0.5) await call.waitForFirstFrame(first, 5000);
    else await sleep(between(0, 30));
    const second = call.say(line());
    await expectReply(call, first, tally, true);
    await expectReply(call, second, tally);
    tally.interruptions++;
    tally.turns++;
  } else if (roll < 0.92) {
    await expectReply(call, call.remind(), tally);
    tally.reminders++;
  } else {
    await call.drop();
    tally.reconnects++;
    const again = await open(server, call.callId, true, tally);
    await expectReply(again, again.say(line()), tally);
    tally.turns++;
    return again;
  }
  tally.turns++;
  return call;
}

/** One line of calls, one after the other, until `deadline`. */
async function caller(
  server: ServerProcess,
  slot: number,
  deadline: number,
  tally: Tally,
): Promise<void> {
  for (let serial = 0; Date.now() < deadline; serial++) {
    const callId = `soak_${slot}_${serial}`;
    let call: SimulatedCall | undefined;
    try {
      call = await open(server, callId, false, tally);
      tally.calls++;
      await expectReply(call, 0, tally);
      const turns = Math.floor(between(4, 13));
      for (let t = 0; t < turns && Date.now() < deadline; t++) {
        await sleep(between(300, 1500));
        call = await turn(server, call, tally);
      }
      await call.close();
    } catch (error) {
      count(tally.errors, describeError(error).replace(/soak_\d+_\d+/g, "*"));
      await call?.close().catch(() => {});
      await sleep(1000);
    }
  }
}

/** The server's env for a responder. */
function serverEnv(
  responder: "dummy" | "llm",
  calls: number,
  modelUrl: string | undefined,
): Record<string, string> {
  // Every soak call comes from 127.0.0.1: lift the caps above the load.
  const cap = String(calls * 2 + 16);
  const env: Record<string, string> = {
    RESPONDER: responder,
    MAX_CALLS: cap,
    MAX_CALLS_PER_ADDRESS: cap,
  };
  if (responder === "llm") {
    Object.assign(env, {
      OPENAI_BASE_URL: modelUrl!,
      OPENAI_API_KEY: "soak",
      OPENAI_MODEL: "soak",
      BEGIN_MESSAGE: "Hello, how can I help?",
    });
  }
  return env;
}

/** Runs the calls against one server; returns true when all was well. */
async function soak(
  responder: "dummy" | "llm",
  options: Options,
  modelUrl: string | undefined,
): Promise<boolean> {
  const tally: Tally = {
    calls: 0,
    turns: 0,
    interruptions: 0,
    reminders: 0,
    reconnects: 0,
    pingEchoes: 0,
    violations: new Map(),
    firstViolations: [],
    errors: new Map(),
  };
  const runMs = options.minutes * 60_000;
  print(
    `== RESPONDER=${responder}: ${options.calls} calls for ${options.minutes} min`,
  );
  const server = await startServerProcess({
    env: serverEnv(responder, options.calls, modelUrl),
  });
  const pid = server.child.pid;
  let crashed = false;
  server.exited.then(() => crashed = true);
  const rss: RssSample[] = [["start", await rssKiB(pid)]];
  const serverCpuBefore = await childCpuMs(pid);
  const ownCpuBefore = ownCpuMs();
  const started = Date.now();
  const deadline = started + runMs;
  // Ramp up over a tenth of the run (at most 10 s), so the calls interleave.
  const rampMs = Math.min(10_000, runMs / 10);
  const samples = [
    ["warm", runMs / 4],
    ["middle", runMs / 2],
    ["end", runMs - 1000],
  ] as const;
  const sampling = (async () => {
    for (const [label, at] of samples) {
      await sleep(Math.max(0, started + at - Date.now()));
      rss.push([label, await rssKiB(pid)]);
    }
  })();
  const callers = Array.from({ length: options.calls }, async (_, slot) => {
    await sleep(rampMs * slot / options.calls);
    await caller(server, slot, deadline, tally);
  });
  const progress = setInterval(() => {
    print(
      `  ${
        Math.round((Date.now() - started) / 1000)
      } s: ${tally.turns} turns, ` +
        `${[...tally.violations.values()].reduce((a, b) => a + b, 0)} ` +
        `violations, ${
          [...tally.errors.values()].reduce((a, b) => a + b, 0)
        } errors`,
    );
  }, 15_000);
  await Promise.all(callers);
  clearInterval(progress);
  await sampling;
  const wallMs = Date.now() - started;
  const serverCpuMs = (await childCpuMs(pid) ?? NaN) - (serverCpuBefore ?? NaN);
  const ownMs = ownCpuMs() - ownCpuBefore;
  // Give the server a moment to end the calls, then see what it kept.
  await sleep(2000);
  rss.push(["after", await rssKiB(pid)]);
  const crashedEarly = crashed;
  await stopChild(server.child);
  await server.exited;
  await server[Symbol.asyncDispose]();

  // Each dropped connection is a socket error to the server: expected.
  let dropsLeft = tally.reconnects;
  for (const record of server.logs) {
    if (record.level !== "warn" && record.level !== "error") continue;
    if (record.event === "socket_error" && dropsLeft-- > 0) continue;
    count(tally.errors, `server ${record.level}: ${record.event}`);
  }
  for (const line of server.stderrText) {
    if (!DENO_NOTICE.test(line)) count(tally.errors, `stderr: ${line}`);
  }
  if (crashedEarly) {
    const { code } = await server.child.status;
    count(tally.errors, `the server exited during the run with code ${code}`);
  }
  const violations = [...tally.violations.values()].reduce((a, b) => a + b, 0);
  const errors = [...tally.errors.values()].reduce((a, b) => a + b, 0);
  print(`  calls opened      ${tally.calls}`);
  print(
    `  turns handled     ${tally.turns} (${tally.interruptions} interrupted, ` +
      `${tally.reminders} reminders, ${tally.reconnects} after a reconnect)`,
  );
  print(`  ping echoes       ${tally.pingEchoes}`);
  print(`  violations        ${violations}`);
  for (const [code, n] of tally.violations) print(`    ${n} x ${code}`);
  for (const line of tally.firstViolations) print(`    e.g. ${line}`);
  print(`  errors            ${errors}`);
  for (const [message, n] of tally.errors) print(`    ${n} x ${message}`);
  print(
    `  server RSS        ${rss.map(([l, k]) => `${l} ${mib(k)}`).join(", ")}`,
  );
  const percent = (ms: number) =>
    `${(ms * 100 / wallMs).toFixed(0)}% of a core`;
  print(
    `  server CPU        ${(serverCpuMs / 1000).toFixed(1)} s (${
      percent(serverCpuMs)
    })`,
  );
  print(
    `  load generator    ${(ownMs / 1000).toFixed(1)} s CPU (${
      percent(ownMs)
    }) over ${(wallMs / 1000).toFixed(0)} s`,
  );
  return violations === 0 && errors === 0;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(Deno.args);
  } catch (error) {
    print(describeError(error));
    return 2;
  }
  const limit = await openFilesLimit(Deno.pid);
  const needed = options.calls + SPARE_FDS;
  if (limit !== undefined && limit < needed) {
    print(
      `Cannot soak ${options.calls} calls: the open-files limit is ${limit}, ` +
        `and this process and the server each need about ${needed}; ` +
        `run \`ulimit -n ${Math.max(4096, needed)}\` first`,
    );
    return 2;
  }
  print(
    `deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch}, ` +
      `${navigator.hardwareConcurrency} cores, open-files limit ${
        limit ?? "n/a"
      }`,
  );
  let model: { baseUrl: string; child: Deno.ChildProcess } | undefined;
  let ok = true;
  try {
    if (options.responders.includes("llm")) model = await startModel();
    for (const responder of options.responders) {
      ok = await soak(responder, options, model?.baseUrl) && ok;
    }
  } finally {
    if (model) await stopChild(model.child);
  }
  print(ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
