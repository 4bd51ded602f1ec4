/**
 * Scripted calls: a scenario is a JSON file of caller lines, pauses,
 * silences and barge-ins, with what the replies must (not) say and do.
 * {@linkcode parseScenario} validates one, naming the field at fault;
 * {@linkcode runScenario} plays it against a server with a simulated call
 * and reports every turn's latency, frames, violations and failed
 * expectations.
 *
 * A scenario file:
 *
 * ```json
 * {
 *   "name": "dummy",
 *   "variables": { "customer_name": "Dana" },
 *   "timeout_ms": 10000,
 *   "steps": [
 *     { "expect_begin": { "contains": "help" } },
 *     { "say": "What time is it?", "expect": { "contains": "say that again" } },
 *     { "pause_ms": 500 },
 *     { "silence": true, "expect": { "action": "none" } },
 *     { "say": "Hold on, I", "wait": "first_frame" },
 *     { "say": "Hold on, I meant to ask something else." }
 *   ]
 * }
 * ```
 *
 * Steps, played in order after the begin message has completed (or
 * `timeout_ms` has passed):
 *
 * - `{ "say": text, "wait"?, "expect"? }`: the caller says `text` (sent as
 *   Retell does: `update_only` frames with the growing transcript, then
 *   `response_required` under the next id). `wait` is `"complete"` (the
 *   default: wait for `content_complete: true`), `"first_frame"` (wait for
 *   the reply's first frame only) or `"none"`.
 * - A **barge-in** is a `say` with `"wait": "first_frame"` (or `"none"`)
 *   followed by another `say`: the second request supersedes the reply still
 *   streaming, as when a caller talks over the agent.
 * - `{ "silence": true, "expect"? }`: the caller stays silent, so Retell
 *   sends `reminder_required`; waits for that reply to complete.
 * - `{ "pause_ms": n }`: wait `n` ms (time for keepalives and late frames).
 * - `{ "expect_begin": expect }`: expectations on the begin message.
 *
 * `expect` (all optional; checked once the scenario has finished, against
 * what Retell would speak under that id):
 *
 * - `contains`: a string or a list; each must appear in the reply (case-insensitive).
 * - `not_contains`: the same, each must not appear.
 * - `action`: `"end_call"`, `"transfer_call"`, `"press_digit"` or `"none"`: the action
 *   the reply carries (an `end_call` reply hangs up the call).
 * - `max_first_frame_ms`: the reply's first frame must come within this
 *   many ms of the request.
 *
 * @module
 */
import { z } from "zod";
import { formatIssue, type Issue, toIssues } from "../protocol/issues.ts";
import type { CallAction } from "../protocol/outbound.ts";
import { type SimulatedCallOptions, startSimulatedCall } from "./call.ts";
import type { ResponseRecord, ResponseStatus } from "./response_record.ts";
import type { SimulatorEvent } from "./simulator_event.ts";
import type { Violation } from "./violation.ts";

/** What a reply must (not) say and do; every field is optional. */
export interface ReplyExpectation {
  /** Text (or each text of a list) the reply must contain, case-insensitive. */
  contains?: string | string[];
  /** Text (or each text of a list) the reply must not contain, case-insensitive. */
  not_contains?: string | string[];
  /** The action the reply must carry; `"none"` for no action. */
  action?: CallAction["type"] | "none";
  /** Longest time in ms from the request to the reply's first frame. */
  max_first_frame_ms?: number;
}

/** The caller says a line. */
export interface SayStep {
  /** The caller's words. */
  say: string;
  /**
   * What to wait for before the next step: the reply's completion, its
   * first frame (then a following `say` barges in), or nothing.
   *
   * @default {"complete"}
   */
  wait?: "complete" | "first_frame" | "none";
  /** What the reply must say and do. */
  expect?: ReplyExpectation;
}

/** Time passes. */
export interface PauseStep {
  /** How long, in ms. */
  pause_ms: number;
}

/** The caller stays silent: Retell sends `reminder_required`, and the reply is awaited. */
export interface SilenceStep {
  /** Always true. */
  silence: true;
  /** What the reminder's reply must say and do. */
  expect?: ReplyExpectation;
}

/** Expectations on the begin message, which is always awaited first. */
export interface ExpectBeginStep {
  /** What the begin message must say and do. */
  expect_begin: ReplyExpectation;
}

/** One step of a scenario. */
export type ScenarioStep = SayStep | PauseStep | SilenceStep | ExpectBeginStep;

/** A scripted call. */
export interface Scenario {
  /** Shown in the report. */
  name?: string;
  /** For the reader; ignored. */
  description?: string;
  /** Dynamic variables of the call, sent in `call_details`. */
  variables?: Record<string, string>;
  /**
   * Longest wait for each reply, in ms.
   *
   * @default {10000}
   */
  timeout_ms?: number;
  /** The steps, in order. */
  steps: ScenarioStep[];
}

/** Result of {@linkcode parseScenario}. */
export type ScenarioParseResult =
  | {
    /** The scenario is valid. */
    ok: true;
    /** The scenario. */
    scenario: Scenario;
  }
  | {
    /** The scenario is not valid. */
    ok: false;
    /** One line per problem, each naming the field path (`steps[2].wait`). */
    reason: string;
    /** The same problems, as data. */
    issues: Issue[];
  };

const texts = z.union([
  z.string().min(1),
  z.array(z.string().min(1)).min(1),
], { error: "Invalid input: expected a string or a list of strings" });

const expectation = z.strictObject({
  contains: texts.optional(),
  not_contains: texts.optional(),
  action: z.enum(["end_call", "transfer_call", "press_digit", "none"])
    .optional(),
  max_first_frame_ms: z.number().nonnegative().optional(),
}) satisfies z.ZodType<ReplyExpectation>;

const stepSchemas = {
  say: z.strictObject({
    say: z.string().trim().min(1),
    wait: z.enum(["complete", "first_frame", "none"]).optional(),
    expect: expectation.optional(),
  }) satisfies z.ZodType<SayStep>,
  silence: z.strictObject({
    silence: z.literal(true),
    expect: expectation.optional(),
  }) satisfies z.ZodType<SilenceStep>,
  pause_ms: z.strictObject({
    pause_ms: z.number().int().nonnegative(),
  }) satisfies z.ZodType<PauseStep>,
  expect_begin: z.strictObject({
    expect_begin: expectation,
  }) satisfies z.ZodType<ExpectBeginStep>,
};
const STEP_KEYS = Object.keys(stepSchemas) as Array<keyof typeof stepSchemas>;

const scenarioSchema = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  variables: z.record(z.string(), z.string()).optional(),
  timeout_ms: z.number().int().positive().optional(),
  steps: z.array(z.unknown()),
});

/**
 * Reads and validates a scenario file's text. Never throws: every problem
 * comes back in `reason`, each with the path of the field at fault.
 *
 * @param text The file's text (JSON).
 * @returns The scenario, or what is wrong with it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseScenario } from "./scenario.ts";
 *
 * const good = parseScenario('{"steps":[{"say":"Hello"}]}');
 * assert.ok(good.ok);
 * const bad = parseScenario('{"steps":[{"say":"Hello","wait":"later"}]}');
 * assert.ok(!bad.ok && bad.reason.startsWith("steps[0].wait:"));
 * ```
 */
export function parseScenario(text: string): ScenarioParseResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const issues = [{ path: [], message: detail }];
    return {
      ok: false,
      reason: `Cannot parse scenario as JSON: ${detail}`,
      issues,
    };
  }
  const top = scenarioSchema.safeParse(json);
  if (!top.success) return failed(toIssues(top.error.issues));
  const issues: Issue[] = [];
  const steps: ScenarioStep[] = [];
  top.data.steps.forEach((raw, index) => {
    const at = ["steps", index];
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      issues.push({ path: at, message: "expected an object" });
      return;
    }
    const kinds = STEP_KEYS.filter((key) => Object.hasOwn(raw, key));
    if (kinds.length !== 1) {
      issues.push({
        path: at,
        message: `a step has exactly one of ${
          STEP_KEYS.map((key) => `"${key}"`).join(", ")
        }${
          kinds.length > 1
            ? `, found ${kinds.map((key) => `"${key}"`).join(" and ")}`
            : ""
        }`,
      });
      return;
    }
    const parsed = stepSchemas[kinds[0]!].safeParse(raw);
    if (parsed.success) steps.push(parsed.data);
    else {
      for (const issue of toIssues(parsed.error.issues)) {
        issues.push({ ...issue, path: [...at, ...issue.path] });
      }
    }
  });
  if (steps.length === 0 && issues.length === 0) {
    issues.push({
      path: ["steps"],
      message: "Too small: expected at least one step",
    });
  }
  if (issues.length > 0) return failed(issues);
  const scenario: Scenario = { ...top.data, steps };
  return { ok: true, scenario };
}

/** The failure for these issues, one per line in `reason`. */
function failed(issues: Issue[]): ScenarioParseResult {
  return { ok: false, reason: issues.map(formatIssue).join("\n"), issues };
}

/** Options of {@linkcode runScenario}: the call's options, plus timing. */
export interface RunScenarioOptions
  extends Omit<SimulatedCallOptions, "variables"> {
  /** Dynamic variables, on top of the scenario's own. */
  variables?: Readonly<Record<string, string>>;
  /** Longest wait for each reply in ms; overrides the scenario's `timeout_ms`. */
  timeoutMs?: number;
  /**
   * After the last step, how long to keep listening for late frames (an
   * extra chunk after completion, a close) before hanging up.
   *
   * @default {250}
   */
  settleMs?: number;
}

/** One request of the call and what came of it. */
export interface ScenarioTurn {
  /** 1-based position in the report. */
  index: number;
  /** The 1-based step that made the request; undefined for the begin message. */
  step: number | undefined;
  /** The `response_id`. */
  responseId: number;
  /** The begin message, a caller's line, or a reminder after silence. */
  kind: "begin" | "say" | "silence";
  /** The caller's line, for `say`. */
  said: string | undefined;
  /** What Retell would speak under this id. */
  reply: string;
  /** How the reply ended. */
  status: ResponseStatus;
  /** Ms from the request to the first frame. */
  firstFrameMs: number | undefined;
  /** Ms from the request to completion. */
  completeMs: number | undefined;
  /** Response frames accepted under this id. */
  frames: number;
  /** The action the reply carried. */
  action: CallAction | undefined;
  /** Violations under this id, or while it was the latest request. */
  violations: Violation[];
  /** Expectations of this turn that failed, in words. */
  failures: string[];
}

/** The outcome of {@linkcode runScenario}. */
export interface ScenarioReport {
  /** The scenario's name. */
  name: string;
  /** The URL dialled, with the call id. */
  url: string;
  /** The call id. */
  callId: string;
  /** Every request, the begin message first. */
  turns: ScenarioTurn[];
  /** Every violation, in order. */
  violations: Violation[];
  /** Every failed expectation or step, in words, naming its step. */
  failures: string[];
  /** The close code of the socket. */
  closeCode: number;
  /** Whether the server closed the socket (or it dropped). */
  closedByServer: boolean;
  /** True when there are neither violations nor failures. */
  ok: boolean;
}

/** A turn while the scenario runs. */
interface TurnState {
  turn: ScenarioTurn;
  label: string;
  expect: ReplyExpectation | undefined;
}

/**
 * Plays a scenario against a server and reports each turn. The begin
 * message is awaited first; then the steps run in order; after the last one
 * the simulator listens `settleMs` more and hangs up (code 1000), unless the
 * call has ended already (an `end_call` reply, or the server closing).
 *
 * @param scenario The scenario, for example from {@linkcode parseScenario}.
 * @param options The server's URL, and how to play the call.
 * @returns The report; `ok` is false on any violation or failed expectation.
 * @throws {TypeError} When the URL is not usable.
 * @throws {SimulatorConnectError} When the socket cannot be opened (see `call.ts`).
 *
 * @example Usage against a running server
 * ```ts ignore
 * import { parseScenario, runScenario } from "./scenario.ts";
 *
 * const parsed = parseScenario(await Deno.readTextFile("tests/scenarios/dummy.json"));
 * if (!parsed.ok) throw new Error(parsed.reason);
 * const report = await runScenario(parsed.scenario, {
 *   url: "ws://127.0.0.1:8080/llm-websocket",
 * });
 * console.log(report.ok, report.failures, report.violations);
 * ```
 */
export async function runScenario(
  scenario: Scenario,
  options: RunScenarioOptions,
): Promise<ScenarioReport> {
  const timeoutMs = options.timeoutMs ?? scenario.timeout_ms ?? 10_000;
  const settleMs = options.settleMs ?? 250;
  const turns = new Map<number, TurnState>();
  /** Failures of steps that made no request, by 1-based step. */
  const stepFailures: Array<{ step: number; text: string }> = [];
  /** The response id of the turn being played. */
  let playing = 0;

  turns.set(0, {
    turn: newTurn(1, undefined, 0, "begin", undefined),
    label: "begin message",
    expect: undefined,
  });

  /** Each violation goes to its response's turn, or to the turn being played. */
  function onEvent(event: SimulatorEvent): void {
    if (event.type === "violation") {
      const violation = event.violation;
      const target = turns.get(violation.responseId ?? playing) ??
        turns.get(playing);
      target?.turn.violations.push(violation);
    }
    options.onEvent?.(event);
  }

  const call = await startSimulatedCall({
    ...options,
    variables: { ...scenario.variables, ...options.variables },
    onEvent,
  });
  try {
    await call.waitForCompletion(0, timeoutMs);
    for (const [index, step] of scenario.steps.entries()) {
      const number = index + 1;
      const label = `step ${number} of ${scenario.steps.length} (${
        describeStep(step)
      })`;
      if ("expect_begin" in step) {
        turns.get(0)!.expect = step.expect_begin;
        continue;
      }
      if ("pause_ms" in step) {
        await delay(step.pause_ms);
        continue;
      }
      if (!call.isOpen) {
        const closed = await call.closed;
        stepFailures.push({
          step: number,
          text:
            `${label}: the call had already ended (close code ${closed.code}${
              closed.byServer ? ", closed by the server" : ""
            })`,
        });
        break;
      }
      const isSay = "say" in step;
      const id = isSay ? call.say(step.say) : call.remind();
      playing = id;
      const state: TurnState = {
        turn: newTurn(
          turns.size + 1,
          number,
          id,
          isSay ? "say" : "silence",
          isSay ? step.say : undefined,
        ),
        label,
        expect: step.expect,
      };
      turns.set(id, state);
      const wait = isSay ? step.wait ?? "complete" : "complete";
      if (wait === "complete") {
        const record = await call.waitForCompletion(id, timeoutMs);
        if (record.status === "waiting" || record.status === "streaming") {
          state.turn.failures.push(
            `the reply did not complete within ${timeoutMs} ms (${
              record.frames === 0
                ? "no frame arrived"
                : "no frame had content_complete: true"
            })`,
          );
        } else if (record.status === "closed") {
          state.turn.failures.push(
            "the call ended before the reply completed",
          );
        }
      } else if (wait === "first_frame") {
        const record = await call.waitForFirstFrame(id, timeoutMs);
        if (record.frames === 0 && record.status === "waiting") {
          state.turn.failures.push(
            `no reply frame arrived within ${timeoutMs} ms`,
          );
        }
      }
    }
    if (call.isOpen) await delay(settleMs);
  } finally {
    await call.close();
  }
  const closed = await call.closed;
  const violations = [...call.violations];

  for (const state of turns.values()) {
    const record = call.response(state.turn.responseId);
    if (record !== undefined) fill(state.turn, record);
    if (state.expect !== undefined) {
      state.turn.failures.push(...checkExpectation(state.expect, state.turn));
    }
    stepFailures.push(
      ...state.turn.failures.map((failure) => ({
        step: state.turn.step ?? 0,
        text: `${state.label}: ${failure}`,
      })),
    );
  }
  // In step order; the begin message first.
  const failures = stepFailures
    .sort((a, b) => a.step - b.step)
    .map((failure) => failure.text);
  return {
    name: scenario.name ?? "scenario",
    url: call.url,
    callId: call.callId,
    turns: [...turns.values()].map((state) => state.turn),
    violations,
    failures,
    closeCode: closed.code,
    closedByServer: closed.byServer,
    ok: violations.length === 0 && failures.length === 0,
  };
}

function newTurn(
  index: number,
  step: number | undefined,
  responseId: number,
  kind: ScenarioTurn["kind"],
  said: string | undefined,
): ScenarioTurn {
  return {
    index,
    step,
    responseId,
    kind,
    said,
    reply: "",
    status: "waiting",
    firstFrameMs: undefined,
    completeMs: undefined,
    frames: 0,
    action: undefined,
    violations: [],
    failures: [],
  };
}

function fill(turn: ScenarioTurn, record: ResponseRecord): void {
  turn.reply = record.text;
  turn.status = record.status;
  turn.firstFrameMs = record.firstFrameMs;
  turn.completeMs = record.completeMs;
  turn.frames = record.frames;
  turn.action = record.action;
}

/** The failed parts of an expectation, in words. */
function checkExpectation(
  expect: ReplyExpectation,
  turn: ScenarioTurn,
): string[] {
  const failed: string[] = [];
  const reply = turn.reply.toLowerCase();
  const quoted = JSON.stringify(turn.reply);
  for (const text of list(expect.contains)) {
    if (!reply.includes(text.toLowerCase())) {
      failed.push(
        `the reply does not contain ${JSON.stringify(text)}: it was ${quoted}`,
      );
    }
  }
  for (const text of list(expect.not_contains)) {
    if (reply.includes(text.toLowerCase())) {
      failed.push(
        `the reply contains ${JSON.stringify(text)}: it was ${quoted}`,
      );
    }
  }
  if (expect.action !== undefined) {
    const actual = turn.action?.type ?? "none";
    if (actual !== expect.action) {
      failed.push(
        `expected action ${expect.action}, but the reply carried ${
          describeAction(turn.action)
        }`,
      );
    }
  }
  if (expect.max_first_frame_ms !== undefined) {
    if (turn.firstFrameMs === undefined) {
      failed.push(
        `expected a first frame within ${expect.max_first_frame_ms} ms, but none arrived`,
      );
    } else if (turn.firstFrameMs > expect.max_first_frame_ms) {
      failed.push(
        `the first frame came after ${
          Math.round(turn.firstFrameMs)
        } ms, more than max_first_frame_ms ${expect.max_first_frame_ms}`,
      );
    }
  }
  return failed;
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === "string" ? [value] : value;
}

function describeAction(action: CallAction | undefined): string {
  switch (action?.type) {
    case undefined:
      return "none";
    case "end_call":
      return "end_call";
    case "transfer_call":
      return `transfer to ${action.number}`;
    case "press_digit":
      return `digit ${action.digits}`;
  }
}

function describeStep(step: ScenarioStep): string {
  if ("say" in step) {
    const text = step.say.length > 30 ? `${step.say.slice(0, 29)}…` : step.say;
    return `say ${JSON.stringify(text)}`;
  }
  if ("silence" in step) return "silence";
  if ("pause_ms" in step) return `pause ${step.pause_ms} ms`;
  return "expect_begin";
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
