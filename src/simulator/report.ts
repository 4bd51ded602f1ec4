/**
 * The simulator's results in words: a violation on one line, an action in
 * brackets, the per-turn table and summary of a scripted run (or its one
 * `--json` record), and the violation count an interactive call ends with.
 *
 * @module
 */
import type { CallAction } from "../protocol/outbound.ts";
import type { Violation } from "./violation.ts";
import type { ScenarioReport, ScenarioTurn } from "./scenario_runner.ts";

/** Plain-words names of violation codes. */
const VIOLATION_LABELS: Readonly<Record<Violation["code"], string>> = {
  not_json: "not JSON",
  not_event: "not an event",
  missing_response_type: "missing response_type",
  unknown_response_type: "unknown response_type",
  invalid_frame: "invalid frame",
  binary_frame: "binary frame",
  config_not_first: "config not first",
  no_begin: "no begin message",
  begin_repeated: "second greeting",
  stale_response: "stale response",
  after_complete: "content after completion",
  unrequested_response: "unrequested response",
  never_completed: "response never completed",
  ping_late: "late ping echo",
  ping_missing: "missing ping echo",
  ping_unknown: "unknown ping echo",
  bad_close_code: "bad close code",
};

/**
 * One violation on one line, as printed: its rule, its name in words and
 * what happened (`! §4.0, §8.4 missing response_type: The server sent ...`).
 *
 * @param violation The violation.
 * @returns The line, without a line break.
 */
export function formatViolation(violation: Violation): string {
  return `! ${violation.rule} ${
    VIOLATION_LABELS[violation.code] ?? violation.code
  }: ${violation.message}`;
}

/**
 * An action of the agent in brackets, as printed (`[agent hangs up]`).
 *
 * @param action The action.
 * @returns The text.
 */
export function describeAction(action: CallAction): string {
  switch (action.type) {
    case "end_call":
      return "[agent hangs up]";
    case "transfer_call":
      return `[transfer to ${action.number}${
        action.showTransfereeAsCaller ? ", showing the caller's number" : ""
      }]`;
    case "press_digit":
      return `[press digits ${action.digits}]`;
  }
}

/**
 * A duration as printed: one decimal below 10 ms, whole ms above, `-` when unknown.
 *
 * @param ms The duration in ms.
 * @returns The text.
 */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return "-";
  return ms < 10 ? ms.toFixed(1) : String(Math.round(ms));
}

/** Cuts `text` to `width` characters, on one line. */
function truncate(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

function replyCell(turn: ScenarioTurn): string {
  const notes: string[] = [];
  if (turn.action !== undefined) notes.push(describeAction(turn.action));
  if (turn.status === "superseded") notes.push("[interrupted]");
  if (turn.status === "closed") notes.push("[call closed]");
  if (turn.status === "waiting" || turn.status === "streaming") {
    notes.push("[incomplete]");
  }
  const suffix = notes.length > 0 ? ` ${notes.join(" ")}` : "";
  const text = turn.reply === "" && turn.frames === 0 ? "-" : turn.reply;
  return `${truncate(JSON.stringify(text).slice(1, -1), 40)}${suffix}`;
}

/** `ok`, `N failed`, or `-` for a turn without expectations that did not fail. */
function expectationsCell(turn: ScenarioTurn): string {
  if (turn.failures.length > 0) return `${turn.failures.length} failed`;
  return turn.expected ? "ok" : "-";
}

/**
 * The per-turn table and summary of a scripted run, as printed.
 *
 * @param report The report of {@linkcode runScenario}.
 * @returns Text ending in a line break.
 */
export function formatReport(report: ScenarioReport): string {
  const header = [
    "#",
    "id",
    "kind",
    "caller",
    "reply",
    "first ms",
    "complete ms",
    "frames",
    "violations",
    "expectations",
  ];
  const rows = report.turns.map((turn) => [
    String(turn.index),
    String(turn.responseId),
    turn.kind,
    turn.said === undefined ? "-" : truncate(turn.said, 24),
    replyCell(turn),
    formatMs(turn.firstFrameMs),
    formatMs(turn.completeMs),
    String(turn.frames),
    String(turn.violations.length),
    expectationsCell(turn),
  ]);
  const numeric = new Set([0, 1, 5, 6, 7, 8]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length))
  );
  const render = (row: string[]) =>
    row.map((cell, column) =>
      numeric.has(column)
        ? cell.padStart(widths[column]!)
        : cell.padEnd(widths[column]!)
    ).join("  ").trimEnd();
  const lines = [render(header), ...rows.map(render), ""];
  const problems = report.violations.length + report.failures.length;
  if (problems === 0) {
    lines.push(
      `PASS ${report.name}: ${report.turns.length} turns, no violations, every expectation met`,
    );
  } else {
    lines.push(
      `FAIL ${report.name}: ${plural(report.violations.length, "violation")}, ${
        plural(report.failures.length, "failed expectation")
      }`,
    );
    if (report.violations.length > 0) {
      lines.push("Violations:");
      for (const violation of report.violations) {
        lines.push(`  ${formatViolation(violation)}`);
      }
    }
    if (report.failures.length > 0) {
      lines.push("Failed expectations:");
      for (const failure of report.failures) lines.push(`  - ${failure}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The report of a scripted run as `--json` prints it: one record, after the
 * events.
 *
 * @param report The report of {@linkcode runScenario}.
 * @returns The JSON record, ending in a line break.
 */
export function formatReportRecord(report: ScenarioReport): string {
  return `${JSON.stringify({ type: "report", ...report })}\n`;
}

/**
 * The line an interactive call ends with when the server broke the protocol.
 *
 * @param count How many violations there were.
 * @returns The line, without a line break.
 */
export function formatViolationCount(count: number): string {
  return `${plural(count, "protocol violation")} (lines starting with !)`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
