/**
 * A WebSocket client over a raw TCP connection that sends but never reads,
 * for tests of a peer that stops reading: the WebSocket API always reads.
 */

/** An open connection after the upgrade; nothing is ever read from it. */
export interface DeafSocket extends Disposable {
  /** Sends one masked text frame. */
  sendText(text: string): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Upgrades a TCP connection to `url` (a `ws://` URL on 127.0.0.1), reads
 * the server's `101` answer, and from then on reads nothing.
 */
export async function connectDeaf(url: string): Promise<DeafSocket> {
  const target = new URL(url);
  const connection = await Deno.connect({
    hostname: target.hostname,
    port: Number(target.port),
  });
  try {
    await connection.write(encoder.encode(
      `GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n` +
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    ));
    const head = new Uint8Array(1024);
    const read = await connection.read(head);
    const status = new TextDecoder().decode(head.subarray(0, read ?? 0));
    if (!status.startsWith("HTTP/1.1 101")) {
      throw new Error(`Cannot upgrade "${url}": ${status.split("\r\n")[0]}`);
    }
  } catch (error) {
    connection.close();
    throw error;
  }
  return {
    async sendText(text) {
      const payload = encoder.encode(text);
      const mask = crypto.getRandomValues(new Uint8Array(4));
      const length = payload.length;
      if (length > 0xffff) {
        throw new RangeError(`Cannot send ${length} bytes: at most 65535`);
      }
      const header = length < 126
        ? [0x81, 0x80 | length]
        : [0x81, 0x80 | 126, length >> 8, length & 0xff];
      const frame = new Uint8Array(header.length + 4 + length);
      frame.set(header);
      frame.set(mask, header.length);
      for (let i = 0; i < length; i++) {
        frame[header.length + 4 + i] = payload[i]! ^ mask[i % 4]!;
      }
      let written = 0;
      while (written < frame.length) {
        written += await connection.write(frame.subarray(written));
      }
    },
    [Symbol.dispose]() {
      connection.close();
    },
  };
}
