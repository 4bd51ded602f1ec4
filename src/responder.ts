/**
 * The contract between a call session and whatever decides what the agent
 * says. A responder is two plain functions; it knows nothing about sockets,
 * frames or zod.
 *
 * @module
 */
import type { CallStore } from "./call_store/call_store.ts";
import type {
  CallDetails,
  TranscriptItem,
  Utterance,
} from "./protocol/inbound.ts";
import type { CallAction } from "./protocol/outbound.ts";

/** What a responder knows about the call it serves. */
export interface CallContext {
  /** The call id: the last path segment of the socket URL. */
  readonly callId: string;
  /**
   * The call object from `call_details`, once Retell has sent it; on a
   * socket Retell reconnected, the one saved by an earlier socket of the
   * call until Retell sends it again.
   */
  readonly details: CallDetails | undefined;
  /**
   * Aborts when the call ends. Work that should outlive a superseded turn
   * but not the call (a tool with side effects) listens to this one.
   */
  readonly signal: AbortSignal;
  /**
   * What outlives this socket: the store every socket of the call shares,
   * on this instance or another, when the session has one. Work that must
   * happen at most once per call, whichever socket asks, claims it here
   * under {@linkcode CallContext.callId} (`claimToolRun`, then
   * `saveToolResult`), as the LLM responder does for tools. Its methods
   * can reject; a failure must not end the turn.
   */
  readonly store?: CallStore | undefined;
}

/** One request from Retell for the agent's next words. */
export interface Turn {
  /** The call. */
  readonly call: CallContext;
  /** The id the reply goes out under. */
  readonly responseId: number;
  /** `response` answers the caller; `reminder` checks in after the caller went quiet. */
  readonly kind: "response" | "reminder";
  /** The whole transcript so far, oldest first. */
  readonly transcript: readonly Utterance[];
  /** The transcript with tool calls woven in, when the call asked for it. */
  readonly transcriptWithToolCalls: readonly TranscriptItem[] | undefined;
}

/** Passed to every responder call. */
export interface ResponderOptions {
  /**
   * Aborts when the reply is no longer wanted: a newer `response_id` arrived,
   * the responder timed out, or the call closed. Pass it to `fetch` and stop
   * producing when it fires.
   */
  readonly signal: AbortSignal;
  /**
   * Records a moment of the turn, such as `"first_token"`, as milliseconds
   * since the request arrived, in the turn's `turn_finished` log line (as
   * `first_token_ms`) and its trace span. The first mark of a name counts.
   * `first_token` also feeds the `retell_model_first_token_seconds` metric
   * and the first-token summary of the call's `call_ended` line.
   */
  readonly mark: (name: string) => void;
  /**
   * Counts a failed model request in `retell_model_errors_total{kind}`. A
   * responder that calls a model reports each failed request here once;
   * the server always passes it.
   */
  readonly countModelError?: (kind: ModelErrorKind) => void;
  /**
   * Counts a model request in `retell_model_requests_total{role,outcome}`:
   * `primary` for the configured model, `fallback` for the one asked after
   * the primary failed before speaking. The server always passes it.
   */
  readonly countModelRequest?: (
    role: ModelRole,
    outcome: ModelRequestOutcome,
  ) => void;
}

/** Which model a request went to, as {@linkcode ResponderOptions.countModelRequest} is told. */
export type ModelRole = "primary" | "fallback";

/** How a model request ended: answered, failed, or cancelled with its turn. */
export type ModelRequestOutcome = "ok" | "failed" | "cancelled";

/**
 * Something a reply does besides speaking. Hang-up, transfer and digits ride
 * on the next response frame (sent after the text that follows them, or on
 * the final frame) and run once that text has been spoken (PROTOCOL.md §5.6).
 * Tool-call records go out at once, for Retell's transcript.
 */
export type ResponseAction =
  | CallAction
  | {
    /** A tool started. */
    type: "tool_call_invocation";
    /** Unique id, repeated on the result. */
    toolCallId: string;
    /** Tool name. */
    name: string;
    /** Arguments as stringified JSON. */
    arguments: string;
  }
  | {
    /** A tool finished. */
    type: "tool_call_result";
    /** Id of the invocation. */
    toolCallId: string;
    /** Result text. */
    content: string;
    /** Whether it worked; unknown when left out. */
    successful?: boolean;
  };

/** A piece of a streamed reply: text to speak, or an action. */
export type ResponsePart = string | ResponseAction;

/**
 * A reply: a whole string (sent as one complete frame), or a stream of text
 * deltas and actions (sent as they come, then a final complete frame).
 */
export type Reply = string | AsyncIterable<ResponsePart>;

/**
 * Decides what the agent says.
 *
 * @example A responder that repeats the caller
 * ```ts
 * import type { Responder } from "./responder.ts";
 *
 * export const echo: Responder = {
 *   begin: () => "Say something and I will repeat it.",
 *   async *respond(turn) {
 *     const last = turn.transcript.at(-1);
 *     yield last?.role === "user" ? `You said: ${last.content}` : "Are you there?";
 *   },
 * };
 * ```
 */
export interface Responder {
  /**
   * The begin message (`response_id` 0). An empty string means the caller
   * speaks first.
   */
  begin(call: CallContext, options: ResponderOptions): Reply | Promise<Reply>;
  /** The reply to one `response_required` or `reminder_required`. */
  respond(turn: Turn, options: ResponderOptions): Reply | Promise<Reply>;
  /**
   * Hold the begin message until `call_details` arrives (when the call asks
   * for it), so the greeting can use the caller's dynamic variables.
   *
   * @default {false}
   */
  readonly beginAfterCallDetails?: boolean;
}

/** Why a model request failed, as {@linkcode ResponderOptions.countModelError} is told. */
export type ModelErrorKind =
  /** The model server answered with an HTTP error status. */
  | "http"
  /** The model server could not be reached. */
  | "network"
  /** No first token within the first-token timeout. */
  | "first_token_timeout"
  /** The stream went silent past the stall timeout. */
  | "stall"
  /** The stream broke or could not be read. */
  | "stream";
