/**
 * A protocol referee for the Retell simulator, and the one owner of the
 * protocol state of a simulated call. {@linkcode createConformanceChecker}
 * is fed every event of one call, what the simulator sent as Retell and
 * every frame the server sent, and keeps what follows from them: the
 * requests and where each response stands, the pings not yet echoed, the
 * interrupt being spoken. It reports each protocol rule the server breaks
 * as a {@linkcode Violation} in plain words, citing the `PROTOCOL.md`
 * section it breaks.
 *
 * @module
 */
import type { InboundEvent } from "../protocol/inbound.ts";
import {
  actionOfFlags,
  type AgentInterruptEvent,
  type CallAction,
  type OutboundEvent,
  type ResponseActions,
  type ResponseEvent,
  withActionFlags,
} from "../protocol/outbound.ts";
import {
  type OutboundParseResult,
  parseOutbound,
} from "../protocol/outbound_parse.ts";
import { binaryFrameFault, textFrameFault } from "./_frame_rules.ts";
import { createPingLedger, type PingLedger } from "./_ping_rules.ts";
import { seconds } from "./_wording.ts";
import {
  createResponseLedger,
  type ResponseLedger,
} from "./_response_rules.ts";
import type { ResponseRecord } from "./response_record.ts";
import { type Fault, toViolation, type Violation } from "./violation.ts";

/** Options of {@linkcode createConformanceChecker}. */
export interface ConformanceOptions {
  /** Echo deadline for a ping (Retell reconnects after 5 s), default 5000. */
  pingDeadlineMs?: number;
  /** How long after open the begin message (response_id 0) may take, default 5000. */
  beginDeadlineMs?: number;
  /**
   * The socket continues a call Retell reconnected (§5.7, §11): no begin
   * message is expected, and one that comes is `begin_repeated`, since the
   * caller would hear the greeting again mid-call. Default false.
   */
  reconnected?: boolean;
  /** How long a requested response may stay open before "never completed", default 15000. */
  responseDeadlineMs?: number;
  /**
   * Frames under an older id that arrive right after a newer request was
   * sent were already on their way, and Retell would drop them without
   * blaming the server. They count as stale only once the server has sent
   * a frame under the newer id, or this long after the request. Default 500.
   */
  inFlightGraceMs?: number;
  /** Clock in ms, default performance.now; tests pass a fake. */
  now?: () => number;
}

/** What Retell does with a frame, besides reporting the rules it breaks. */
export type FrameOutcome =
  | {
    /** Retell speaks the frame's content as part of the latest response. */
    type: "spoken";
    /** The frame's content. */
    content: string;
    /** The response after the frame; `status` is `complete` on its last frame. */
    response: ResponseRecord;
  }
  | {
    /** An `agent_interrupt` chunk, spoken at once (§4.3). */
    type: "interrupt";
    /** The server's interrupt id; a new one discards earlier interrupt content. */
    interruptId: number;
    /** The chunk's content. */
    content: string;
    /** The interrupt's text so far, under this id. */
    text: string;
    /** Whether this is the interrupt's last chunk. */
    complete: boolean;
    /** On the last chunk, the action its flags ask for (§5.6). */
    action: CallAction | undefined;
    /** The response the interrupt cancelled, when one was still open. */
    cancelled: ResponseRecord | undefined;
  }
  | {
    /** The echo of a ping the simulator sent (§4.4). */
    type: "echo";
    /** The ping's timestamp. */
    timestamp: number;
    /** Ms from sending the ping to its echo. */
    rttMs: number;
  };

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
  /** What Retell does with the frame; undefined when the event says it all. */
  outcome: FrameOutcome | undefined;
}

/** The referee and protocol state of one call; see {@linkcode createConformanceChecker}. */
export interface ConformanceChecker {
  /**
   * The simulator, as Retell, sent this event. A `response_required` or
   * `reminder_required` with a newer id opens a response and supersedes the
   * one still open; a `ping_pong` starts its echo deadline.
   *
   * @param event The event, as sent.
   * @returns The response a new request superseded, if one was still open.
   */
  sent(event: InboundEvent): ResponseRecord | undefined;
  /**
   * A frame from the server: a string (text frame) or anything else (binary
   * frame: ArrayBuffer, Uint8Array, Blob).
   *
   * @param data The frame's payload, as a WebSocket `message` event carries it.
   * @returns The event read from the frame, the violations it caused and what Retell does with it.
   */
  receive(data: unknown): ReceiveResult;
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
   * bad_close_code, except 1006, a drop without a close frame, which Retell
   * reconnects rather than ending the call; the latest response still open
   * → never_completed;
   * pings never echoed → ping_missing; no begin at all → no_begin), and
   * marks every open response `closed`.
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
  /** The newest response id requested (0 before any request: the begin message). */
  readonly latestResponseId: number;
  /**
   * A snapshot of one response.
   *
   * @param responseId The id.
   * @returns The response, or undefined when it was never requested.
   */
  response(responseId: number): ResponseRecord | undefined;
}

/** Everything the checker knows about its call. */
interface CheckerState {
  now: () => number;
  openedAt: number;
  beginDeadlineMs: number;
  violations: Violation[];
  /** The requests and where each response stands. */
  responses: ResponseLedger;
  /** The pings sent and not echoed yet. */
  pings: PingLedger;
  /** The interrupt being spoken: its id, text so far and action flags. */
  interrupt: { id: number; text: string; flags: ResponseActions };
  framesReceived: number;
  beginSeen: boolean;
  noBeginReported: boolean;
  reconnected: boolean;
  beginRepeatedReported: boolean;
  isClosed: boolean;
}

/**
 * Creates the referee for one call. Feed it every event: what the
 * simulator sends as Retell ({@linkcode ConformanceChecker.sent}) and every
 * frame the server sends ({@linkcode ConformanceChecker.receive}); call
 * {@linkcode ConformanceChecker.check} every few hundred ms and
 * {@linkcode ConformanceChecker.closed} when the socket closes. Read the
 * state of the call from it ({@linkcode ConformanceChecker.response}).
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
 * checker.sent({ interaction_type: "response_required", response_id: 1, transcript: [] });
 * const { violations } = checker.receive(
 *   '{"response_type":"response","response_id":1,"content":"Sure.","content_complete":"true"}',
 * );
 * assert.deepEqual(violations.map((v) => v.code), ["invalid_frame"]);
 * assert.deepEqual(
 *   checker.closed(1000, false).map((v) => v.code),
 *   ["never_completed"],
 * );
 * assert.equal(checker.response(1)?.status, "closed");
 * ```
 */
export function createConformanceChecker(
  options: ConformanceOptions = {},
): ConformanceChecker {
  const now = options.now ?? (() => performance.now());
  const state: CheckerState = {
    now,
    openedAt: now(),
    beginDeadlineMs: options.beginDeadlineMs ?? 5000,
    violations: [],
    responses: createResponseLedger({
      responseDeadlineMs: options.responseDeadlineMs ?? 15000,
      inFlightGraceMs: options.inFlightGraceMs ?? 500,
      now,
    }),
    pings: createPingLedger(options.pingDeadlineMs ?? 5000, now),
    interrupt: { id: -1, text: "", flags: {} },
    framesReceived: 0,
    beginSeen: false,
    noBeginReported: false,
    reconnected: options.reconnected ?? false,
    beginRepeatedReported: false,
    isClosed: false,
  };
  return {
    sent(event) {
      switch (event.interaction_type) {
        case "ping_pong":
          state.pings.sent(event.timestamp);
          return undefined;
        case "response_required":
        case "reminder_required":
          return state.responses.requested(event);
        default:
          return undefined;
      }
    },
    receive: (data) => receive(state, data),
    check: () => check(state),
    closed: (code, byServer) => closed(state, code, byServer),
    get violations() {
      return state.violations;
    },
    get latestResponseId() {
      return state.responses.latest;
    },
    response: (responseId) => state.responses.response(responseId),
  };
}

function report(state: CheckerState, into: Violation[], fault: Fault): void {
  const violation = toViolation(fault, state.now() - state.openedAt);
  state.violations.push(violation);
  into.push(violation);
}

function receive(state: CheckerState, data: unknown): ReceiveResult {
  const into: Violation[] = [];
  const framesBefore = state.framesReceived++;
  if (typeof data !== "string") {
    report(state, into, binaryFrameFault(data));
    return { event: undefined, violations: into, outcome: undefined };
  }
  const result = parseOutbound(data);
  state.responses.heard(responseIdOf(result));
  if (!result.ok) report(state, into, textFrameFault(data, result));
  const event = result.ok
    ? result.event
    : result.kind === "null_optional"
    ? result.event
    : result.kind === "missing_response_type"
    ? result.asResponse
    : undefined;
  const outcome = event === undefined
    ? undefined
    : onEvent(state, into, event, framesBefore);
  return { event, violations: into, outcome };
}

/** Applies the ordering, response-id and ping rules to an event Retell reads. */
function onEvent(
  state: CheckerState,
  into: Violation[],
  event: OutboundEvent,
  framesBefore: number,
): FrameOutcome | undefined {
  switch (event.response_type) {
    case "config":
      if (framesBefore > 0) {
        report(state, into, {
          code: "config_not_first",
          message: `The server sent config after ${framesBefore} other frame${
            framesBefore === 1 ? "" : "s"
          }; config must be the first frame on the socket.`,
        });
      }
      return undefined;
    case "response":
      return onResponse(state, into, event);
    case "agent_interrupt":
      return onInterrupt(state, event);
    case "ping_pong":
      return onPingEcho(state, into, event.timestamp);
    default:
      return undefined;
  }
}

function onResponse(
  state: CheckerState,
  into: Violation[],
  event: ResponseEvent,
): FrameOutcome | undefined {
  if (event.response_id === 0) {
    state.beginSeen = true;
    if (state.reconnected && !state.beginRepeatedReported) {
      state.beginRepeatedReported = true;
      report(state, into, {
        code: "begin_repeated",
        message:
          "The server sent a begin message (response 0) on a socket Retell reconnected; the call was already greeted, so the caller hears the greeting again mid-call.",
        responseId: 0,
      });
    }
  }
  const { fault, spoken } = state.responses.frame(event);
  if (fault !== undefined) report(state, into, fault);
  if (spoken === undefined) return undefined;
  return { type: "spoken", content: event.content, response: spoken };
}

/** An interrupt is spoken at once and cancels the response in flight (§4.3). */
function onInterrupt(
  state: CheckerState,
  event: AgentInterruptEvent,
): FrameOutcome {
  const cancelled = state.responses.interrupted();
  if (event.interrupt_id !== state.interrupt.id) {
    // A new interrupt id discards earlier interrupt content (§4.3).
    state.interrupt = { id: event.interrupt_id, text: "", flags: {} };
  }
  const interrupt = state.interrupt;
  const flagged = actionOfFlags(event);
  if (flagged !== undefined) {
    interrupt.flags = withActionFlags(interrupt.flags, flagged);
  }
  interrupt.text += event.content;
  let action: CallAction | undefined;
  if (event.content_complete) {
    action = actionOfFlags(interrupt.flags);
    interrupt.flags = {};
  }
  return {
    type: "interrupt",
    interruptId: interrupt.id,
    content: event.content,
    text: interrupt.text,
    complete: event.content_complete,
    action,
    cancelled,
  };
}

function onPingEcho(
  state: CheckerState,
  into: Violation[],
  timestamp: number,
): FrameOutcome | undefined {
  const { rttMs, fault } = state.pings.echoed(timestamp);
  if (fault !== undefined) report(state, into, fault);
  return rttMs === undefined ? undefined : { type: "echo", timestamp, rttMs };
}

/** Reports the latest response when it is still open; `atClose` ignores the deadline. */
function checkOpenResponse(
  state: CheckerState,
  into: Violation[],
  atClose: boolean,
): void {
  const fault = state.responses.due(atClose);
  if (fault !== undefined) report(state, into, fault);
}

function checkPings(state: CheckerState, into: Violation[]): void {
  for (const fault of state.pings.due()) report(state, into, fault);
}

function checkBegin(
  state: CheckerState,
  into: Violation[],
  atClose: boolean,
): void {
  if (state.beginSeen || state.noBeginReported || state.reconnected) return;
  const age = state.now() - state.openedAt;
  if (!atClose && age <= state.beginDeadlineMs) return;
  state.noBeginReported = true;
  report(state, into, {
    code: "no_begin",
    message: atClose
      ? `The socket closed ${
        seconds(age)
      } s after it opened without the begin message (a response with response_id 0); Retell keeps the agent silent until it gets one.`
      : `No begin message (a response with response_id 0) arrived within ${
        seconds(state.beginDeadlineMs)
      } s of the socket opening; Retell keeps the agent silent until it gets one.`,
  });
}

function check(state: CheckerState): Violation[] {
  const into: Violation[] = [];
  if (state.isClosed) return into;
  checkBegin(state, into, false);
  checkPings(state, into);
  checkOpenResponse(state, into, false);
  return into;
}

function closed(
  state: CheckerState,
  code: number,
  byServer: boolean,
): Violation[] {
  const into: Violation[] = [];
  if (state.isClosed) return into;
  state.isClosed = true;
  // 1006 is no close frame at all (the process exited, the network
  // failed): Retell reconnects (§5.7), so it is not the server's close.
  if (byServer && code !== 1000 && code !== 1006) {
    report(state, into, {
      code: "bad_close_code",
      message: code === 1005
        ? "The server closed the socket without a status code (1005); Retell ends the call as an error (error_llm_websocket_open), and only 1000 means the agent hung up."
        : `The server closed the socket with code ${code}; Retell ends the call as an error (error_llm_websocket_runtime), and only 1000 means the agent hung up.`,
    });
  }
  checkBegin(state, into, true);
  checkOpenResponse(state, into, true);
  checkPings(state, into);
  state.responses.close();
  return into;
}

/** The response id of a frame that reads as a response, with or without response_type. */
function responseIdOf(result: OutboundParseResult): number | undefined {
  if (result.ok) {
    return result.event.response_type === "response"
      ? result.event.response_id
      : undefined;
  }
  const object = "object" in result ? result.object : undefined;
  if (object === undefined) return undefined;
  const type = object.response_type;
  if (type !== undefined && type !== "response") return undefined;
  return typeof object.response_id === "number"
    ? object.response_id
    : undefined;
}
