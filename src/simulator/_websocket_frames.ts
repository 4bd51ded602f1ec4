/**
 * The frames of RFC 6455 as the simulator's WebSocket client sends and
 * receives them: a masked client frame out, a server frame in.
 *
 * @module
 */

/** A masked client frame (RFC 6455 §5.2). */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
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
  const mask = crypto.getRandomValues(new Uint8Array(4));
  frame.set(mask, 2 + extra);
  const start = 2 + extra + 4;
  for (let index = 0; index < length; index++) {
    frame[start + index] = payload[index]! ^ mask[index % 4]!;
  }
  return frame;
}

/** The first complete frame in `buffer`, or undefined when more bytes are needed. */
export function decodeFrame(buffer: Uint8Array):
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
