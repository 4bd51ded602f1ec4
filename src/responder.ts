/**
 * The contract between a call session and whatever decides what the agent
 * says. A responder is two plain functions; it knows nothing about sockets,
 * frames or zod.
 *
 * @module
 */
import type { CallStore } from "./call_store/call_store.ts";
import type { CallSummary } from "./call_summary.ts";
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
  /**
   * Speaks now, unasked: an `agent_interrupt` with a fresh `interrupt_id`
   * (PROTOCOL.md §4.3, §5.5). It takes the floor: the response in flight
   * sends nothing more, and Retell drops what it had not yet spoken. A
   * newer request from Retell, a newer interrupt or the close stops it.
   * Actions in the stream (hang-up, transfer, digits) ride on its next
   * frame and run once its text has been spoken.
   *
   * @param reply The text, or a stream of text deltas and actions.
   * @param options Whether the caller may talk over it (by default not).
   * @returns How it ended; never rejects.
   */
  interrupt(
    reply: InterruptReply,
    options?: InterruptOptions,
  ): Promise<InterruptOutcome>;
  /**
   * Ends the call: `text` (if any) is spoken as an interrupt that the
   * caller cannot talk over, then Retell hangs up (§5.6). Usable from a
   * hook or a timer, outside any reply.
   *
   * @param text The goodbye; without it Retell hangs up at once.
   * @returns How the interrupt carrying the hang-up ended.
   */
  end(text?: string): Promise<InterruptOutcome>;
  /**
   * Cold-transfers the call to `number` once `text` (if any) has been
   * spoken, as an interrupt the caller cannot talk over (§5.6).
   *
   * @param number The destination, E.164.
   * @param text What the agent says first.
   * @returns How the interrupt carrying the transfer ended.
   */
  transfer(number: string, text?: string): Promise<InterruptOutcome>;
  /**
   * Changes agent settings for the rest of the call (`update_agent`,
   * §4.5). The values are checked first; nothing is sent when one is out
   * of range.
   *
   * @param update The settings to change; at least one.
   * @returns Whether it was sent, or which field is wrong.
   */
  updateAgent(update: AgentUpdate): CallHandleResult;
  /**
   * Sends `metadata` to a web call's frontend (§4.8); phone calls ignore it.
   *
   * @param metadata Any JSON-serialisable object.
   * @returns Whether it was sent, or why not.
   */
  setMetadata(metadata: Record<string, unknown>): CallHandleResult;
}

/**
 * Agent settings a call can change mid-call, as
 * {@linkcode CallContext.updateAgent} takes them (§4.5).
 */
export interface AgentUpdate {
  /** 0 to 1; lower waits longer before responding. */
  responsiveness?: number;
  /** 0 to 1; lower makes the caller need more words to interrupt; 0 never. */
  interruptionSensitivity?: number;
  /** Caller silence in ms after agent speech that triggers a reminder; above 0. */
  reminderTriggerMs?: number;
  /** Reminders per silence, a whole number; 0 turns them off. */
  reminderMaxCount?: number;
}

/** What {@linkcode CallContext.updateAgent} and `setMetadata` report. */
export type CallHandleResult =
  | {
    /** The event went out. */
    readonly ok: true;
  }
  | {
    /** Nothing was sent. */
    readonly ok: false;
    /** The field at fault, when one is. */
    readonly field?: string;
    /** Why, as "Cannot <do what>: <state>". */
    readonly reason: string;
  };

/** What an interrupt says: text, or a stream of text deltas and actions. */
export type InterruptReply = string | AsyncIterable<string | CallAction>;

/** Options of {@linkcode CallContext.interrupt}. */
export interface InterruptOptions {
  /**
   * Whether the caller cannot talk over it. Retell recommends true for
   * interrupts, or both parties talk at once (§4.3).
   *
   * @default {true}
   */
  noInterruptionAllowed?: boolean;
}

/** How an interrupt ended. */
export type InterruptOutcome =
  /** Every frame went out, the last one complete. */
  | "spoken"
  /** A newer request from Retell or a newer interrupt took the floor. */
  | "superseded"
  /** The call closed first. */
  | "closed"
  /** Its stream failed; what was sent is closed with an empty last frame. */
  | "failed";

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
    /**
     * The caller cannot interrupt the rest of this response: every frame
     * after this part carries `no_interruption_allowed` (§4.2, §5.3), for
     * a disclaimer or a figure the caller must hear.
     */
    type: "no_interruption_allowed";
  }
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
  /**
   * Runs when `call_details` arrives, before the begin message (which
   * waits for it, within the call-details timeout, when the call asks for
   * details). It may refuse the caller (`call.end("...")`: no begin
   * message then follows) or return dynamic variables, merged over the
   * call's own, which the begin message and every later turn see. A hook
   * that throws, rejects or runs past the hook timeout is logged
   * (`hook_failed`) and the call goes on. It runs on every socket of the
   * call that receives the details, so a reconnected call runs it again.
   */
  onCallDetails?(
    details: CallDetails,
    call: CallContext,
  ): CallDetailsResult | Promise<CallDetailsResult>;
  /**
   * Runs once the socket has closed, with the call's summary: for CRM
   * records and billing. It never delays the close; an error or a run
   * past the hook timeout is logged (`hook_failed`).
   */
  onCallEnded?(summary: CallSummary, call: CallContext): void | Promise<void>;
}

/** What {@linkcode Responder.onCallDetails} may return. */
export type CallDetailsResult = void | {
  /** Added to the call's `retell_llm_dynamic_variables`, winning over them. */
  readonly dynamicVariables?: Readonly<Record<string, string>>;
};

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
