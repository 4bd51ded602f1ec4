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
  | { type: "close"; code: number; reason: string }
  /**
   * Bytes that break RFC 6455: the connection is to be failed with `code`
   * (§7.4.1: 1002 protocol error, 1007 text not UTF-8, 1009 too big).
   */
  | { type: "error"; code: 1002 | 1007 | 1009; reason: string };

/** Reads server frames from a byte stream. */
export interface FrameDecoder {
  /**
   * Takes the next bytes read from the connection, which may end anywhere in
   * a frame. The bytes are copied, so the caller may reuse its buffer.
   *
   * @param bytes The bytes.
   * @returns What these bytes completed, in order; nothing after a close
   *   or an error.
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
  if ((mask[0]! | mask[1]! | mask[2]! | mask[3]!) === 0) {
    // The all-zero key leaves the payload as it is.
    frame.set(payload, start);
    return frame;
  }
  for (let index = 0; index < length; index++) {
    frame[start + index] = payload[index]! ^ mask[index % 4]!;
  }
  return frame;
}

/** Options of {@linkcode createFrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * The longest message read, in bytes; a longer one is an error (1009).
   *
   * @default {67108864} 64 MiB, Deno's own limit for a frame.
   */
  maxMessageBytes?: number;
}

/**
 * A decoder for the frames a server sends. Bytes that break RFC 6455 give
 * an `error` frame, after which the decoder reads nothing more.
 *
 * @param options The message size limit.
 * @returns A decoder with nothing read yet.
 */
export function createFrameDecoder(
  options: FrameDecoderOptions = {},
): FrameDecoder {
  const maxMessageBytes = options.maxMessageBytes ?? 64 * 1024 * 1024;
  let buffer: Uint8Array = new Uint8Array(0);
  /** A message whose last fragment has not come yet. */
  let message:
    | { opcode: number; parts: Uint8Array[]; bytes: number }
    | undefined;
  let ended = false;

  /** What a whole frame means, given the message it may continue. */
  function read(
    header: FrameHeader,
    payload: Uint8Array,
  ): ServerFrame | undefined {
    switch (header.opcode) {
      case OPCODE.close:
        return readClose(payload);
      case OPCODE.ping:
        return { type: "ping", payload };
      case OPCODE.pong:
        return { type: "pong", payload };
    }
    // checkHeader() made sure a continuation has a message to continue.
    const current = header.opcode === OPCODE.continuation && message
      ? message
      : { opcode: header.opcode, parts: [], bytes: 0 };
    current.parts.push(payload);
    current.bytes += payload.length;
    message = header.fin ? undefined : current;
    if (!header.fin) return undefined;
    const whole = current.parts.length === 1
      ? current.parts[0]!
      : concatBytes(...current.parts);
    if (current.opcode === OPCODE.binary) {
      return { type: "message", data: whole };
    }
    const text = decodeUtf8(whole);
    return text === undefined
      ? failure(1007, "a text message is not valid UTF-8")
      : { type: "message", data: text };
  }

  return {
    push(bytes) {
      const out: ServerFrame[] = [];
      if (ended) return out;
      buffer = concatBytes(buffer, bytes);
      let header = readHeader(buffer);
      while (header !== undefined) {
        const problem = checkHeader(header, message?.bytes, maxMessageBytes);
        if (problem !== undefined) {
          ended = true;
          out.push(problem);
          return out;
        }
        const end = header.size + header.length;
        if (buffer.length < end) break;
        const payload = buffer.slice(header.size, end);
        buffer = buffer.subarray(end);
        const frame = read(header, payload);
        if (frame !== undefined) out.push(frame);
        if (frame?.type === "close" || frame?.type === "error") {
          ended = true;
          return out;
        }
        header = readHeader(buffer);
      }
      return out;
    },
  };
}

/**
 * Joins byte arrays into a new one.
 *
 * @param parts The bytes, in order.
 * @returns A copy of all of them, one after the other.
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(
    parts.reduce((total, part) => total + part.length, 0),
  );
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** The first two to fourteen bytes of a frame (RFC 6455 §5.2). */
interface FrameHeader {
  fin: boolean;
  /** RSV1 to RSV3, as bits of the first byte. */
  rsv: number;
  opcode: number;
  masked: boolean;
  /** The payload length. */
  length: number;
  /** The header's own length. */
  size: number;
}

/** The header at the start of `buffer`, or undefined when more bytes are needed. */
function readHeader(buffer: Uint8Array): FrameHeader | undefined {
  if (buffer.length < 2) return undefined;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let size = 2;
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = view.getUint16(2);
    size = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(view.getBigUint64(2));
    size = 10;
  }
  return {
    fin: (buffer[0]! & 0x80) !== 0,
    rsv: buffer[0]! & 0x70,
    opcode: buffer[0]! & 0x0f,
    masked,
    length,
    size: masked ? size + 4 : size,
  };
}

const OPCODE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(OPCODE).map(([name, opcode]) => [opcode, name]),
);

/**
 * Why a frame with `header` cannot be read, or undefined when it can;
 * `messageBytes` is the length so far of a fragmented message, if one is open.
 */
function checkHeader(
  header: FrameHeader,
  messageBytes: number | undefined,
  maxMessageBytes: number,
): ServerFrame | undefined {
  const name = OPCODE_NAMES.get(header.opcode);
  if (name === undefined) {
    return failure(
      1002,
      `opcode 0x${header.opcode.toString(16)} is not defined`,
    );
  }
  if (header.rsv !== 0) {
    return failure(
      1002,
      `a ${name} frame has reserved bits set (0x${
        header.rsv.toString(16)
      }), and no extension was agreed`,
    );
  }
  if (header.masked) {
    return failure(
      1002,
      `a ${name} frame is masked, and a server must not mask`,
    );
  }
  if (header.opcode >= OPCODE.close) {
    if (!header.fin) {
      return failure(
        1002,
        `a ${name} frame is fragmented, and control frames cannot be`,
      );
    }
    if (header.length > 125) {
      return failure(
        1002,
        `a ${name} frame carries ${header.length} bytes, and control frames carry at most 125`,
      );
    }
    return undefined;
  }
  if (header.opcode === OPCODE.continuation && messageBytes === undefined) {
    return failure(1002, "a continuation frame has no message to continue");
  }
  if (header.opcode !== OPCODE.continuation && messageBytes !== undefined) {
    return failure(
      1002,
      `a ${name} frame starts a message before the fragmented one ended`,
    );
  }
  const total = (messageBytes ?? 0) + header.length;
  if (total > maxMessageBytes) {
    return failure(
      1009,
      `a message of ${total} bytes or more is above the limit of ${maxMessageBytes}`,
    );
  }
  return undefined;
}

/** The close frame with `payload` (RFC 6455 §5.5.1, §7.4). */
function readClose(payload: Uint8Array): ServerFrame {
  if (payload.length === 0) return { type: "close", code: 1005, reason: "" };
  if (payload.length === 1) {
    return failure(1002, "a close frame carries 1 byte, too few for a code");
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isSendableCloseCode(code)) {
    return failure(
      1002,
      `a close frame carries code ${code}, which may not be sent`,
    );
  }
  const reason = decodeUtf8(payload.subarray(2));
  if (reason === undefined) {
    return failure(1007, "a close reason is not valid UTF-8");
  }
  return { type: "close", code, reason };
}

/** Whether a close frame may carry `code` (RFC 6455 §7.4.1, the IANA registry). */
function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) ||
    (code >= 3000 && code <= 4999);
}

/** A strict decoder; without `stream`, each call starts afresh, so one serves all. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** `bytes` as text, keeping a leading byte order mark; undefined when not UTF-8. */
function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

function failure(code: 1002 | 1007 | 1009, detail: string): ServerFrame {
  return {
    type: "error",
    code,
    reason: `Cannot read the server's frames: ${detail}`,
  };
}
