/**
 * The sending side of a call's socket: events encoded and checked before
 * they go out, and a wait for the send queue to drain. Section numbers
 * refer to `PROTOCOL.md`.
 *
 * @module
 */
import { createSlowReaderCheck, type InputLimits } from "./limits.ts";
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

/** Options of {@linkcode createSender}. */
export interface SenderOptions {
  /** The call id, for log lines. */
  callId: string;
  /** Where `outbound_invalid` and, at debug, `frame_sent` go. */
  log: Logger;
  /** When a send queue means the peer has stopped reading. */
  limits: Pick<InputLimits, "slowReaderBytes" | "slowReaderMs">;
  /**
   * Called, instead of sending, once the send queue has stayed over
   * `slowReaderBytes` for longer than `slowReaderMs`; the caller closes
   * the call.
   */
  onStuckReader: (bufferedBytes: number) => void;
}

/**
 * Sends events on the call's socket: encoded and checked first, dropped
 * once the socket is no longer open. Before each send it reads the
 * socket's send queue (`bufferedAmount`): a peer that has not read for
 * long enough gets no more frames, and `onStuckReader` is told, so a peer
 * that stops reading holds at most what was sent within `slowReaderMs`
 * of the queue passing `slowReaderBytes`.
 */
export function createSender(
  socket: WebSocket,
  options: SenderOptions,
): (event: OutboundEvent) => void {
  const { callId, log, onStuckReader } = options;
  const debug = log.enabled("debug");
  const checkReader = createSlowReaderCheck(options.limits);
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
    const buffered = socket.bufferedAmount;
    if (checkReader(buffered) === "stuck") {
      onStuckReader(buffered);
      return;
    }
    socket.send(encoded.text);
    if (debug) {
      log.debug("frame_sent", { call_id: callId, frame: encoded.text });
    }
  };
}
