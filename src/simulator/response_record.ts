/**
 * The record of one response the simulated Retell asked for: what it said so
 * far, how fast, and where it stands; and how a request, a response frame,
 * an interrupt or the close moves it on. The conformance checker keeps one
 * per request. Section numbers refer to `PROTOCOL.md`.
 *
 * @module
 */
import {
  actionOfFlags,
  type CallAction,
  type ResponseActions,
  type ResponseEvent,
  withActionFlags,
} from "../protocol/outbound.ts";

/** Where a requested response stands. */
export type ResponseStatus =
  /** Requested; no frame under its id yet. */
  | "waiting"
  /** At least one frame arrived; not complete yet. */
  | "streaming"
  /** A frame with `content_complete: true` arrived. */
  | "complete"
  /**
   * A newer request was sent before it completed (the caller barged in), or
   * the server's `agent_interrupt` cancelled it (§4.3).
   */
  | "superseded"
  /** The socket closed before it completed. */
  | "closed";

/** One response the simulator asked for, as far as it has come. */
export interface ResponseRecord {
  /** The `response_id`; 0 is the begin message. */
  responseId: number;
  /** The begin message, an answer to the caller, or an answer to a reminder. */
  kind: "begin" | "response" | "reminder";
  /** The caller's line that prompted it, for `kind: "response"`. */
  said?: string;
  /** Text accepted under this id so far: the content Retell would speak. */
  text: string;
  /** Response frames accepted under this id. */
  frames: number;
  /** Ms from the request (or the socket opening, for the begin) to its first frame. */
  firstFrameMs: number | undefined;
  /** Ms from the request (or the socket opening) to its `content_complete: true` frame. */
  completeMs: number | undefined;
  /** Where it stands. */
  status: ResponseStatus;
  /** The action it carries, by Retell's precedence: end_call, then transfer, then digits. */
  action: CallAction | undefined;
}

/** A response while it is tracked: its record, when it was asked for, and its flags. */
export interface ResponseState extends ResponseRecord {
  /** When it was requested (or the socket opened, for the begin), on the checker's clock. */
  requestedAt: number;
  /** Action flags seen on its accepted frames. */
  flags: ResponseActions;
}

/**
 * A record of a response nothing has arrived for.
 *
 * @param responseId The `response_id`.
 * @param kind What asked for it.
 * @param status Where it stands.
 * @returns The record.
 */
export function emptyRecord(
  responseId: number,
  kind: ResponseRecord["kind"],
  status: ResponseStatus = "waiting",
): ResponseRecord {
  return {
    responseId,
    kind,
    text: "",
    frames: 0,
    firstFrameMs: undefined,
    completeMs: undefined,
    status,
    action: undefined,
  };
}

/**
 * Starts tracking a response that was just asked for.
 *
 * @param responseId The `response_id`.
 * @param kind What asked for it.
 * @param requestedAt When, on the checker's clock.
 * @param said The caller's line that prompted it, if any.
 * @returns The state, waiting.
 */
export function openResponse(
  responseId: number,
  kind: ResponseRecord["kind"],
  requestedAt: number,
  said: string | undefined,
): ResponseState {
  const state: ResponseState = {
    ...emptyRecord(responseId, kind),
    requestedAt,
    flags: {},
  };
  if (said !== undefined) state.said = said;
  return state;
}

/**
 * Whether a response still owes its completion: nothing or part of it has
 * arrived, and nothing has ended it.
 *
 * @param record The response.
 * @returns True while it is waiting or streaming.
 */
export function isOpen(record: ResponseRecord): boolean {
  return record.status === "waiting" || record.status === "streaming";
}

/**
 * Takes a frame Retell speaks into an open response: its text, its flags,
 * its first-frame time and, on `content_complete: true`, its completion
 * and the one action Retell runs for its flags (§5.6).
 *
 * @param state The response, open.
 * @param event The frame.
 * @param now The checker's clock now.
 */
export function addFrame(
  state: ResponseState,
  event: ResponseEvent,
  now: number,
): void {
  const elapsed = Math.round((now - state.requestedAt) * 10) / 10;
  state.frames++;
  state.firstFrameMs ??= elapsed;
  state.status = "streaming";
  state.text += event.content;
  const action = actionOfFlags(event);
  if (action !== undefined) state.flags = withActionFlags(state.flags, action);
  if (!event.content_complete) return;
  state.status = "complete";
  state.completeMs = elapsed;
  state.action = actionOfFlags(state.flags);
}

/**
 * A copy of a response's record, without the tracking fields.
 *
 * @param state The response.
 * @returns The record.
 */
export function snapshot(state: ResponseState): ResponseRecord {
  const record: ResponseRecord = {
    responseId: state.responseId,
    kind: state.kind,
    text: state.text,
    frames: state.frames,
    firstFrameMs: state.firstFrameMs,
    completeMs: state.completeMs,
    status: state.status,
    action: state.action,
  };
  if (state.said !== undefined) record.said = state.said;
  return record;
}
