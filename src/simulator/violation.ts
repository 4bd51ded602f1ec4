/**
 * A protocol rule a server broke, as the conformance checker reports it:
 * {@linkcode Violation}, its codes, and the `PROTOCOL.md` sections each
 * code cites.
 *
 * @module
 */

/** The stable code of each rule the checker enforces. */
export type ViolationCode =
  | "not_json"
  | "not_event"
  | "missing_response_type"
  | "unknown_response_type"
  | "invalid_frame"
  | "binary_frame"
  | "config_not_first"
  | "no_begin"
  | "begin_repeated"
  | "stale_response"
  | "after_complete"
  | "unrequested_response"
  | "never_completed"
  | "ping_late"
  | "ping_missing"
  | "ping_unknown"
  | "bad_close_code";

/** A protocol rule the server broke. */
export interface Violation {
  /** Stable code. */
  code: ViolationCode;
  /** The PROTOCOL.md section(s) it breaks, e.g. "§4.0". */
  rule: string;
  /** One plain-English sentence a user understands, naming the ids/values involved. */
  message: string;
  /** ms since the checker was created (the call opened). */
  at: number;
  /** The response id involved, when there is one. */
  responseId?: number;
}

/** A broken rule in words, before it is cited and timed. */
export type Fault = Pick<Violation, "code" | "message" | "responseId">;

/** The PROTOCOL.md sections each code breaks. */
const RULES: Readonly<Record<ViolationCode, string>> = {
  not_json: "§4.0, §6",
  not_event: "§1.4, §8.2",
  missing_response_type: "§4.0, §8.4",
  unknown_response_type: "§4, §4.0",
  invalid_frame: "§4.0, §8.9",
  binary_frame: "§1.4, §8.2",
  config_not_first: "§2, §8.3",
  no_begin: "§2, §8.3",
  begin_repeated: "§5.7, §11",
  stale_response: "§5.1, §8.7",
  after_complete: "§5.1, §8.7",
  unrequested_response: "§4.2, §5.1",
  never_completed: "§5.2, §8.6",
  ping_late: "§4.4, §5.7, §8.5",
  ping_missing: "§4.4, §5.7, §8.5",
  ping_unknown: "§4.4",
  bad_close_code: "§5.8, §8.12",
};

/**
 * Cites the rule a fault breaks and times it.
 *
 * @param fault The broken rule, in words.
 * @param at Ms since the call opened.
 * @returns The violation.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { toViolation } from "./violation.ts";
 *
 * assert.deepEqual(
 *   toViolation({ code: "ping_unknown", message: "An echo of nothing." }, 12),
 *   { code: "ping_unknown", rule: "§4.4", message: "An echo of nothing.", at: 12 },
 * );
 * ```
 */
export function toViolation(fault: Fault, at: number): Violation {
  const violation: Violation = {
    code: fault.code,
    rule: RULES[fault.code],
    message: fault.message,
    at,
  };
  if (fault.responseId !== undefined) violation.responseId = fault.responseId;
  return violation;
}
