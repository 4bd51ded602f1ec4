/**
 * The frames of RFC 6455 as the simulator's WebSocket client sends and
 * receives them: {@linkcode encodeFrame} builds a masked client frame, and
 * {@linkcode createFrameDecoder} reads the server's frames from the bytes of
 * the connection as they arrive, in any pieces, joining fragmented messages.
 *
 * @module
 */

/** The opcodes of RFC 6455 §5.2. */
export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** What the server sent, as read from its frames. */
export type ServerFrame =
  /** A whole message: text as a string, binary as bytes. */
  | { type: "message"; data: string | Uint8Array }
  /** A ping, to be answered with a pong carrying the same payload. */
  | { type: "ping"; payload: Uint8Array }
  /** A pong. */
  | { type: "pong"; payload: Uint8Array }
  /** A close frame: its status code (1005 when it had none) and reason. */
  | { type: "close"; code: number; reason: string };

/** Reads server frames from a byte stream. */
export interface FrameDecoder {
  /**
   * Takes the next bytes read from the connection, which may end anywhere in
   * a frame. The bytes are copied, so the caller may reuse its buffer.
   *
   * @param bytes The bytes.
   * @returns What these bytes completed, in order; nothing after a close.
   */
  push(bytes: Uint8Array): ServerFrame[];
}

/**
 * A masked client frame (RFC 6455 §5.2), with FIN set.
 *
 * @param opcode One of {@linkcode OPCODE}.
 * @param payload The payload, unmasked.
 * @param mask The masking key; a fresh random one unless given (for tests).
 * @returns The frame's bytes.
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  mask: Uint8Array = crypto.getRandomValues(new Uint8Array(4)),
): Uint8Array {
  const length = payload.length;
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const frame = new Uint8Array(2 + extra + 4 + length);
  frame[0] = 0x80 | opcode;
  const view = new DataView(frame.buffer);
  if (extra === 0) {
    frame[1] = 0x80 | length;
  } else if (extra === 2) {
    frame[1] = 0x80 | 126;
    view.setUint16(2, length);
  } else {
    frame[1] = 0x80 | 127;
    view.setBigUint64(2, BigInt(length));
  }
  frame.set(mask, 2 + extra);
  const start = 2 + extra + 4;
  for (let index = 0; index < length; index++) {
    frame[start + index] = payload[index]! ^ mask[index % 4]!;
  }
  return frame;
}

/**
 * A decoder for the frames a server sends.
 *
 * @returns A decoder with nothing read yet.
 */
export function createFrameDecoder(): FrameDecoder {
  let buffer: Uint8Array = new Uint8Array(0);
  let fragments: Uint8Array[] = [];
  let fragmentOpcode = 0;
  let closed = false;

  function message(): ServerFrame {
    const payload = fragments.length === 1
      ? fragments[0]!
      : fragments.reduce(concatBytes);
    return {
      type: "message",
      data: fragmentOpcode === OPCODE.text
        ? new TextDecoder().decode(payload)
        : payload,
    };
  }

  return {
    push(bytes) {
      const out: ServerFrame[] = [];
      if (closed) return out;
      buffer = concatBytes(buffer, bytes);
      let frame = decodeFrame(buffer);
      while (frame !== undefined) {
        buffer = buffer.subarray(frame.length);
        const { opcode, fin, payload } = frame;
        if (opcode === OPCODE.close) {
          closed = true;
          out.push({
            type: "close",
            code: payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : 1005,
            reason: new TextDecoder().decode(payload.subarray(2)),
          });
          return out;
        }
        if (opcode === OPCODE.ping || opcode === OPCODE.pong) {
          out.push({ type: opcode === OPCODE.ping ? "ping" : "pong", payload });
        } else if (opcode === OPCODE.text || opcode === OPCODE.binary) {
          fragmentOpcode = opcode;
          fragments = [payload];
          if (fin) out.push(message());
        } else if (opcode === OPCODE.continuation) {
          fragments.push(payload);
          if (fin) out.push(message());
        }
        frame = decodeFrame(buffer);
      }
      return out;
    },
  };
}

/**
 * Joins two byte arrays into a new one.
 *
 * @param a The first bytes.
 * @param b The bytes after them.
 * @returns A copy of both, one after the other.
 */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** The first complete frame in `buffer`, or undefined when more bytes are needed. */
function decodeFrame(buffer: Uint8Array):
  | { opcode: number; fin: boolean; payload: Uint8Array; length: number }
  | undefined {
  if (buffer.length < 2) return undefined;
  const fin = (buffer[0]! & 0x80) !== 0;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = view.getUint16(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(view.getBigUint64(2));
    offset = 10;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = buffer.slice(offset, offset + length);
  if (masked) {
    for (let index = 0; index < length; index++) {
      payload[index] = payload[index]! ^ buffer[maskOffset + (index % 4)]!;
    }
  }
  return { opcode, fin, payload, length: offset + length };
}
