/**
 * {@linkcode parseOutbound}: reads a frame a server sent and checks it
 * against the rules {@linkcode encodeOutbound} applies before sending, for
 * the simulator's checker. Section numbers refer to `PROTOCOL.md`.
 *
 * @module
 */
import {
  checkEvent,
  discriminatorNotString,
  readJsonObject,
} from "./_json_frame.ts";
import { OUTBOUND_SCHEMAS } from "./_outbound_schemas.ts";
import { formatIssues, type ReadFailure } from "./issues.ts";
import type { OutboundEvent, ResponseEvent } from "./outbound.ts";

/** Why a frame could not be read as an {@linkcode OutboundEvent}. */
export type OutboundFailureKind =
  /** The text is not JSON. */
  | "not_json"
  /** The JSON is not an object, or its `response_type` is not a string. */
  | "not_event"
  /** The object has no `response_type`; Retell reads it as a response (§4.0). */
  | "missing_response_type"
  /** A `response_type` this module does not know. */
  | "unknown_type"
  /**
   * A known `response_type` whose only fault is `null` for optional fields,
   * which the documented form leaves out; Retell tolerates it (§4.0).
   */
  | "null_optional"
  /** A known `response_type` with a missing, wrongly typed or unknown field. */
  | "invalid";

/** Result of {@linkcode parseOutbound}. */
export type OutboundParseResult =
  | {
    /** The frame is a valid event. */
    ok: true;
    /** The event. */
    event: OutboundEvent;
  }
  | ReadFailure<"not_json">
  | ReadFailure<"not_event"> & {
    /** The frame's object; undefined when the JSON is not an object. */
    object: Record<string, unknown> | undefined;
  }
  | ReadFailure<"missing_response_type"> & {
    /** The frame's object. */
    object: Record<string, unknown>;
    /**
     * The frame read as a response (Retell's backward-compatible reading,
     * §4.0, §9.1) when it has that shape; then `issues` is empty, else it
     * says what is wrong with that reading.
     */
    asResponse?: ResponseEvent;
  }
  | ReadFailure<"unknown_type" | "invalid"> & {
    /** The frame's object. */
    object: Record<string, unknown>;
    /** The frame's `response_type`. */
    responseType: string;
  }
  | ReadFailure<"null_optional"> & {
    /** The frame's object. */
    object: Record<string, unknown>;
    /** The frame's `response_type`. */
    responseType: OutboundEvent["response_type"];
    /** The event Retell reads: the frame without its null fields. */
    event: OutboundEvent;
    /** The top-level keys whose value is null. */
    nullFields: string[];
  };

/**
 * Reads one text frame a server sent, the mirror of `parseInbound` for the
 * other direction, and checks it against the same strict schemas
 * {@linkcode encodeOutbound} uses. Never throws: a bad frame comes back with
 * a `kind` and a one-line `reason` naming the fields.
 *
 * Every failure carries the frame's `issues` as data next to the `reason`,
 * and, once the frame is a JSON object, the `object` itself. A frame without
 * `response_type` is what Retell reads as a response (§4.0, §9.1): it fails
 * as `missing_response_type`, and when it has a response's shape that
 * reading is returned as `asResponse`. A frame whose only fault is `null`
 * for optional fields fails as `null_optional`, with the `event` Retell
 * still reads.
 *
 * @param text The frame's payload.
 * @returns The event, or what is wrong with the frame.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOutbound } from "./outbound_parse.ts";
 *
 * const good = parseOutbound(
 *   '{"response_type":"response","response_id":1,"content":"Hi","content_complete":true}',
 * );
 * assert.ok(good.ok && good.event.response_type === "response");
 *
 * const bad = parseOutbound(
 *   '{"response_type":"response","response_id":1,"content":"Hi","content_complete":"true"}',
 * );
 * assert.ok(!bad.ok && bad.kind === "invalid");
 * assert.match(bad.reason, /content_complete/);
 * assert.deepEqual(bad.issues.map((issue) => issue.path), [["content_complete"]]);
 * ```
 */
export function parseOutbound(text: string): OutboundParseResult {
  const read = readJsonObject(text);
  if (!read.ok) return read;
  const object = read.object;
  if (!Object.hasOwn(object, "response_type")) {
    const reading = checkEvent(OUTBOUND_SCHEMAS.response, {
      ...object,
      response_type: "response",
    });
    if (reading.ok) {
      return {
        ok: false,
        kind: "missing_response_type",
        reason:
          'Cannot read frame: "response_type" is missing, so Retell reads it as a response',
        issues: [],
        object,
        asResponse: reading.event,
      };
    }
    return {
      ok: false,
      kind: "missing_response_type",
      reason:
        `Cannot read frame: "response_type" is missing, and read as a response it is invalid: ${
          formatIssues(reading.issues)
        }`,
      issues: reading.issues,
      object,
    };
  }
  const type = object.response_type;
  if (typeof type !== "string") {
    return discriminatorNotString(object, "response_type");
  }
  if (!Object.hasOwn(OUTBOUND_SCHEMAS, type)) {
    const message = `unknown response_type ${JSON.stringify(type)}`;
    return {
      ok: false,
      kind: "unknown_type",
      reason: `Cannot read frame: ${message}`,
      issues: [{ path: ["response_type"], message }],
      object,
      responseType: type,
    };
  }
  const known = type as OutboundEvent["response_type"];
  const checked = checkEvent<OutboundEvent>(OUTBOUND_SCHEMAS[known], object);
  if (checked.ok) return checked;
  const reason = `Cannot read ${known} frame: ${formatIssues(checked.issues)}`;
  return { ...checked, reason, object, responseType: known };
}
