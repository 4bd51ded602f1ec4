/**
 * The record of one response the simulated Retell asked for: what it said so
 * far, how fast, and where it stands.
 *
 * @module
 */
import type { CallAction } from "../protocol/outbound.ts";

/** Where a requested response stands. */
export type ResponseStatus =
  /** Requested; no frame under its id yet. */
  | "waiting"
  /** At least one frame arrived; not complete yet. */
  | "streaming"
  /** A frame with `content_complete: true` arrived. */
  | "complete"
  /** A newer request was sent before it completed (the caller barged in). */
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
