/**
 * Events Retell sends to the server over the LLM WebSocket, and
 * {@linkcode parseInbound}, which turns one text frame into one of them
 * without throwing. Section numbers refer to `PROTOCOL.md`.
 *
 * @module
 */
import { z } from "zod";
import {
  checkEvent,
  discriminatorNotString,
  readJsonObject,
} from "./_json_frame.ts";
import { readHotEvent } from "./_hot_events.ts";
import { formatIssues, type ReadFailure } from "./issues.ts";

/** One word of an utterance with its timing in seconds of call audio (§3.5). */
export interface TranscriptWord {
  /** The word as transcribed. */
  word?: string;
  /** Start of the word, seconds from the start of the call. */
  start?: number;
  /** End of the word, seconds from the start of the call. */
  end?: number;
}

/**
 * Who spoke an utterance. Retell documents `agent` and `user`; its REST types
 * add `transfer_target` and its demos `system`. Every role other than `agent`
 * is the caller's side (§3.5).
 */
export type UtteranceRole =
  | "agent"
  | "user"
  | "transfer_target"
  | "system"
  // deno-lint-ignore ban-types -- keeps the known names as hints while accepting any string
  | (string & {});

/** One utterance of the live transcript (§3.5). Unknown keys are kept. */
export interface Utterance {
  /** Speaker of the utterance. */
  role: UtteranceRole;
  /** What was said; `(unintelligible audio)` when speech could not be transcribed. */
  content: string;
  /** Per-word timing, present on Retell's samples. */
  words?: TranscriptWord[];
  /** Fields Retell may add (a `metadata` key has been seen in its logs). */
  [key: string]: unknown;
}

/**
 * One item of `transcript_with_tool_calls` (§3.6): an utterance, or a record
 * of a tool call, node transition, DTMF digit and so on, told apart by `role`.
 */
export interface TranscriptItem {
  /** `agent`, `user`, `tool_call_invocation`, `tool_call_result`, `dtmf`, ... */
  role: string;
  /** The remaining fields of the item, which depend on `role`. */
  [key: string]: unknown;
}

/**
 * The call object sent in `call_details` (§3.2): the call as it stood when it
 * was set up. Only the fields this project reads are named; every other key
 * Retell sends is kept.
 */
export interface CallDetails {
  /** Id of the call, the same as the last path segment of the socket URL. */
  call_id?: string;
  /** Id of the Retell agent answering the call. */
  agent_id?: string;
  /** `"phone_call"` or `"web_call"`. */
  call_type?: string;
  /** `"inbound"` or `"outbound"`; phone calls only. */
  direction?: string;
  /** Caller number in E.164 form; phone calls only. */
  from_number?: string;
  /** Called number in E.164 form; phone calls only. */
  to_number?: string;
  /** Arbitrary metadata attached when the call was created. */
  metadata?: unknown;
  /** Values for `{{name}}` placeholders, set when the call was created. */
  retell_llm_dynamic_variables?: Record<string, string>;
  /** Every other field of Retell's call object. */
  [key: string]: unknown;
}

/** Keepalive from Retell, every 2 s when `auto_reconnect` is on (§3.1). */
export interface PingPongRequest {
  /** Discriminator. */
  interaction_type: "ping_pong";
  /** When Retell sent it, in ms since the Unix epoch; echo it back unchanged (§4.4). */
  timestamp: number;
}

/** The call object, sent once at the start when `config.call_details` is on (§3.2). */
export interface CallDetailsRequest {
  /** Discriminator. */
  interaction_type: "call_details";
  /** The call object. */
  call: CallDetails;
}

/** The transcript changed; no reply is expected and nothing is cancelled (§3.3). */
export interface UpdateOnlyRequest {
  /** Discriminator. */
  interaction_type: "update_only";
  /** The complete transcript of the call so far, oldest first. */
  transcript: Utterance[];
  /** Present when `config.transcript_with_tool_calls` is on. */
  transcript_with_tool_calls?: TranscriptItem[];
  /** Set when the turn passes to the user or the agent is about to speak. */
  turntaking?: "agent_turn" | "user_turn";
}

/** Retell asks for the agent's next utterance under `response_id` (§3.4). */
export interface ResponseRequiredRequest {
  /** Discriminator. */
  interaction_type: "response_required";
  /** Answer under exactly this id; a larger id supersedes it (§5.1). */
  response_id: number;
  /** The complete transcript of the call so far, oldest first. */
  transcript: Utterance[];
  /** Present when `config.transcript_with_tool_calls` is on. */
  transcript_with_tool_calls?: TranscriptItem[];
}

/** The caller has been silent; Retell asks for a check-in under `response_id` (§3.4, §5.4). */
export interface ReminderRequiredRequest {
  /** Discriminator. */
  interaction_type: "reminder_required";
  /** Answer under exactly this id; a larger id supersedes it (§5.1). */
  response_id: number;
  /** The complete transcript of the call so far, oldest first. */
  transcript: Utterance[];
  /** Present when `config.transcript_with_tool_calls` is on. */
  transcript_with_tool_calls?: TranscriptItem[];
}

/** Any event Retell sends, told apart by `interaction_type` (§3). */
export type InboundEvent =
  | PingPongRequest
  | CallDetailsRequest
  | UpdateOnlyRequest
  | ResponseRequiredRequest
  | ReminderRequiredRequest;

/** The `interaction_type` values this module knows. */
export type InteractionType = InboundEvent["interaction_type"];

/** Why a frame could not be turned into an {@linkcode InboundEvent}. */
export type InboundFailureKind =
  /** The text is not JSON. */
  | "not_json"
  /** The JSON is not an object with a string `interaction_type`. */
  | "not_event"
  /** A known `interaction_type` whose only fault is `null` for optional fields. */
  | "null_optional"
  /** A known `interaction_type` with a missing or wrongly typed field. */
  | "invalid";

/** Result of {@linkcode parseInbound}. */
export type InboundParseResult =
  | {
    /** The frame is a known event. */
    ok: true;
    /** The event, with unknown fields of the event itself dropped. */
    event: InboundEvent;
  }
  | ReadFailure<"unknown_type"> & {
    /** A well-formed event of a type Retell may add (§3): ignore it. */
    interactionType: string;
    /** The frame's object. */
    object: Record<string, unknown>;
  }
  | ReadFailure<"not_json">
  | ReadFailure<"not_event"> & {
    /** The frame's object; undefined when the JSON is not an object. */
    object: Record<string, unknown> | undefined;
  }
  | ReadFailure<"invalid"> & {
    /** The frame's object. */
    object: Record<string, unknown>;
    /** The frame's `interaction_type`. */
    interactionType: InteractionType;
  }
  | ReadFailure<"null_optional"> & {
    /** The frame's object. */
    object: Record<string, unknown>;
    /** The frame's `interaction_type`. */
    interactionType: InteractionType;
    /** The frame read without its null fields. */
    event: InboundEvent;
    /** The top-level keys whose value is null. */
    nullFields: string[];
  };

const word = z.object({
  word: z.string().optional(),
  start: z.number().optional(),
  end: z.number().optional(),
}) satisfies z.ZodType<TranscriptWord>;

const utterance = z.looseObject({
  role: z.string(),
  content: z.string(),
  words: z.array(word).optional(),
}) satisfies z.ZodType<Utterance>;

const transcriptItem = z.looseObject({
  role: z.string(),
}) satisfies z.ZodType<TranscriptItem>;

const callDetails = z.looseObject({
  call_id: z.string().optional(),
  agent_id: z.string().optional(),
  call_type: z.string().optional(),
  direction: z.string().optional(),
  from_number: z.string().optional(),
  to_number: z.string().optional(),
  metadata: z.unknown().optional(),
  retell_llm_dynamic_variables: z.record(z.string(), z.string()).optional(),
}) satisfies z.ZodType<CallDetails>;

const transcript = z.array(utterance);
const transcriptWithToolCalls = z.array(transcriptItem).optional();
// A response id is an auto-incrementing integer; 0 is the begin message (§5.1).
const responseId = z.number().int().nonnegative();

const schemas = {
  ping_pong: z.object({
    interaction_type: z.literal("ping_pong"),
    timestamp: z.number(),
  }) satisfies z.ZodType<PingPongRequest>,
  call_details: z.object({
    interaction_type: z.literal("call_details"),
    call: callDetails,
  }) satisfies z.ZodType<CallDetailsRequest>,
  update_only: z.object({
    interaction_type: z.literal("update_only"),
    transcript,
    transcript_with_tool_calls: transcriptWithToolCalls,
    turntaking: z.enum(["agent_turn", "user_turn"]).optional(),
  }) satisfies z.ZodType<UpdateOnlyRequest>,
  response_required: z.object({
    interaction_type: z.literal("response_required"),
    response_id: responseId,
    transcript,
    transcript_with_tool_calls: transcriptWithToolCalls,
  }) satisfies z.ZodType<ResponseRequiredRequest>,
  reminder_required: z.object({
    interaction_type: z.literal("reminder_required"),
    response_id: responseId,
    transcript,
    transcript_with_tool_calls: transcriptWithToolCalls,
  }) satisfies z.ZodType<ReminderRequiredRequest>,
} as const satisfies Record<InteractionType, z.ZodType<InboundEvent>>;

function isKnownType(type: string): type is InteractionType {
  return Object.hasOwn(schemas, type);
}

/**
 * Turns one text frame from Retell into a typed event. Never throws: bad
 * input comes back as a result with a `kind`, a one-line `reason`, the
 * `issues` as data and, once the frame is a JSON object, the `object`.
 *
 * Unknown fields, `words` arrays, roles other than agent/user and a stray
 * `timestamp` on request events are accepted (§3.5, §8.11); an event whose
 * `interaction_type` is unknown comes back as `unknown_type`, to be ignored.
 *
 * @param text The frame's payload.
 * @returns The event, or what is wrong with the frame.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseInbound } from "./inbound.ts";
 *
 * const result = parseInbound(
 *   '{"interaction_type":"response_required","response_id":1,"transcript":[]}',
 * );
 * assert.ok(result.ok && result.event.interaction_type === "response_required");
 * assert.equal(parseInbound("{").ok, false);
 * ```
 */
export function parseInbound(text: string): InboundParseResult {
  return readInbound(text, true);
}

/**
 * Reads a frame as {@linkcode parseInbound} does, with the zod schemas
 * only: the reference reading. `parseInbound` takes a hand-written path for
 * the events Retell sends every turn and must return the same result; the
 * property tests hold it to this function.
 *
 * @param text The frame's payload.
 * @returns The event, or what is wrong with the frame.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseInbound, parseInboundStrict } from "./inbound.ts";
 *
 * const text = '{"interaction_type":"update_only","transcript":[]}';
 * assert.deepEqual(parseInboundStrict(text), parseInbound(text));
 * ```
 */
export function parseInboundStrict(text: string): InboundParseResult {
  return readInbound(text, false);
}

function readInbound(text: string, fast: boolean): InboundParseResult {
  const read = readJsonObject(text);
  if (!read.ok) return read;
  const object = read.object;
  const type = object.interaction_type;
  if (typeof type !== "string") {
    return discriminatorNotString(object, "interaction_type");
  }
  if (!isKnownType(type)) {
    return {
      ok: false,
      kind: "unknown_type",
      interactionType: type,
      reason: `Cannot read frame: unknown interaction_type "${type}"`,
      issues: [{
        path: ["interaction_type"],
        message: `unknown interaction_type "${type}"`,
      }],
      object,
    };
  }
  if (fast) {
    const event = readHotEvent(type, object);
    if (event !== undefined) return { ok: true, event };
  }
  const checked = checkEvent<InboundEvent>(schemas[type], object);
  if (checked.ok) return checked;
  const reason = `Cannot read ${type} frame: ${formatIssues(checked.issues)}`;
  return { ...checked, reason, object, interactionType: type };
}
