/**
 * Builders for the frames Retell sends and the ones it expects back. Each
 * builds its frame as an object literal that `satisfies` the protocol type,
 * so a fixture cannot drift from the protocol module, and returns it as
 * both a plain frame and that type.
 */
import type {
  PingPongRequest,
  ReminderRequiredRequest,
  ResponseRequiredRequest,
  UpdateOnlyRequest,
  Utterance,
} from "../../src/protocol/inbound.ts";
import type {
  CallConfig,
  ConfigEvent,
  PingPongEvent,
  ResponseActions,
  ResponseEvent,
  ToolCallInvocationEvent,
  ToolCallResultEvent,
} from "../../src/protocol/outbound.ts";
import type { Frame } from "./retell_client.ts";

/** An utterance of the transcript. */
export function said(role: "agent" | "user", content: string): Utterance {
  return { role, content } satisfies Utterance;
}

/** `response_required` with `id`. */
export function responseRequired(
  id: number,
  transcript: Utterance[] = [],
): Frame & ResponseRequiredRequest {
  return {
    interaction_type: "response_required",
    response_id: id,
    transcript,
  } satisfies ResponseRequiredRequest;
}

/** `reminder_required` with `id`. */
export function reminderRequired(
  id: number,
  transcript: Utterance[] = [],
): Frame & ReminderRequiredRequest {
  return {
    ...responseRequired(id, transcript),
    interaction_type: "reminder_required",
  } satisfies ReminderRequiredRequest;
}

/** `update_only` carrying `transcript`. */
export function updateOnly(
  transcript: Utterance[],
  turntaking?: "agent_turn" | "user_turn",
): Frame & UpdateOnlyRequest {
  return {
    interaction_type: "update_only",
    transcript,
    ...(turntaking && { turntaking }),
  } satisfies UpdateOnlyRequest;
}

/** Retell's keepalive. */
export function ping(timestamp: number): Frame & PingPongRequest {
  return { interaction_type: "ping_pong", timestamp } satisfies PingPongRequest;
}

/** The echo the server must send for `ping(timestamp)`. */
export function pong(timestamp: number): Frame & PingPongEvent {
  return { response_type: "ping_pong", timestamp } satisfies PingPongEvent;
}

/** A partial response frame, with any action flags. */
export function chunk(
  id: number,
  content: string,
  actions: ResponseActions = {},
): Frame & ResponseEvent {
  return response(id, content, false, actions);
}

/** The final response frame, with any action flags. */
export function done(
  id: number,
  content = "",
  actions: ResponseActions = {},
): Frame & ResponseEvent {
  return response(id, content, true, actions);
}

function response(
  id: number,
  content: string,
  complete: boolean,
  actions: ResponseActions,
): Frame & ResponseEvent {
  return {
    response_type: "response",
    response_id: id,
    content,
    content_complete: complete,
    ...actions,
  } satisfies ResponseEvent;
}

/** The text a server spoke under `id`: its response frames' content, joined. */
export function spoken(frames: Frame[], id: number): string {
  return frames
    .filter((frame) =>
      frame.response_type === "response" && frame.response_id === id
    )
    .map((frame) => frame.content)
    .join("");
}

/**
 * A server's record of one tool call, as it sends it to Retell: the
 * invocation of `check_availability` for Friday, then its result.
 */
export function toolCallRecord(): Frame[] {
  return [
    {
      response_type: "tool_call_invocation",
      tool_call_id: "tc_1",
      name: "check_availability",
      arguments: '{"day":"Friday"}',
    } satisfies ToolCallInvocationEvent,
    {
      response_type: "tool_call_result",
      tool_call_id: "tc_1",
      content: '{"slots":["09:00"]}',
      successful: true,
    } satisfies ToolCallResultEvent,
  ];
}

/** A config frame with these settings; by default every setting is off. */
export function configEvent(config: CallConfig = {}): Frame {
  return { response_type: "config", config } satisfies ConfigEvent;
}

/** The config frame the server sends by default. */
export function defaultConfig(): Frame {
  return {
    response_type: "config",
    config: { auto_reconnect: true, call_details: true },
  } satisfies ConfigEvent;
}
