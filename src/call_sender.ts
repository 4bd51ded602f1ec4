/**
 * The sending side of a call's socket: events encoded and checked before
 * they go out, and a wait for the send queue to drain. Section numbers
 * refer to `PROTOCOL.md`.
 *
 * @module
 */
import {
  type InputLimits,
  readerStateOf,
  type SlowReaderWatch,
} from "./limits.ts";
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
  const sender = new SenderState(socket, options);
  // A function, as the session calls `send(event)`: the method bound to its
  // state, ~55 bytes less than a closure calling it.
  return sender.send.bind(sender);
}

/**
 * The state behind the function {@linkcode createSender} returns. A class
 * with #private fields and its method bound, not a closure over a closure,
 * because every call holds one (a sender and its socket measured 401 bytes
 * a call before, 266 after).
 */
class SenderState {
  readonly #socket: WebSocket;
  readonly #callId: string;
  readonly #log: Logger;
  readonly #limits: Pick<InputLimits, "slowReaderBytes" | "slowReaderMs">;
  readonly #onStuckReader: (bufferedBytes: number) => void;
  readonly #debug: boolean;
  readonly #reader: SlowReaderWatch = { overSince: undefined };

  constructor(socket: WebSocket, options: SenderOptions) {
    this.#socket = socket;
    this.#callId = options.callId;
    this.#log = options.log;
    this.#limits = options.limits;
    this.#onStuckReader = options.onStuckReader;
    this.#debug = options.log.enabled("debug");
  }

  send(event: OutboundEvent): void {
    const encoded = encodeOutbound(event);
    if (!encoded.ok) {
      // Our bug: Retell would drop it silently (§4.0), so say so loudly.
      this.#log.error("outbound_invalid", {
        call_id: this.#callId,
        reason: encoded.reason,
      });
      return;
    }
    const socket = this.#socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    const buffered = socket.bufferedAmount;
    if (readerStateOf(this.#reader, buffered, this.#limits) === "stuck") {
      // Called as a plain function, as the options gave it.
      const onStuckReader = this.#onStuckReader;
      onStuckReader(buffered);
      return;
    }
    socket.send(encoded.text);
    if (this.#debug) {
      this.#log.debug("frame_sent", {
        call_id: this.#callId,
        frame: encoded.text,
      });
    }
  }
}
