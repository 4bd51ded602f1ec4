/**
 * The sending side of a call's socket: events encoded and checked before
 * they go out, and a wait for the send queue to drain. Section numbers
 * refer to `PROTOCOL.md`.
 *
 * @module
 */
import type { Logger } from "./log.ts";
import { encodeOutbound, type OutboundEvent } from "./protocol/outbound.ts";

/** How often {@linkcode untilSent} checks the socket's send queue. */
const SEND_POLL_MS = 5;

/**
 * Resolves once the socket's send queue is empty or it is no longer open.
 * Deno has no event for a drained queue, so this polls `bufferedAmount`.
 */
export async function untilSent(socket: WebSocket): Promise<void> {
  while (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > 0) {
    await new Promise((resolve) => setTimeout(resolve, SEND_POLL_MS));
  }
}

/**
 * Sends events on the call's socket: encoded and checked first, dropped
 * once the socket is no longer open.
 */
export function createSender(
  socket: WebSocket,
  callId: string,
  log: Logger,
): (event: OutboundEvent) => void {
  const debug = log.enabled("debug");
  return function send(event) {
    const encoded = encodeOutbound(event);
    if (!encoded.ok) {
      // Our bug: Retell would drop it silently (§4.0), so say so loudly.
      log.error("outbound_invalid", {
        call_id: callId,
        reason: encoded.reason,
      });
      return;
    }
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(encoded.text);
    if (debug) {
      log.debug("frame_sent", { call_id: callId, frame: encoded.text });
    }
  };
}
