/**
 * A protocol referee for the Retell simulator: {@linkcode createConformanceChecker}
 * watches every frame a server sends on one call, plus the requests and
 * pings the simulator sent as Retell, and reports each protocol rule the
 * server breaks as a {@linkcode Violation} in plain words, citing the
 * `PROTOCOL.md` section it breaks.
 *
 * @module
 */
import { formatIssues, type Issue } from "../protocol/issues.ts";
import {
  type OutboundEvent,
  parseOutbound,
  type ResponseEvent,
} from "../protocol/outbound.ts";

/** A protocol rule the server broke. */
export interface Violation {
  /** Stable code. */
  code:
    | "not_json"
    | "not_event"
    | "missing_response_type"
    | "unknown_response_type"
    | "invalid_frame"
    | "binary_frame"
    | "config_not_first"
    | "no_begin"
    | "stale_response"
    | "after_complete"
    | "unrequested_response"
    | "never_completed"
    | "ping_late"
    | "ping_missing"
    | "ping_unknown"
    | "bad_close_code";
  /** The PROTOCOL.md section(s) it breaks, e.g. "§4.0". */
  rule: string;
  /** One plain-English sentence a user understands, naming the ids/values involved. */
  message: string;
  /** ms since the checker was created (the call opened). */
  at: number;
  /** The response id involved, when there is one. */
  responseId?: number;
}

/** Options of {@linkcode createConformanceChecker}. */
export interface ConformanceOptions {
  /** Echo deadline for a ping (Retell reconnects after 5 s), default 5000. */
  pingDeadlineMs?: number;
  /** How long after open the begin message (response_id 0) may take, default 5000. */
  beginDeadlineMs?: number;
  /** How long a requested response may stay open before "never completed", default 15000. */
  responseDeadlineMs?: number;
  /** Clock in ms, default performance.now; tests pass a fake. */
  now?: () => number;
}

/** What {@linkcode ConformanceChecker.receive} made of one frame. */
export interface ReceiveResult {
  /**
   * The valid event, or for a frame without response_type its reading as a
   * response (still usable), else undefined. A frame whose only fault is
   * `null` for optional fields, which Retell tolerates (§4.0), is reported
   * as `invalid_frame` and comes back without those fields.
   */
  event: OutboundEvent | undefined;
  /** Violations this frame caused (also appended to `violations`). */
  violations: Violation[];
}

/** The referee of one call; see {@linkcode createConformanceChecker}. */
export interface ConformanceChecker {
  /**
   * A frame from the server: a string (text frame) or anything else (binary
   * frame: ArrayBuffer, Uint8Array, Blob).
   *
   * @param data The frame's payload, as a WebSocket `message` event carries it.
   * @returns The event read from the frame and the violations it caused.
   */
  receive(data: unknown): ReceiveResult;
  /**
   * The simulator (as Retell) sent response_required / reminder_required with this id.
   *
   * @param responseId The id of the request.
   */
  requested(responseId: number): void;
  /**
   * The simulator sent a ping_pong with this timestamp.
   *
   * @param timestamp The timestamp of the ping.
   */
  pinged(timestamp: number): void;
  /**
   * Time-based rules that became due (late/missing ping echo, begin missing,
   * response open too long); each violation is reported once. Call it every
   * few hundred ms and before finishing.
   *
   * @returns The violations that became due since the last call.
   */
  check(): Violation[];
  /**
   * The socket closed; `byServer` is true when the server closed it. Returns
   * the final violations (server close code other than 1000 →
   * bad_close_code; the latest requested response still open and not
   * superseded → never_completed; pings never echoed → ping_missing; no
   * begin at all → no_begin).
   *
   * A ping sent less than `pingDeadlineMs` before the close is not counted
   * as missing: its deadline had not passed. Calls after the first return
   * an empty list.
   *
   * @param code The close code.
   * @param byServer Whether the server closed the socket.
   * @returns The violations the close revealed.
   */
  closed(code: number, byServer: boolean): Violation[];
  /** Every violation so far, in order. */
  readonly violations: readonly Violation[];
  /** The newest response_id requested (0 before any request: the begin message). */
  readonly latestRequested: number;
  /**
   * Ids whose response has completed.
   *
   * @param responseId The id to look up.
   * @returns Whether a response frame with `content_complete: true` was accepted for it.
   */
  isComplete(responseId: number): boolean;
}

type Code = Violation["code"];

/** The PROTOCOL.md sections each code breaks. */
const RULES: Readonly<Record<Code, string>> = {
  not_json: "§4.0, §6",
  not_event: "§1.4, §8.2",
  missing_response_type: "§4.0, §8.4",
  unknown_response_type: "§4, §4.0",
  invalid_frame: "§4.0, §8.9",
  binary_frame: "§1.4, §8.2",
  config_not_first: "§2, §8.3",
  no_begin: "§2, §8.3",
  stale_response: "§5.1, §8.7",
  after_complete: "§5.1, §8.7",
  unrequested_response: "§4.2, §5.1",
  never_completed: "§5.2, §8.6",
  ping_late: "§4.4, §5.7, §8.5",
  ping_missing: "§4.4, §5.7, §8.5",
  ping_unknown: "§4.4",
  bad_close_code: "§5.8, §8.12",
};

/** A ping the simulator sent that has not been echoed yet. */
interface Ping {
  timestamp: number;
  sentAt: number;
  /** Whether `ping_missing` was already reported for it. */
  missing: boolean;
}

/**
 * Creates the referee for one call. Feed it every frame the server sends
 * ({@linkcode ConformanceChecker.receive}), tell it what the simulator sent
 * as Retell ({@linkcode ConformanceChecker.requested},
 * {@linkcode ConformanceChecker.pinged}), call
 * {@linkcode ConformanceChecker.check} every few hundred ms and
 * {@linkcode ConformanceChecker.closed} when the socket closes.
 *
 * Frame rules (bad JSON, a missing `response_type`, wrong field types, a
 * binary frame) are reported for every frame, since each such frame is lost.
 * Response-id rules (stale, already complete, never requested) are reported
 * once per id, not once per streamed chunk. Time-based rules are reported
 * once each.
 *
 * @param options Deadlines and the clock.
 * @returns A checker whose clock starts now, when the call opened.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createConformanceChecker } from "./conformance.ts";
 *
 * const checker = createConformanceChecker();
 * checker.receive(
 *   '{"response_type":"response","response_id":0,"content":"Hi!","content_complete":true}',
 * );
 * checker.requested(1);
 * const { violations } = checker.receive(
 *   '{"response_type":"response","response_id":1,"content":"Sure.","content_complete":"true"}',
 * );
 * assert.deepEqual(violations.map((v) => v.code), ["invalid_frame"]);
 * assert.deepEqual(
 *   checker.closed(1000, false).map((v) => v.code),
 *   ["never_completed"],
 * );
 * ```
 */
export function createConformanceChecker(
  options: ConformanceOptions = {},
): ConformanceChecker {
  const pingDeadlineMs = options.pingDeadlineMs ?? 5000;
  const beginDeadlineMs = options.beginDeadlineMs ?? 5000;
  const responseDeadlineMs = options.responseDeadlineMs ?? 15000;
  const now = options.now ?? (() => performance.now());
  const openedAt = now();

  const violations: Violation[] = [];
  /** `code:id` of the response-id violations already reported. */
  const reported = new Set<string>();
  const completed = new Set<number>();
  /** Ids that received at least one accepted response frame. */
  const started = new Set<number>();
  /** When each id was requested; the begin message counts from the open. */
  const requestedAt = new Map<number, number>([[0, openedAt]]);
  /** Pings not echoed yet, oldest first. */
  const unanswered: Ping[] = [];
  /** Timestamps echoed at least once, to tell a duplicate from an unknown echo. */
  const echoed = new Set<number>();
  let latestRequested = 0;
  let framesReceived = 0;
  let beginSeen = false;
  let noBeginReported = false;
  let isClosed = false;

  function report(
    into: Violation[],
    code: Code,
    message: string,
    responseId?: number,
  ): void {
    const violation: Violation = {
      code,
      rule: RULES[code],
      message,
      at: now() - openedAt,
    };
    if (responseId !== undefined) violation.responseId = responseId;
    violations.push(violation);
    into.push(violation);
  }

  /** Reports a response-id rule unless it was already reported for this id. */
  function reportOnce(
    into: Violation[],
    code: Code,
    responseId: number,
    message: string,
  ): void {
    const key = `${code}:${responseId}`;
    if (reported.has(key)) return;
    reported.add(key);
    report(into, code, message, responseId);
  }

  function onResponse(into: Violation[], event: ResponseEvent): void {
    const id = event.response_id;
    if (id === 0) beginSeen = true;
    if (completed.has(id)) {
      reportOnce(
        into,
        "after_complete",
        id,
        id === 0
          ? "The begin message (response 0) was sent again after it was already complete (content_complete: true); Retell ignores it."
          : `Response ${id} was sent after response ${id} was already complete (content_complete: true); Retell ignores it.`,
      );
      return;
    }
    if (id > latestRequested) {
      reportOnce(
        into,
        "unrequested_response",
        id,
        latestRequested === 0
          ? `Response ${id} was sent, but Retell has not asked for any response yet; before the first request only the begin message (response_id 0) may be sent, and Retell drops the rest.`
          : `Response ${id} was sent, but Retell has only asked for responses up to ${latestRequested}; response_id must be the id of a request, so Retell drops it.`,
      );
      return;
    }
    if (id < latestRequested) {
      reportOnce(
        into,
        "stale_response",
        id,
        `${
          name(id, true)
        } was sent after Retell asked for response ${latestRequested}; Retell accepts content only for the latest request and drops it.`,
      );
      return;
    }
    started.add(id);
    if (event.content_complete) completed.add(id);
  }

  function onPingEcho(into: Violation[], timestamp: number): void {
    const index = unanswered.findIndex((p) => p.timestamp === timestamp);
    if (index === -1) {
      report(
        into,
        "ping_unknown",
        echoed.has(timestamp)
          ? `The server echoed the ping with timestamp ${timestamp} a second time; send exactly one ping_pong per ping.`
          : `The server sent a ping_pong with timestamp ${timestamp}, which matches no ping the simulator sent; echo Retell's timestamp unchanged.`,
      );
      return;
    }
    const [ping] = unanswered.splice(index, 1) as [Ping];
    echoed.add(timestamp);
    // Already reported as missing: a late arrival is not a second violation.
    if (ping.missing) return;
    const delay = now() - ping.sentAt;
    if (delay > pingDeadlineMs) {
      report(
        into,
        "ping_late",
        `The ping with timestamp ${timestamp} was echoed ${
          seconds(delay - pingDeadlineMs)
        } s late (${seconds(delay)} s after it was sent, deadline ${
          seconds(pingDeadlineMs)
        } s); Retell closes the socket and reconnects after 5 s without an echo.`,
      );
    }
  }

  /** Reports a frame Retell drops for a wrong, missing or unknown field. */
  function onInvalid(
    into: Violation[],
    object: Record<string, unknown>,
    responseType: string,
    issues: Issue[],
  ): void {
    const id = responseType === "response" &&
        Number.isSafeInteger(object.response_id)
      ? object.response_id as number
      : undefined;
    const flag = object.content_complete;
    const message = typeof flag === "string"
      ? `${
        id === undefined ? "A frame" : name(id, true)
      } has "content_complete": ${
        JSON.stringify(flag)
      }, a string instead of the JSON boolean ${
        flag === "false" ? "false" : "true"
      }, so Retell drops the whole frame${
        flag === "true" && id !== undefined
          ? " and the response does not complete"
          : ""
      } (${formatIssues(issues)}).`
      : `The server sent an invalid ${responseType} frame (${
        formatIssues(issues)
      }); Retell drops it silently.`;
    report(into, "invalid_frame", message, id);
  }

  function receive(data: unknown): ReceiveResult {
    const into: Violation[] = [];
    const framesBefore = framesReceived++;
    if (typeof data !== "string") {
      const size = byteSize(data);
      report(
        into,
        "binary_frame",
        `The server sent a binary frame${
          size === undefined ? "" : ` (${size} bytes)`
        }; Retell accepts only text frames and closes the socket with code 1007 (error_llm_websocket_corrupt_payload).`,
      );
      return { event: undefined, violations: into };
    }
    const result = parseOutbound(data);
    if (!result.ok) {
      switch (result.kind) {
        case "not_json":
          report(
            into,
            "not_json",
            `The server sent ${
              preview(data)
            }, which is not JSON; Retell logs "Error in parsing LLM websocket message" and drops it.`,
          );
          break;
        case "not_event":
          report(
            into,
            "not_event",
            result.object !== undefined
              ? `The server sent ${
                preview(data)
              }, whose "response_type" is not a string; Retell cannot read it and drops it.`
              : `The server sent ${
                preview(data)
              }, which is JSON but not an object; every frame must be one JSON object, so Retell drops it.`,
          );
          break;
        case "unknown_type":
          report(
            into,
            "unknown_response_type",
            `The server sent response_type ${
              JSON.stringify(result.responseType)
            }, which is not one Retell knows (config, response, agent_interrupt, ping_pong, update_agent, tool_call_invocation, tool_call_result, metadata); Retell drops it.`,
          );
          break;
        case "invalid":
          onInvalid(into, result.object, result.responseType, result.issues);
          break;
        case "null_optional": {
          const event = result.event;
          const fields = result.nullFields.map((key) => `"${key}"`).join(", ");
          report(
            into,
            "invalid_frame",
            `The server sent a ${event.response_type} frame with null for ${fields}; Retell tolerates null there in practice, but the documented form leaves an optional field out.`,
            event.response_type === "response" ? event.response_id : undefined,
          );
          dispatch(into, event, framesBefore);
          return { event, violations: into };
        }
        case "missing_response_type": {
          const reading = result.asResponse;
          report(
            into,
            "missing_response_type",
            reading === undefined
              ? `The server sent a frame without "response_type"; Retell reads such a frame as a response, and this one is not a valid response either (${
                formatIssues(result.issues)
              }), so it is dropped.`
              : `The server sent response ${reading.response_id} without "response_type"; Retell still reads it as a response (old protocol), but every frame must set "response_type".`,
            reading?.response_id,
          );
          if (reading !== undefined) onResponse(into, reading);
          return { event: reading, violations: into };
        }
      }
      return { event: undefined, violations: into };
    }
    dispatch(into, result.event, framesBefore);
    return { event: result.event, violations: into };
  }

  /** Applies the ordering, response-id and ping rules to a readable event. */
  function dispatch(
    into: Violation[],
    event: OutboundEvent,
    framesBefore: number,
  ): void {
    if (event.response_type === "config" && framesBefore > 0) {
      report(
        into,
        "config_not_first",
        `The server sent config after ${framesBefore} other frame${
          framesBefore === 1 ? "" : "s"
        }; config must be the first frame on the socket.`,
      );
    } else if (event.response_type === "response") {
      onResponse(into, event);
    } else if (event.response_type === "ping_pong") {
      onPingEcho(into, event.timestamp);
    }
  }

  /** Reports the latest response when it is still open; `atClose` ignores the deadline. */
  function checkOpenResponse(into: Violation[], atClose: boolean): void {
    const id = latestRequested;
    if (completed.has(id) || reported.has(`never_completed:${id}`)) return;
    // No begin at all is no_begin's business, not never_completed's.
    if (id === 0 && !started.has(0)) return;
    const age = now() - (requestedAt.get(id) ?? openedAt);
    if (!atClose && age <= responseDeadlineMs) return;
    const what = id === 0 ? "The begin message (response 0)" : `Response ${id}`;
    const since = id !== 0
      ? "the request"
      : atClose
      ? "it opened"
      : "the socket opening";
    const sent = started.has(id)
      ? "some content arrived but no frame had content_complete: true"
      : "no frame for it arrived";
    reportOnce(
      into,
      "never_completed",
      id,
      atClose
        ? `${what} was never completed: the socket closed ${
          seconds(age)
        } s after ${since} and ${sent}; the agent stays silent while Retell waits.`
        : `${what} was not completed within ${
          seconds(responseDeadlineMs)
        } s of ${since}: ${sent}, so the agent stays silent while Retell waits.`,
    );
  }

  function checkPings(into: Violation[]): void {
    const at = now();
    for (const ping of unanswered) {
      if (ping.missing || at - ping.sentAt <= pingDeadlineMs) continue;
      ping.missing = true;
      report(
        into,
        "ping_missing",
        `The ping with timestamp ${ping.timestamp} was not echoed within ${
          seconds(pingDeadlineMs)
        } s; Retell closes the socket and reconnects after 5 s without a ping_pong.`,
      );
    }
  }

  function checkBegin(into: Violation[], atClose: boolean): void {
    if (beginSeen || noBeginReported) return;
    const age = now() - openedAt;
    if (!atClose && age <= beginDeadlineMs) return;
    noBeginReported = true;
    report(
      into,
      "no_begin",
      atClose
        ? `The socket closed ${
          seconds(age)
        } s after it opened without the begin message (a response with response_id 0); Retell keeps the agent silent until it gets one.`
        : `No begin message (a response with response_id 0) arrived within ${
          seconds(beginDeadlineMs)
        } s of the socket opening; Retell keeps the agent silent until it gets one.`,
    );
  }

  function check(): Violation[] {
    const into: Violation[] = [];
    if (isClosed) return into;
    checkBegin(into, false);
    checkPings(into);
    checkOpenResponse(into, false);
    return into;
  }

  function closed(code: number, byServer: boolean): Violation[] {
    const into: Violation[] = [];
    if (isClosed) return into;
    isClosed = true;
    if (byServer && code !== 1000) {
      report(
        into,
        "bad_close_code",
        code === 1005
          ? "The server closed the socket without a status code (1005); Retell ends the call as an error (error_llm_websocket_open), and only 1000 means the agent hung up."
          : `The server closed the socket with code ${code}; Retell ends the call as an error (error_llm_websocket_runtime), and only 1000 means the agent hung up.`,
      );
    }
    checkBegin(into, true);
    checkOpenResponse(into, true);
    checkPings(into);
    return into;
  }

  return {
    receive,
    requested(responseId) {
      if (responseId <= latestRequested) return;
      latestRequested = responseId;
      requestedAt.set(responseId, now());
    },
    pinged(timestamp) {
      unanswered.push({ timestamp, sentAt: now(), missing: false });
    },
    check,
    closed,
    get violations() {
      return violations;
    },
    get latestRequested() {
      return latestRequested;
    },
    isComplete(responseId) {
      return completed.has(responseId);
    },
  };
}

/** "Response 3" or "response 3"; 0 is named as the begin message. */
function name(id: number, capital = false): string {
  if (id === 0) {
    return `${capital ? "The" : "the"} begin message (response 0)`;
  }
  return `${capital ? "Response" : "response"} ${id}`;
}

/** Milliseconds as seconds with at most one decimal: 5000 → "5", 4250 → "4.3". */
function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

/** A short quoted excerpt of a frame for a message. */
function preview(text: string): string {
  const limit = 60;
  return JSON.stringify(
    text.length > limit ? `${text.slice(0, limit)}…` : text,
  );
}

/** Size of a binary frame in bytes, when it can be told. */
function byteSize(data: unknown): number | undefined {
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (data instanceof Blob) return data.size;
  return undefined;
}
