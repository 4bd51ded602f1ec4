/** Builders for the frames Retell sends and the ones it expects back. */
import type { Frame } from "./retell_client.ts";

/** An utterance of the transcript. */
export function said(role: "agent" | "user", content: string): Frame {
  return { role, content };
}

/** `response_required` with `id`. */
export function responseRequired(id: number, transcript: Frame[] = []): Frame {
  return { interaction_type: "response_required", response_id: id, transcript };
}

/** `reminder_required` with `id`. */
export function reminderRequired(id: number, transcript: Frame[] = []): Frame {
  return { interaction_type: "reminder_required", response_id: id, transcript };
}

/** `update_only` carrying `transcript`. */
export function updateOnly(
  transcript: Frame[],
  turntaking?: "agent_turn" | "user_turn",
): Frame {
  return {
    interaction_type: "update_only",
    transcript,
    ...(turntaking && { turntaking }),
  };
}

/** Retell's keepalive. */
export function ping(timestamp: number): Frame {
  return { interaction_type: "ping_pong", timestamp };
}

/** The echo the server must send for `ping(timestamp)`. */
export function pong(timestamp: number): Frame {
  return { response_type: "ping_pong", timestamp };
}

/** A partial response frame. */
export function chunk(id: number, content: string): Frame {
  return {
    response_type: "response",
    response_id: id,
    content,
    content_complete: false,
  };
}

/** The final response frame. */
export function done(id: number, content = "", extra: Frame = {}): Frame {
  return {
    response_type: "response",
    response_id: id,
    content,
    content_complete: true,
    ...extra,
  };
}

/** The config frame the server sends by default. */
export function defaultConfig(): Frame {
  return {
    response_type: "config",
    config: { auto_reconnect: true, call_details: true },
  };
}
