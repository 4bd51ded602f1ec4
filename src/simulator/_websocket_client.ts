/**
 * A small WebSocket client (RFC 6455) for the simulator, over a TCP
 * connection with Nagle's algorithm off.
 *
 * The runtime's `WebSocket` leaves Nagle on: when the simulator sends
 * `update_only` frames and then `response_required` back to back, the
 * request waits in the kernel for the server's delayed ACK (about 40 ms on
 * Linux), which would be counted as the server's latency. This client sends
 * every frame at once, and also reports what the `WebSocket` API hides: the
 * HTTP status of a refused upgrade, and exactly who closed the socket.
 *
 * @module
 */
import { beforeDeadline, TIMED_OUT } from "../deadline.ts";
import {
  concatBytes,
  createFrameDecoder,
  encodeFrame,
  OPCODE,
  type ServerFrame,
} from "./_websocket_frames.ts";

/** Why the socket could not be opened. */
export class SimulatorConnectError extends Error {
  /** The URL dialled. */
  readonly url: string;
  /** The HTTP status the server refused the upgrade with, when it answered one. */
  readonly status: number | undefined;

  /**
   * Builds the error; its message names the URL and what went wrong.
   *
   * @param url The URL dialled.
   * @param detail What went wrong.
   * @param status The HTTP status of a refused upgrade.
   */
  constructor(url: string, detail: string, status?: number) {
    super(`Cannot connect to "${url}": ${detail}`);
    this.name = "SimulatorConnectError";
    this.url = url;
    this.status = status;
  }
}

/** How a socket ended. */
export interface SocketClose {
  /**
   * The close code: the server's, ours, 1005 (no code), 1006 (dropped), or
   * the one we failed the connection with when the server's bytes broke
   * RFC 6455 (1002, 1007 or 1009).
   */
  code: number;
  /** The close reason, often empty; what was wrong when we failed the connection. */
  reason: string;
  /**
   * Whether the server ended the call (it closed, the connection dropped,
   * or it broke the protocol), rather than us.
   */
  byServer: boolean;
}

/** What the socket reports. */
export interface SocketHandlers {
  /** A message: text frames as strings, binary frames as bytes. */
  message(data: string | Uint8Array): void;
  /** The socket has closed; called once. */
  close(close: SocketClose): void;
}

/** An open client socket. */
export interface ClientSocket {
  /** Whether frames can still be sent. */
  readonly isOpen: boolean;
  /** Starts delivering frames (none is lost before this). */
  listen(handlers: SocketHandlers): void;
  /** Sends a text frame; ignored once closing. */
  send(text: string): void;
  /**
   * Sends bytes holding whole client frames, masked, as
   * {@linkcode encodeFrame} builds them, in one write; ignored once closing.
   * A load generator encodes its frames before it starts measuring.
   */
  sendFrames(frames: Uint8Array): void;
  /** Sends a close frame and waits for the server's, then drops the connection. */
  close(code: number): void;
  /** Drops the connection without a close frame, as a failed network does (1006). */
  drop(): void;
}

/** Options of {@linkcode openWebSocket}, for a load generator holding thousands of sockets. */
export interface ClientSocketOptions {
  /**
   * Mask every frame with the all-zero key instead of a fresh random one.
   * RFC 6455 §5.3 allows any key; a random one only guards browsers against
   * cache poisoning by script-chosen bytes, which a load generator does not
   * send. With zeros, masking is a plain copy.
   *
   * @default {false}
   */
  zeroMask?: boolean;
  /**
   * The size of the buffer each socket reads into. Frames larger than it
   * arrive in pieces, which the decoder joins.
   *
   * @default {65536}
   */
  readBufferBytes?: number;
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const ZERO_MASK = new Uint8Array(4);
/** How long to wait for the server's close frame after sending ours. */
const CLOSE_TIMEOUT_MS = 3000;
const encoder = new TextEncoder();

/**
 * Opens a WebSocket to `url` (`ws:` or `wss:`) and completes the handshake.
 *
 * @param url The URL.
 * @param timeoutMs Longest wait for the connection and the handshake.
 * @param options Masking and read buffer, for a load generator.
 * @returns The open socket; call `listen` to receive.
 * @throws {SimulatorConnectError} When the connection or handshake fails.
 */
export async function openWebSocket(
  url: string,
  timeoutMs: number,
  options: ClientSocketOptions = {},
): Promise<ClientSocket> {
  const target = new URL(url);
  const secure = target.protocol === "wss:";
  const hostname = target.hostname.replace(/^\[|\]$/g, "");
  const port = Number(target.port || (secure ? 443 : 80));
  let conn: Deno.Conn | undefined;
  const connecting = (async () => {
    const tcp = await Deno.connect({ hostname, port });
    conn = tcp;
    tcp.setNoDelay(true);
    if (secure) conn = await Deno.startTls(tcp, { hostname });
    return await handshake(conn, target, url);
  })();
  try {
    const leftover = await beforeDeadline(connecting, timeoutMs);
    if (leftover === TIMED_OUT) {
      throw new SimulatorConnectError(
        url,
        `the server did not accept the socket within ${timeoutMs} ms`,
      );
    }
    return createClientSocket(conn!, leftover, options);
  } catch (error) {
    connecting.catch(() => {});
    closeQuietly(conn);
    if (error instanceof SimulatorConnectError) throw error;
    throw new SimulatorConnectError(url, describeConnectError(error));
  }
}

/** Sends the upgrade request and checks the answer; returns bytes read past the headers. */
async function handshake(
  conn: Deno.Conn,
  target: URL,
  url: string,
): Promise<Uint8Array> {
  const key = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
  const request = [
    `GET ${target.pathname}${target.search} HTTP/1.1`,
    `Host: ${target.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
    "User-Agent: retell-simulator",
    "",
    "",
  ].join("\r\n");
  await writeAll(conn, encoder.encode(request));
  let received: Uint8Array = new Uint8Array(0);
  let end = -1;
  while (end < 0) {
    const chunk = new Uint8Array(4096);
    const read = await conn.read(chunk);
    if (read === null) {
      throw new SimulatorConnectError(
        url,
        "the server closed the connection during the handshake",
      );
    }
    received = concatBytes(received, chunk.subarray(0, read));
    end = indexOfHeaderEnd(received);
    if (end < 0 && received.length > 65536) {
      throw new SimulatorConnectError(url, "the handshake answer is too long");
    }
  }
  const head = new TextDecoder().decode(received.subarray(0, end));
  const [statusLine = "", ...headerLines] = head.split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})(.*)$/.exec(statusLine);
  if (status === null) {
    throw new SimulatorConnectError(
      url,
      `the server did not answer with HTTP: ${JSON.stringify(statusLine)}`,
    );
  }
  const code = Number(status[1]);
  if (code !== 101) {
    throw new SimulatorConnectError(
      url,
      `the server refused the upgrade with HTTP ${code}${
        status[2]?.trimEnd() ?? ""
      }`,
      code,
    );
  }
  const headers = new Map(
    headerLines.map((line) => {
      const colon = line.indexOf(":");
      return [
        line.slice(0, colon).trim().toLowerCase(),
        line.slice(colon + 1).trim(),
      ];
    }),
  );
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + GUID),
  );
  const expected = btoa(String.fromCharCode(...new Uint8Array(digest)));
  if (headers.get("sec-websocket-accept") !== expected) {
    throw new SimulatorConnectError(
      url,
      "the server's Sec-WebSocket-Accept header is wrong",
    );
  }
  return received.subarray(end + 4);
}

function createClientSocket(
  conn: Deno.Conn,
  leftover: Uint8Array,
  options: ClientSocketOptions,
): ClientSocket {
  const mask = options.zeroMask ? ZERO_MASK : undefined;
  let state: "open" | "closing" | "closed" = "open";
  let handlers: SocketHandlers | undefined;
  let writing: Promise<void> = Promise.resolve();
  let closeTimer: ReturnType<typeof setTimeout> | undefined;
  let sentCode: number | undefined;

  function write(opcode: number, payload: Uint8Array): void {
    writeFrames(encodeFrame(opcode, payload, mask));
  }

  function writeFrames(frames: Uint8Array): void {
    writing = writing.then(() => writeAll(conn, frames)).catch(() => {});
  }

  function finish(close: SocketClose): void {
    if (state === "closed") return;
    state = "closed";
    clearTimeout(closeTimer);
    // Let queued frames (our close frame) leave before dropping the connection.
    void writing.then(() => closeQuietly(conn));
    handlers?.close(close);
  }

  async function readLoop(): Promise<void> {
    const decoder = createFrameDecoder();
    const chunk = new Uint8Array(options.readBufferBytes ?? 65536);
    let frames = decoder.push(leftover);
    while (true) {
      for (const frame of frames) {
        receive(frame);
        // The frame, or a handler, may have closed the socket.
        if (state === "closed") return;
      }
      let read: number | null;
      try {
        read = await conn.read(chunk);
      } catch {
        read = null;
      }
      if (read === null) {
        // The connection ended without a close frame.
        finish(
          state === "closing"
            ? { code: sentCode ?? 1006, reason: "", byServer: false }
            : { code: 1006, reason: "", byServer: true },
        );
        return;
      }
      frames = decoder.push(chunk.subarray(0, read));
    }
  }

  function receive(frame: ServerFrame): void {
    switch (frame.type) {
      case "message":
        handlers?.message(frame.data);
        return;
      case "ping":
        if (state === "open") write(OPCODE.pong, frame.payload);
        return;
      case "pong":
        return;
      case "close":
      case "error":
        if (state === "open") {
          // The server closed: echo its close frame, as RFC 6455 asks. Or
          // its bytes broke the protocol: fail the connection with the code
          // of the error (§7.1.7).
          write(OPCODE.close, closePayload(frame.code));
          finish({ code: frame.code, reason: frame.reason, byServer: true });
        } else {
          finish({
            code: sentCode ?? frame.code,
            reason: frame.reason,
            byServer: false,
          });
        }
        return;
    }
  }

  return {
    get isOpen() {
      return state === "open";
    },
    listen(next) {
      handlers = next;
      void readLoop();
    },
    send(text) {
      if (state === "open") write(OPCODE.text, encoder.encode(text));
    },
    sendFrames(frames) {
      if (state === "open") writeFrames(frames);
    },
    close(code) {
      if (state !== "open") return;
      state = "closing";
      sentCode = code;
      write(OPCODE.close, closePayload(code));
      closeTimer = setTimeout(
        () => finish({ code, reason: "", byServer: false }),
        CLOSE_TIMEOUT_MS,
      );
    },
    drop() {
      if (state === "closed") return;
      finish({ code: 1006, reason: "", byServer: false });
    },
  };
}

function indexOfHeaderEnd(bytes: Uint8Array): number {
  for (let index = 0; index + 3 < bytes.length; index++) {
    if (
      bytes[index] === 13 && bytes[index + 1] === 10 &&
      bytes[index + 2] === 13 && bytes[index + 3] === 10
    ) return index;
  }
  return -1;
}

/** The payload of a close frame with `code`; none for 1005, which means "no code". */
function closePayload(code: number): Uint8Array {
  return code === 1005
    ? new Uint8Array(0)
    : new Uint8Array([code >> 8, code & 0xff]);
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await conn.write(bytes.subarray(written));
  }
}

function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch {
    // Already closed.
  }
}

/** Plain words for the runtime's connection errors. */
function describeConnectError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "ConnectionRefused") {
      return "connection refused (is the server running on that port?)";
    }
    return error.message;
  }
  return String(error);
}
