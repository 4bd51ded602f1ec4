/**
 * A WebSocket client built on a bare TCP connection, for tests that must
 * behave as no well-made client does: stop reading, or write frames of
 * their own making.
 */
import { encodeFrame, OPCODE } from "../../src/simulator/_websocket_frames.ts";

/** A raw client after its handshake. */
export interface RawSocket extends Disposable {
  /** The TCP connection; the test reads from it or, on purpose, does not. */
  readonly conn: Deno.TcpConn;
  /** Writes one masked text frame. */
  sendText(text: string): Promise<void>;
  /** Writes all of `bytes`. */
  write(bytes: Uint8Array): Promise<void>;
}

/**
 * Connects to `port` on 127.0.0.1 and completes the WebSocket handshake
 * for `path`, reading nothing beyond the handshake's response.
 */
export async function openRawSocket(
  port: number,
  path: string,
): Promise<RawSocket> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  async function write(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) {
      written += await conn.write(bytes.subarray(written));
    }
  }
  const key = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
  await write(new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
      `Sec-WebSocket-Version: 13\r\n\r\n`,
  ));
  // Read byte by byte up to the blank line, so no frame is consumed.
  let head = "";
  const byte = new Uint8Array(1);
  while (!head.endsWith("\r\n\r\n")) {
    if (await conn.read(byte) === null) {
      conn.close();
      throw new Error(`Cannot open raw socket: closed after "${head}"`);
    }
    head += String.fromCharCode(byte[0]!);
  }
  if (!head.startsWith("HTTP/1.1 101")) {
    conn.close();
    throw new Error(`Cannot open raw socket: ${head.split("\r\n")[0]}`);
  }
  return {
    conn,
    write,
    sendText: (text) =>
      write(encodeFrame(OPCODE.text, new TextEncoder().encode(text))),
    [Symbol.dispose]() {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    },
  };
}

/**
 * The header of an unmasked-by-zero client frame (RFC 6455 §5.2) with a
 * 64-bit length: a zero masking key leaves the payload as it is, so a
 * test can send one large buffer many times without copying it.
 */
export function zeroMaskHeader(
  opcode: number,
  fin: boolean,
  length: number,
): Uint8Array {
  const header = new Uint8Array(14);
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = 0x80 | 127;
  new DataView(header.buffer).setBigUint64(2, BigInt(length));
  return header;
}
