/**
 * Events the server sends to Retell, the functions that build them,
 * {@linkcode encodeOutbound}, which validates an event before it goes on the
 * wire, and the mapping of a {@linkcode CallAction} to its wire flags, both
 * ways. `parseOutbound` (in `outbound_parse.ts`) checks a frame a server sent
 * against the same rules. Section numbers refer to `PROTOCOL.md`.
 *
 * Retell drops a malformed event silently (§4.0), so every outbound event is
 * checked against a strict schema: a wrong JSON type or a misspelled key is
 * our bug, caught here instead of becoming a silent agent.
 *
 * @module
 */
import { describeError } from "../log.ts";
import { isValidHotOutbound } from "./_hot_outbound.ts";
import { OUTBOUND_SCHEMAS } from "./_outbound_schemas.ts";
import { formatIssues, toIssues } from "./issues.ts";

/** Call settings sent first on every socket (§4.1); each defaults to off at Retell. */
export interface CallConfig {
  /** Turn on the 2 s `ping_pong` keepalive and reconnection after 5 s without an echo. */
  auto_reconnect?: boolean;
  /** Ask Retell to send the `call_details` event right away. */
  call_details?: boolean;
  /** Ask Retell to add `transcript_with_tool_calls` to transcript events. */
  transcript_with_tool_calls?: boolean;
}

/** The optional first event: call settings (§4.1). */
export interface ConfigEvent {
  /** Discriminator. */
  response_type: "config";
  /** The settings. */
  config: CallConfig;
}

/** Actions Retell carries out after the content of a response is fully spoken (§5.6). */
export interface ResponseActions {
  /** Caller cannot interrupt this content (§4.2). */
  no_interruption_allowed?: boolean;
  /** Hang up once the content has been spoken; wins over the other actions. */
  end_call?: boolean;
  /** Cold-transfer to this number once the content has been spoken. */
  transfer_number?: string;
  /** On transfer, show the original caller's number to the destination. */
  show_transferee_as_caller?: boolean;
  /** Press these DTMF digits once the content has been spoken. */
  digit_to_press?: string;
}

/**
 * An action that rides on a response and runs once its content has been
 * spoken (§5.6): hang up, cold-transfer, or press digits. The one vocabulary
 * for it on both sides: responders produce it, the simulator reads it back.
 */
export type CallAction =
  | {
    /** Hang up after the content has been spoken. */
    type: "end_call";
  }
  | {
    /** Cold-transfer after the content has been spoken. */
    type: "transfer_call";
    /** Destination number, E.164. */
    number: string;
    /** Show the original caller's number to the destination. */
    showTransfereeAsCaller?: boolean;
  }
  | {
    /** Press DTMF digits after the content has been spoken. */
    type: "press_digit";
    /** The digits. */
    digits: string;
  };

/**
 * Adds an action's wire flags to those already gathered for a response: the
 * one place where {@linkcode CallAction} becomes {@linkcode ResponseActions}.
 * {@linkcode actionOfFlags} is the inverse.
 *
 * @param flags The flags so far (not changed).
 * @param action The action to add.
 * @returns A new set of flags.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { withActionFlags } from "./outbound.ts";
 *
 * assert.deepEqual(
 *   withActionFlags({}, { type: "transfer_call", number: "+14155550100" }),
 *   { transfer_number: "+14155550100" },
 * );
 * ```
 */
export function withActionFlags(
  flags: ResponseActions,
  action: CallAction,
): ResponseActions {
  switch (action.type) {
    case "end_call":
      return { ...flags, end_call: true };
    case "transfer_call":
      return action.showTransfereeAsCaller === undefined
        ? { ...flags, transfer_number: action.number }
        : {
          ...flags,
          transfer_number: action.number,
          show_transferee_as_caller: action.showTransfereeAsCaller,
        };
    case "press_digit":
      return { ...flags, digit_to_press: action.digits };
  }
}

/**
 * The one action Retell runs for a response's flags, by its precedence
 * `end_call` > transfer > digits (§5.6): the inverse of
 * {@linkcode withActionFlags}.
 *
 * @param flags Flags gathered over a response's frames.
 * @returns The action, or undefined when the flags name none.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { actionOfFlags } from "./outbound.ts";
 *
 * assert.deepEqual(
 *   actionOfFlags({ end_call: true, digit_to_press: "1" }),
 *   { type: "end_call" },
 * );
 * assert.equal(actionOfFlags({}), undefined);
 * ```
 */
export function actionOfFlags(flags: ResponseActions): CallAction | undefined {
  if (flags.end_call === true) return { type: "end_call" };
  if (flags.transfer_number !== undefined) {
    const action: CallAction = {
      type: "transfer_call",
      number: flags.transfer_number,
    };
    if (flags.show_transferee_as_caller !== undefined) {
      action.showTransfereeAsCaller = flags.show_transferee_as_caller;
    }
    return action;
  }
  if (flags.digit_to_press !== undefined) {
    return { type: "press_digit", digits: flags.digit_to_press };
  }
  return undefined;
}

/** A piece of the agent's reply under a `response_id` (§4.2, §5.2). */
export interface ResponseEvent extends ResponseActions {
  /** Discriminator; Retell treats an event without one as a response (§4.0). */
  response_type: "response";
  /** The request answered; 0 is the begin message. */
  response_id: number;
  /** A delta appended to what was already sent under this id; may be empty. */
  content: string;
  /** True only on the last event of the response. */
  content_complete: boolean;
}

/** Makes the agent speak now, cutting in on whoever is talking (§4.3, §5.5). */
export interface AgentInterruptEvent extends ResponseActions {
  /** Discriminator. */
  response_type: "agent_interrupt";
  /** Groups chunks of one interrupt; a new id discards earlier interrupt content. */
  interrupt_id: number;
  /** A delta of the interrupt's text. */
  content: string;
  /** True on the last chunk. */
  content_complete: boolean;
}

/** Echo of Retell's keepalive (§4.4). */
export interface PingPongEvent {
  /** Discriminator. */
  response_type: "ping_pong";
  /** The timestamp received from Retell, unchanged. */
  timestamp: number;
}

/** Agent settings that can change mid-call (§4.5). */
export interface AgentConfigUpdate {
  /** 0 to 1; lower waits longer before responding. */
  responsiveness?: number;
  /** 0 to 1; lower makes the caller need more words to interrupt. */
  interruption_sensitivity?: number;
  /** Caller silence in ms after agent speech that triggers a reminder. */
  reminder_trigger_ms?: number;
  /** Reminders per silence; 0 turns them off. */
  reminder_max_count?: number;
}

/** Changes agent settings mid-call (§4.5). */
export interface UpdateAgentEvent {
  /** Discriminator. */
  response_type: "update_agent";
  /** The settings to change. */
  agent_config: AgentConfigUpdate;
}

/** Records that a tool started, for Retell's transcript (§4.6). */
export interface ToolCallInvocationEvent {
  /** Discriminator. */
  response_type: "tool_call_invocation";
  /** Globally unique id, repeated on the result. */
  tool_call_id: string;
  /** Function name. */
  name: string;
  /** The arguments as stringified JSON. */
  arguments: string;
}

/** Records a tool's result, for Retell's transcript (§4.7). */
export interface ToolCallResultEvent {
  /** Discriminator. */
  response_type: "tool_call_result";
  /** Id of the matching invocation. */
  tool_call_id: string;
  /** Result text; stringify structured results. */
  content: string;
  /** Outcome; omitted means "not reported". */
  successful?: boolean;
}

/** Arbitrary JSON forwarded to a web call's frontend (§4.8). */
export interface MetadataEvent {
  /** Discriminator. */
  response_type: "metadata";
  /** Any JSON-serialisable object. */
  metadata: Record<string, unknown>;
}

/** Any event the server sends, told apart by `response_type` (§4). */
export type OutboundEvent =
  | ConfigEvent
  | ResponseEvent
  | AgentInterruptEvent
  | PingPongEvent
  | UpdateAgentEvent
  | ToolCallInvocationEvent
  | ToolCallResultEvent
  | MetadataEvent;

/** Result of {@linkcode encodeOutbound}. */
export type EncodeResult =
  | {
    /** The event is valid. */
    ok: true;
    /** The JSON text to send as one text frame. */
    text: string;
  }
  | {
    /** The event breaks the protocol and must not be sent. */
    ok: false;
    /** One line naming every wrong field. */
    reason: string;
  };

/**
 * Validates an outbound event against the protocol and serialises it.
 * Never throws; an invalid event comes back with a reason and must not be
 * sent (Retell would drop it silently, §4.0).
 *
 * @param event The event to send.
 * @returns The JSON text, or why the event is invalid.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPingPongEvent, encodeOutbound } from "./outbound.ts";
 *
 * const result = encodeOutbound(createPingPongEvent(1767225600000));
 * assert.deepEqual(result, {
 *   ok: true,
 *   text: '{"response_type":"ping_pong","timestamp":1767225600000}',
 * });
 * ```
 */
export function encodeOutbound(event: OutboundEvent): EncodeResult {
  // The frames of every turn and keepalive take the hand-written check;
  // anything else, or anything it does not accept, the schema.
  if (
    typeof event === "object" && event !== null && isValidHotOutbound(event)
  ) return { ok: true, text: JSON.stringify(event) };
  return encodeOutboundStrict(event);
}

/**
 * Encodes an event as {@linkcode encodeOutbound} does, with the zod
 * schemas only: the reference. `encodeOutbound` takes a hand-written path
 * for the `response` and `ping_pong` frames of every turn and keepalive,
 * and must return the same result; the property tests hold it to this
 * function.
 *
 * @param event The event to send.
 * @returns The JSON text, or why the event is invalid.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   createPingPongEvent,
 *   encodeOutbound,
 *   encodeOutboundStrict,
 * } from "./outbound.ts";
 *
 * const event = createPingPongEvent(1767225600000);
 * assert.deepEqual(encodeOutboundStrict(event), encodeOutbound(event));
 * ```
 */
export function encodeOutboundStrict(event: OutboundEvent): EncodeResult {
  const type: unknown = typeof event === "object" && event !== null
    ? (event as { response_type?: unknown }).response_type
    : undefined;
  const schema =
    typeof type === "string" && Object.hasOwn(OUTBOUND_SCHEMAS, type)
      ? OUTBOUND_SCHEMAS[type as OutboundEvent["response_type"]]
      : undefined;
  if (schema === undefined) {
    return {
      ok: false,
      reason: `Cannot encode event: unknown response_type ${
        JSON.stringify(type)
      }`,
    };
  }
  const parsed = schema.safeParse(event);
  if (!parsed.success) {
    return {
      ok: false,
      reason: `Cannot encode ${type} event: ${
        formatIssues(toIssues(parsed.error.issues))
      }`,
    };
  }
  try {
    return { ok: true, text: JSON.stringify(event) };
  } catch (error) {
    // Metadata may hold what JSON cannot: a BigInt, a cycle.
    const detail = describeError(error);
    return { ok: false, reason: `Cannot encode ${type} event: ${detail}` };
  }
}

/**
 * Builds the `config` event (§4.1).
 *
 * @param config The settings; omitted ones stay at Retell's default (off).
 * @returns The event.
 */
export function createConfigEvent(config: CallConfig): ConfigEvent {
  return { response_type: "config", config };
}

/** Options of {@linkcode createResponseEvent}. */
export interface ResponseEventOptions extends ResponseActions {
  /** The request answered; 0 for the begin message. */
  response_id: number;
  /** A delta of the reply; may be empty. */
  content: string;
  /** True only on the last event of the response. */
  content_complete: boolean;
}

/**
 * Builds a `response` event (§4.2). Optional action fields are left out
 * unless set, which is the documented form.
 *
 * @param options Id, content, completion flag and any actions.
 * @returns The event, with `response_type` set.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createResponseEvent } from "./outbound.ts";
 *
 * assert.deepEqual(
 *   createResponseEvent({ response_id: 0, content: "Hi", content_complete: true }),
 *   { response_type: "response", response_id: 0, content: "Hi", content_complete: true },
 * );
 * ```
 */
export function createResponseEvent(
  options: ResponseEventOptions,
): ResponseEvent {
  return { response_type: "response", ...options };
}

/** Options of {@linkcode createAgentInterruptEvent}. */
export interface AgentInterruptEventOptions extends ResponseActions {
  /** Groups chunks of one interrupt. */
  interrupt_id: number;
  /** A delta of the interrupt's text. */
  content: string;
  /** True on the last chunk. */
  content_complete: boolean;
}

/**
 * Builds an `agent_interrupt` event (§4.3). `no_interruption_allowed`
 * defaults to true, as Retell recommends for interrupts.
 *
 * @param options Interrupt id, content, completion flag and any actions.
 * @returns The event, with `response_type` set.
 */
export function createAgentInterruptEvent(
  options: AgentInterruptEventOptions,
): AgentInterruptEvent {
  return {
    response_type: "agent_interrupt",
    no_interruption_allowed: true,
    ...options,
  };
}

/**
 * Builds the echo of a Retell `ping_pong` (§4.4).
 *
 * @param timestamp The timestamp Retell sent, unchanged.
 * @returns The event.
 */
export function createPingPongEvent(timestamp: number): PingPongEvent {
  return { response_type: "ping_pong", timestamp };
}

/**
 * Builds an `update_agent` event (§4.5).
 *
 * @param agentConfig The settings to change.
 * @returns The event.
 */
export function createUpdateAgentEvent(
  agentConfig: AgentConfigUpdate,
): UpdateAgentEvent {
  return { response_type: "update_agent", agent_config: agentConfig };
}

/**
 * Builds a `tool_call_invocation` event (§4.6).
 *
 * @param toolCallId Unique id of the call, repeated on its result.
 * @param name Function name.
 * @param args The arguments as stringified JSON.
 * @returns The event.
 */
export function createToolCallInvocationEvent(
  toolCallId: string,
  name: string,
  args: string,
): ToolCallInvocationEvent {
  return {
    response_type: "tool_call_invocation",
    tool_call_id: toolCallId,
    name,
    arguments: args,
  };
}

/**
 * Builds a `tool_call_result` event (§4.7).
 *
 * @param toolCallId Id of the matching invocation.
 * @param content Result text.
 * @param successful Outcome; left out when undefined.
 * @returns The event.
 */
export function createToolCallResultEvent(
  toolCallId: string,
  content: string,
  successful?: boolean,
): ToolCallResultEvent {
  const event: ToolCallResultEvent = {
    response_type: "tool_call_result",
    tool_call_id: toolCallId,
    content,
  };
  if (successful !== undefined) event.successful = successful;
  return event;
}

/**
 * Builds a `metadata` event for a web call's frontend (§4.8).
 *
 * @param metadata Any JSON-serialisable object.
 * @returns The event.
 */
export function createMetadataEvent(
  metadata: Record<string, unknown>,
): MetadataEvent {
  return { response_type: "metadata", metadata };
}
