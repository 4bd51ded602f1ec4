/**
 * Plays a scenario (see `scenario.ts`) against a server:
 * {@linkcode runScenario} makes a simulated call, plays each step, and
 * reports every turn's latency, frames, violations and failed expectations.
 *
 * @module
 */
import type { CallAction } from "../protocol/outbound.ts";
import { type SimulatedCallOptions, startSimulatedCall } from "./call.ts";
import type { ResponseRecord, ResponseStatus } from "./response_record.ts";
import type { ReplyExpectation, Scenario, ScenarioStep } from "./scenario.ts";
import type { SimulatorEvent } from "./simulator_event.ts";
import type { Violation } from "./violation.ts";

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
  /** Whether the scenario set expectations on this turn's reply. */
  expected: boolean;
  /** Expectations of this turn that failed (and waits that ran out), in words. */
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
 * import { parseScenario } from "./scenario.ts";
 * import { runScenario } from "./scenario_runner.ts";
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
      state.turn.expected = true;
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
    expected: false,
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
