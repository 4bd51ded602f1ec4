/**
 * Scripted calls: a scenario is a JSON file of caller lines, pauses,
 * silences and barge-ins, with what the replies must (not) say and do.
 * {@linkcode parseScenario} validates one, naming the field at fault;
 * `runScenario` (in `scenario_runner.ts`) plays it against a server.
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
    const detail = (error as SyntaxError).message; // JSON.parse throws nothing else
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
