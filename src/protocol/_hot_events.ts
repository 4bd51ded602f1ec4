/**
 * A hand-written reading of the events Retell sends many times a call
 * (`update_only`, `response_required`, `reminder_required`, `ping_pong`):
 * the same checks as their zod schemas in `inbound.ts`, without building a
 * copy of every utterance of the transcript. It only ever accepts; a frame
 * it does not accept goes to the schema, which says why it fails.
 * `tests/protocol/inbound_fast_test.ts` holds it to the schemas with
 * generated valid and mutated frames.
 *
 * @module
 */
import type {
  InboundEvent,
  InteractionType,
  ReminderRequiredRequest,
  ResponseRequiredRequest,
  TranscriptItem,
  TranscriptWord,
  UpdateOnlyRequest,
  Utterance,
} from "./inbound.ts";

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * An object whose keys zod copies as they are: one with its own
 * `__proto__` key (JSON.parse makes one) is left to the schema.
 */
function isPlainObject(value: unknown): value is JsonObject {
  return isObject(value) && !Object.hasOwn(value, "__proto__");
}

function isOptionalString(value: unknown): boolean {
  return value === undefined || typeof value === "string";
}

function isOptionalNumber(value: unknown): boolean {
  return value === undefined || typeof value === "number";
}

/** A response id: a non-negative safe integer (§5.1). */
function isResponseId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * A word of `words`, as its schema reads it (unknown keys dropped), or
 * undefined when it is not one. The word itself when it has no other key.
 */
function readWord(value: unknown): TranscriptWord | undefined {
  if (!isObject(value)) return undefined;
  const { word, start, end } = value;
  if (
    !isOptionalString(word) || !isOptionalNumber(start) ||
    !isOptionalNumber(end)
  ) return undefined;
  for (const key in value) {
    if (key !== "word" && key !== "start" && key !== "end") {
      const copy: TranscriptWord = {};
      if (word !== undefined) copy.word = word as string;
      if (start !== undefined) copy.start = start as number;
      if (end !== undefined) copy.end = end as number;
      return copy;
    }
  }
  return value;
}

/** An utterance, or undefined; the utterance itself unless a word was trimmed. */
function readUtterance(value: unknown): Utterance | undefined {
  if (!isPlainObject(value)) return undefined;
  if (typeof value.role !== "string" || typeof value.content !== "string") {
    return undefined;
  }
  const words = value.words;
  if (words === undefined) return value as Utterance;
  if (!Array.isArray(words)) return undefined;
  let read: TranscriptWord[] | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = readWord(words[i]);
    if (word === undefined) return undefined;
    if (word !== words[i]) {
      read ??= words.slice();
      read[i] = word;
    }
  }
  return read === undefined
    ? value as Utterance
    : { ...value, words: read } as Utterance;
}

/** The transcript, or undefined when an utterance is malformed. */
function readTranscript(value: unknown): Utterance[] | undefined {
  if (!Array.isArray(value)) return undefined;
  let read: Utterance[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const utterance = readUtterance(value[i]);
    if (utterance === undefined) return undefined;
    if (utterance !== value[i]) {
      read ??= value.slice();
      read[i] = utterance;
    }
  }
  return read ?? value;
}

/** `transcript_with_tool_calls`: true when absent or well formed. */
function isToolCallTranscript(
  value: unknown,
): value is TranscriptItem[] | undefined {
  if (value === undefined) return true;
  if (!Array.isArray(value)) return false;
  for (const item of value) {
    if (!isPlainObject(item) || typeof item.role !== "string") return false;
  }
  return true;
}

/**
 * Reads a frame's object as its event when it is a valid event of a hot
 * type, with unknown top-level keys dropped as the schema drops them.
 *
 * @param type The frame's `interaction_type`, already known.
 * @param object The frame's object.
 * @returns The event, or undefined when the schema must decide.
 */
export function readHotEvent(
  type: InteractionType,
  object: JsonObject,
): InboundEvent | undefined {
  switch (type) {
    case "ping_pong": {
      const timestamp = object.timestamp;
      if (typeof timestamp !== "number") return undefined;
      return { interaction_type: type, timestamp };
    }
    case "update_only": {
      const transcript = readTranscript(object.transcript);
      const withToolCalls = object.transcript_with_tool_calls;
      const turntaking = object.turntaking;
      if (
        transcript === undefined || !isToolCallTranscript(withToolCalls) ||
        (turntaking !== undefined && turntaking !== "agent_turn" &&
          turntaking !== "user_turn")
      ) return undefined;
      const event: UpdateOnlyRequest = { interaction_type: type, transcript };
      if (withToolCalls !== undefined) {
        event.transcript_with_tool_calls = withToolCalls;
      }
      if (turntaking !== undefined) event.turntaking = turntaking;
      return event;
    }
    case "response_required":
    case "reminder_required": {
      const responseId = object.response_id;
      const transcript = readTranscript(object.transcript);
      const withToolCalls = object.transcript_with_tool_calls;
      if (
        !isResponseId(responseId) || transcript === undefined ||
        !isToolCallTranscript(withToolCalls)
      ) return undefined;
      const event: ResponseRequiredRequest | ReminderRequiredRequest = {
        interaction_type: type,
        response_id: responseId,
        transcript,
      };
      if (withToolCalls !== undefined) {
        event.transcript_with_tool_calls = withToolCalls;
      }
      return event;
    }
    case "call_details":
      // Once a call: the schema reads it.
      return undefined;
  }
}
