import assert from "node:assert/strict";
import {
  type ClientSocket,
  openWebSocket,
  type SocketClose,
} from "../../src/simulator/_websocket_client.ts";
import { encodeFrame, OPCODE } from "../../src/simulator/_websocket_frames.ts";
import { waitUntil } from "../_support/wait.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * A TCP server on 127.0.0.1 that accepts one WebSocket handshake, then
 * writes `frames` as raw bytes and collects every byte the client sends.
 */
function startRawWebSocketServer(frames: Uint8Array) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let conn: Deno.Conn | undefined;
  const served = (async () => {
    conn = await listener.accept();
    try {
      const request = await readUntil(conn, "\r\n\r\n");
      const key = /Sec-WebSocket-Key: (\S+)/i.exec(request)?.[1] ?? "";
      const digest = await crypto.subtle.digest(
        "SHA-1",
        new TextEncoder().encode(key + GUID),
      );
      const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
      await conn.write(
        new TextEncoder().encode(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
            `Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        ),
      );
      await conn.write(frames);
      // Everything the client sends, until it drops the connection.
      const received: number[] = [];
      const chunk = new Uint8Array(1024);
      for (let read = await conn.read(chunk); read !== null;) {
        received.push(...chunk.subarray(0, read));
        read = await conn.read(chunk);
      }
      return new Uint8Array(received);
    } finally {
      closeQuietly(conn);
    }
  })();
  return {
    url: `ws://127.0.0.1:${listener.addr.port}/llm-websocket/sim_test`,
    /** What the client sent after the handshake, once it has hung up. */
    received: served,
    [Symbol.asyncDispose]() {
      listener.close();
      closeQuietly(conn);
      return served.then(() => {}, () => {});
    },
  };
}

function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch {
    // Already closed.
  }
}

/** Starts `socket` and resolves with how it closed; rejects after `timeoutMs`. */
function closeOf(socket: ClientSocket, timeoutMs = 2000) {
  const messages: Array<string | Uint8Array> = [];
  const waiters = new Set<() => void>();
  let close: SocketClose | undefined;
  socket.listen({
    message: (data) => messages.push(data),
    close(event) {
      close = event;
      waiters.forEach((waiter) => waiter());
    },
  });
  return waitUntil(
    () => close !== undefined,
    waiters,
    timeoutMs,
    () => `The socket did not close within ${timeoutMs} ms`,
  ).then(() => ({ close: close!, messages }));
}

async function readUntil(conn: Deno.Conn, end: string): Promise<string> {
  let text = "";
  const chunk = new Uint8Array(1024);
  while (!text.includes(end)) {
    const read = await conn.read(chunk);
    if (read === null) throw new Error(`The client hung up before ${end}`);
    text += new TextDecoder().decode(chunk.subarray(0, read));
  }
  return text;
}

/** The opcodes and unmasked payloads of the masked frames a client sent. */
function clientFrames(bytes: Uint8Array): Array<[number, number[]]> {
  const frames: Array<[number, number[]]> = [];
  let offset = 0;
  while (offset < bytes.length) {
    const length = bytes[offset + 1]! & 0x7f; // the client's frames here are short
    const mask = bytes.subarray(offset + 2, offset + 6);
    const payload = bytes.subarray(offset + 6, offset + 6 + length);
    frames.push([
      bytes[offset]! & 0x0f,
      [...payload.map((byte, index) => byte ^ mask[index % 4]!)],
    ]);
    offset += 6 + length;
  }
  return frames;
}

Deno.test("openWebSocket() fails the connection with 1002 when the server breaks the framing", async () => {
  // A text frame with RSV1 set, after a good message.
  await using server = startRawWebSocketServer(
    new Uint8Array([0x81, 0x02, 0x68, 0x69, 0xc1, 0x02, 0x68, 0x69]),
  );
  const socket = await openWebSocket(server.url, 2000);
  const { close, messages } = await closeOf(socket);
  assert.deepStrictEqual(close, {
    code: 1002,
    reason:
      "Cannot read the server's frames: a text frame has reserved bits set (0x40), and no extension was agreed",
    byServer: true,
  });
  assert.deepStrictEqual(messages, ["hi"]);
  assert.equal(socket.isOpen, false);
  assert.deepStrictEqual(clientFrames(await server.received), [
    [OPCODE.close, [0x03, 0xea]],
  ]);
});

Deno.test("openWebSocket() answers a ping and echoes the server's close code", async () => {
  await using server = startRawWebSocketServer(
    new Uint8Array([0x89, 0x01, 0x2a, 0x88, 0x02, 0x03, 0xe8]),
  );
  const socket = await openWebSocket(server.url, 2000);
  const { close } = await closeOf(socket);
  assert.deepStrictEqual(close, {
    code: 1000,
    reason: "",
    byServer: true,
  });
  assert.deepStrictEqual(clientFrames(await server.received), [
    [OPCODE.pong, [0x2a]],
    [OPCODE.close, [0x03, 0xe8]],
  ]);
});

Deno.test("openWebSocket() with the load generator's options masks with zeros and reads a long message in pieces", async () => {
  const long = "a".repeat(300);
  await using server = startRawWebSocketServer(
    new Uint8Array([
      0x81,
      126,
      0x01,
      0x2c,
      ...new TextEncoder().encode(long),
      0x88,
      0x02,
      0x03,
      0xe8,
    ]),
  );
  const socket = await openWebSocket(server.url, 2000, {
    zeroMask: true,
    readBufferBytes: 16,
  });
  socket.sendFrames(
    encodeFrame(OPCODE.text, new TextEncoder().encode("hi"), new Uint8Array(4)),
  );
  const { close, messages } = await closeOf(socket);
  assert.deepStrictEqual(messages, [long]);
  assert.equal(close.code, 1000);
  assert.deepStrictEqual(
    await server.received,
    new Uint8Array([
      ...[0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69],
      ...[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8],
    ]),
  );
});
