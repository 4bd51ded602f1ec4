/**
 * The scenarios of issue 10, each one run against one server: S1 (one call,
 * turns back to back), S2 (many calls, think time, `update_only` events,
 * growing transcripts), S3 (a ramp of concurrent calls, a turn every 2 s
 * each), S4 (streaming through the `llm` responder from a fake model) and
 * S4i (S4 with a newer request on the first frame of every reply).
 *
 * @module
 */
import type { FakeLlm, LlmStep } from "../../_support/llm_server.ts";
import { childCpuMs, ownCpuMs, rssKiB } from "../_process_stats.ts";
import {
  encodeEvents,
  type LoadCall,
  openCall,
  takeTurn,
  watchLoopDelay,
  within,
} from "./_call.ts";
import type { BenchServer } from "./_servers.ts";
import { percentile, type RunFigures, spread } from "./_stats.ts";

/** Longest wait for a begin message. */
const CONNECT_TIMEOUT_MS = 15_000;
/** Longest wait for a complete reply. */
const TURN_TIMEOUT_MS = 15_000;
/** Calls connecting at once while a scenario opens its calls. */
const CONNECTS_IN_FLIGHT = 64;

/** One utterance of a transcript. */
interface Utterance {
  role: "agent" | "user";
  content: string;
}

/** What a scenario counts while it runs. */
interface Tally {
  calls: number;
  connected: number;
  turns: number;
  answered: number;
  errors: string[];
  latencies: number[];
  connects: number[];
}

function newTally(): Tally {
  return {
    calls: 0,
    connected: 0,
    turns: 0,
    answered: 0,
    errors: [],
    latencies: [],
    connects: [],
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** The transcript at `turn` (1-based), the last `limit` utterances. */
export function transcriptAt(
  tag: string,
  turn: number,
  limit = 20,
): Utterance[] {
  const utterances: Utterance[] = [{
    role: "agent",
    content: "How may I help you?",
  }];
  for (let t = 1; t <= turn; t++) {
    if (t > 1) {
      utterances.push({
        role: "agent",
        content: "I am sorry, can you say that again?",
      });
    }
    utterances.push({
      role: "user",
      content: `This is ${tag}, turn ${t}, asking about my order.`,
    });
  }
  return utterances.slice(-limit);
}

/**
 * A turn's events: `updates` `update_only` events with the caller's
 * sentence growing, then `response_required`.
 */
export function turnEvents(
  tag: string,
  turn: number,
  responseId: number,
  updates: number,
): Record<string, unknown>[] {
  const full = transcriptAt(tag, turn);
  const last = full[full.length - 1]!;
  const events: Record<string, unknown>[] = [];
  for (let u = 1; u <= updates; u++) {
    const words = last.content.split(" ");
    const partial = words.slice(0, Math.ceil(words.length * u / (updates + 1)));
    events.push({
      interaction_type: "update_only",
      transcript: [...full.slice(0, -1), {
        ...last,
        content: partial.join(" "),
      }],
    });
  }
  events.push({
    interaction_type: "response_required",
    response_id: responseId,
    transcript: full,
  });
  return events;
}

/** Opens `count` calls, a few at a time, recording connect times. */
async function openCalls(
  server: BenchServer,
  count: number,
  prefix: string,
  tally: Tally,
): Promise<LoadCall[]> {
  const calls: LoadCall[] = [];
  let next = 0;
  async function worker() {
    while (next < count) {
      const id = `${prefix}${next++}`;
      tally.calls++;
      try {
        const call = await openCall(server.url(id), CONNECT_TIMEOUT_MS);
        tally.connected++;
        tally.connects.push(call.connectMs);
        calls.push(call);
      } catch (error) {
        tally.errors.push(`${id}: ${message(error)}`);
      }
    }
  }
  await Promise.all(
    Array.from({ length: Math.min(CONNECTS_IN_FLIGHT, count) }, worker),
  );
  return calls;
}

/**
 * The frames of turns `first` to `last` of the call `tag`, encoded ahead of
 * the measured phase so that the generator's own work in it is the least.
 */
function encodeTurns(
  tag: string,
  first: number,
  last: number,
  updates: number,
): Uint8Array[] {
  const turns: Uint8Array[] = [];
  for (let turn = first; turn <= last; turn++) {
    turns.push(encodeEvents(turnEvents(tag, turn, turn, updates)));
  }
  return turns;
}

/** Takes one dummy turn, its frames encoded by `encodeTurns`, and counts it. */
async function dummyTurn(
  call: LoadCall,
  tag: string,
  turn: number,
  frames: Uint8Array,
  tally: Tally,
): Promise<void> {
  tally.turns++;
  try {
    const timing = await takeTurn(call, turn, frames, TURN_TIMEOUT_MS);
    tally.answered++;
    tally.latencies.push(timing.firstMs);
  } catch (error) {
    tally.errors.push(`${tag} turn ${turn}: ${message(error)}`);
  }
}

/** CPU, wall time and the generator's own load over a phase. */
interface Phase {
  serverCpuMs?: number;
  wallMs: number;
  generatorCpuPercent: number;
  generatorLoopP99: number;
}

/** Runs `body`, measuring the server's CPU and the generator's load. */
async function measure(
  server: BenchServer,
  body: () => Promise<void>,
): Promise<Phase> {
  const loop = watchLoopDelay();
  const cpuBefore = await childCpuMs(server.pid);
  const ownBefore = ownCpuMs();
  const started = performance.now();
  try {
    await body();
  } finally {
    loop.stop();
  }
  const wallMs = performance.now() - started;
  const generatorCpuPercent = (ownCpuMs() - ownBefore) * 100 / wallMs;
  const cpuAfter = await childCpuMs(server.pid);
  return {
    serverCpuMs: cpuBefore === undefined || cpuAfter === undefined
      ? undefined
      : cpuAfter - cpuBefore,
    wallMs,
    generatorCpuPercent,
    generatorLoopP99: percentile(loop.stop(), 0.99),
  };
}

function figures(
  server: BenchServer,
  stderrBefore: number,
  tally: Tally,
  phase: Phase,
  extra: Partial<RunFigures> = {},
): RunFigures {
  const errors = [
    ...tally.errors,
    ...server.stderr.slice(stderrBefore).map((line) => `stderr: ${line}`),
  ];
  if (server.exited()) errors.push(`${server.name} exited`);
  return {
    calls: tally.calls,
    connected: tally.connected,
    turns: tally.turns,
    answered: tally.answered,
    errors,
    latency: spread(tally.latencies),
    connectP99: percentile(tally.connects, 0.99),
    ...phase,
    ...extra,
  };
}

async function closeAll(calls: readonly LoadCall[]): Promise<void> {
  await Promise.all(calls.map((call) => call.close()));
}

/** S1: one call, `turns` turns back to back; first-frame latency. */
export async function runS1(
  server: BenchServer,
  turns: number,
  label: string,
): Promise<RunFigures> {
  const tally = newTally();
  const stderrBefore = server.stderr.length;
  const calls = await openCalls(server, 1, `${label}-`, tally);
  const tag = `${label}-0`;
  const frames = encodeTurns(tag, 1, turns, 0);
  const phase = await measure(server, async () => {
    for (const call of calls) {
      for (let turn = 1; turn <= turns; turn++) {
        await dummyTurn(call, tag, turn, frames[turn - 1]!, tally);
      }
    }
  });
  await closeAll(calls);
  return figures(server, stderrBefore, tally, phase);
}

/** Options of {@linkcode runS2}. */
export interface S2Options {
  calls: number;
  turns: number;
  thinkMs: number;
  updates: number;
}

/**
 * S2: `calls` calls, `turns` turns each with `updates` `update_only` events
 * before the request and `thinkMs` after each reply.
 */
export async function runS2(
  server: BenchServer,
  options: S2Options,
  label: string,
): Promise<RunFigures> {
  const tally = newTally();
  const stderrBefore = server.stderr.length;
  const calls = await openCalls(server, options.calls, `${label}-`, tally);
  const frames = calls.map((_, c) =>
    encodeTurns(`${label}-${c}`, 1, options.turns, options.updates)
  );
  const phase = await measure(server, async () => {
    await Promise.all(calls.map(async (call, c) => {
      await sleep(c * options.thinkMs / calls.length);
      for (let turn = 1; turn <= options.turns; turn++) {
        await dummyTurn(
          call,
          `${label}-${c}`,
          turn,
          frames[c]![turn - 1]!,
          tally,
        );
        await sleep(options.thinkMs);
      }
    }));
  });
  await closeAll(calls);
  return figures(server, stderrBefore, tally, phase);
}

/** Options of {@linkcode runS3}. */
export interface S3Options {
  /** Concurrent calls at each level, ascending. */
  levels: readonly number[];
  /** Turns each call takes at each level. */
  turnsPerLevel: number;
  /** Time between a call's turns. */
  periodMs: number;
}

/**
 * S3: ramps to each level of concurrent calls (keeping the calls of the
 * levels before), then every call takes a turn (one `update_only` first)
 * every `periodMs`, spread evenly. One figure set per level; connect
 * latency is that of the calls added for the level, CPU that of the turns,
 * and memory per call the RSS the level added over the one before, per call
 * added (the first level's over a tenth of it, run first and unreported):
 * what one more connection costs, without the heap a server sets aside once.
 */
export async function runS3(
  server: BenchServer,
  options: S3Options,
  label: string,
): Promise<RunFigures[]> {
  const results: RunFigures[] = [];
  const calls: LoadCall[] = [];
  const turnsTaken: number[] = [];
  // A tenth of the first level goes first, unreported, so the heap has
  // grown to its working size before memory per call is measured.
  const base = Math.max(1, Math.round(options.levels[0]! / 10));
  try {
    let previous = { calls: base, kib: (await runLevel(base)).kib };
    for (const level of options.levels) {
      const { figures: levelFigures, kib } = await runLevel(level);
      results.push({
        ...levelFigures,
        rssPerCallKiB: kib === undefined || previous.kib === undefined
          ? undefined
          : (kib - previous.kib) / (level - previous.calls),
      });
      previous = { calls: level, kib };
    }
  } finally {
    await closeAll(calls);
  }
  return results;

  /** Opens calls up to `level`, has each take its turns, reads the RSS. */
  async function runLevel(level: number) {
    const tally = newTally();
    const stderrBefore = server.stderr.length;
    const added = await openCalls(
      server,
      level - calls.length,
      `${label}-${level}-`,
      tally,
    );
    calls.push(...added);
    tally.calls += calls.length - added.length;
    tally.connected += calls.length - added.length;
    const frames = calls.map((_, c) =>
      encodeTurns(
        `${label}-${c}`,
        (turnsTaken[c] ?? 0) + 1,
        (turnsTaken[c] ?? 0) + options.turnsPerLevel,
        1,
      )
    );
    const phase = await measure(server, async () => {
      const start = performance.now();
      await Promise.all(calls.map(async (call, c) => {
        const offset = c * options.periodMs / calls.length;
        for (let k = 0; k < options.turnsPerLevel; k++) {
          await sleep(
            start + offset + k * options.periodMs - performance.now(),
          );
          const turn = (turnsTaken[c] ?? 0) + 1;
          turnsTaken[c] = turn;
          await dummyTurn(call, `${label}-${c}`, turn, frames[c]![k]!, tally);
        }
      }));
    });
    const kib = await rssKiB(server.pid);
    return { figures: figures(server, stderrBefore, tally, phase), kib };
  }
}

/** Options of {@linkcode runS4}. */
export interface S4Options {
  calls: number;
  turns: number;
  /** S4i: send a newer request on the first frame of every reply. */
  interrupt: boolean;
}

const TOKEN = /^w(\d+)_(\d+)$/;
const TAG = /call (\S+) request (\d+)\b/;

/** The fake model's answer: first token at 100 ms, 30 tokens 10 ms apart. */
export function modelSteps(serial: number): LlmStep[] {
  const steps: LlmStep[] = [{ delayMs: 100 }];
  for (let i = 0; i < 30; i++) {
    if (i > 0) steps.push({ delayMs: 10 });
    steps.push({ text: `w${serial}_${i} ` });
  }
  return steps;
}

function request(tag: string, id: number): Record<string, unknown> {
  return {
    interaction_type: "response_required",
    response_id: id,
    transcript: [
      { role: "agent", content: "Hi" },
      { role: "user", content: `Tell me a story, call ${tag} request ${id}.` },
    ],
  };
}

/**
 * S4 and S4i against a server that relays `fake`: token-to-frame latency
 * (model writes a token to the frame carrying it arriving) and
 * request-to-upstream latency; for S4i also how many superseded model
 * requests were closed, and frames under the superseded id: late ones, after
 * a frame of the newer reply (the server had read the newer request), and
 * ones in flight, after the newer request went out but before its reply
 * began (they may have left the server before the request arrived).
 */
export async function runS4(
  server: BenchServer,
  fake: FakeLlm,
  options: S4Options,
  label: string,
): Promise<RunFigures> {
  const tally = newTally();
  const stderrBefore = server.stderr.length;
  const perTurn = options.interrupt ? 2 : 1;
  const expected = options.calls * options.turns * perTurn;
  const firstSerial = fake.requests.length;
  for (let k = 0; k < expected; k++) {
    fake.enqueue({ steps: modelSteps(firstSerial + k) });
  }
  const sentAt = new Map<string, number>();
  const arrivals = Array.from(
    { length: expected },
    (_, k) =>
      fake.waitForRequest(firstSerial + k, 60_000).then((entry) => ({
        entry,
        at: performance.now(),
      })),
  );
  const calls = await openCalls(server, options.calls, `${label}-`, tally);
  const tokenLatencies: number[] = [];
  let lateFrames = 0;
  let inFlightFrames = 0;
  const supersededTags: string[] = [];

  async function turn(call: LoadCall, c: number, t: number): Promise<void> {
    const tag = `${label}-${c}`;
    const first = options.interrupt ? 2 * t - 1 : t;
    const last = first + perTurn - 1;
    let newerSentAt = Infinity;
    let newerAnswered = false;
    const stop = call.listen((frame, at) => {
      if (options.interrupt && frame.response_id === last) newerAnswered = true;
      if (frame.response_id === first && at > newerSentAt) {
        if (newerAnswered) lateFrames++;
        else inFlightFrames++;
      }
      for (const word of frame.content.split(/\s+/)) {
        const match = TOKEN.exec(word);
        const written = match
          ? fake.requests[Number(match[1])]?.tokenTimes[Number(match[2])]
          : undefined;
        if (written !== undefined) {
          tokenLatencies.push(performance.timeOrigin + at - written);
        }
      }
      if (
        options.interrupt && frame.response_id === first &&
        !sentAt.has(`${tag}#${last}`)
      ) {
        newerSentAt = performance.now();
        sentAt.set(`${tag}#${last}`, newerSentAt);
        supersededTags.push(`${tag}#${first}`);
        call.send(request(tag, last));
      }
    });
    tally.turns++;
    try {
      const done = Promise.withResolvers<void>();
      const watch = call.listen((frame) => {
        if (frame.response_id === last && frame.content_complete) {
          done.resolve();
        }
      });
      try {
        sentAt.set(`${tag}#${first}`, performance.now());
        call.send(request(tag, first));
        await within(
          Promise.race([
            done.promise,
            call.closed.then((reason) => Promise.reject(new Error(reason))),
          ]),
          TURN_TIMEOUT_MS,
          `${tag}: no complete reply to ${last} in ${TURN_TIMEOUT_MS} ms`,
        );
        tally.answered++;
      } finally {
        watch();
      }
    } catch (error) {
      tally.errors.push(message(error));
    } finally {
      stop();
    }
  }

  const phase = await measure(server, async () => {
    await Promise.all(calls.map(async (call, c) => {
      await sleep(c * 10 / calls.length);
      for (let t = 1; t <= options.turns; t++) await turn(call, c, t);
    }));
  });
  await closeAll(calls);

  const upstream: number[] = [];
  const byTag = new Map<string, FakeLlm["requests"][number]>();
  const settled = await within(
    Promise.allSettled(arrivals),
    5000,
    "model requests missing",
  ).catch(() => []);
  for (const outcome of settled) {
    if (outcome.status !== "fulfilled") continue;
    const match = TAG.exec(JSON.stringify(outcome.value.entry.body.messages));
    if (!match) continue;
    const key = `${match[1]}#${match[2]}`;
    byTag.set(key, outcome.value.entry);
    const sent = sentAt.get(key);
    if (sent !== undefined) upstream.push(outcome.value.at - sent);
  }
  if (fake.requests.length !== firstSerial + expected) {
    tally.errors.push(
      `${
        fake.requests.length - firstSerial
      } model requests, ${expected} expected`,
    );
  }
  let closed = 0;
  await Promise.all(supersededTags.map(async (key) => {
    const entry = byTag.get(key);
    const outcome = entry &&
      await within(entry.outcome, 5000, "open").catch(() => "open");
    if (outcome === "aborted") closed++;
  }));
  const extra: Partial<RunFigures> = {
    upstreamP99: percentile(upstream, 0.99),
  };
  if (options.interrupt) {
    Object.assign(extra, {
      lateFrames,
      inFlightFrames,
      superseded: supersededTags.length,
      supersededClosed: closed,
    });
  }
  tally.latencies = tokenLatencies;
  return figures(server, stderrBefore, tally, phase, extra);
}
