/** A WebSocket client that plays Retell's side of a call, for tests. */

/** A frame the server sent, parsed. */
export type Frame = Record<string, unknown>;

/** Retell's side of one call. */
export interface RetellClient extends AsyncDisposable {
  /** Sends an event as a JSON text frame. */
  send(event: Frame): void;
  /** Sends a raw frame: any text, or bytes as a binary frame. */
  sendRaw(data: string | Uint8Array): void;
  /** The next frame from the server; rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<Frame>;
  /** The next `count` frames. */
  take(count: number, timeoutMs?: number): Promise<Frame[]>;
  /** Frames up to and including the `content_complete: true` response under `responseId`. */
  untilComplete(responseId: number, timeoutMs?: number): Promise<Frame[]>;
  /** Frames received but not yet taken. */
  readonly buffered: number;
  /** Closes the socket and waits for the close to finish. */
  close(code?: number): Promise<CloseEvent>;
  /** Resolves when the socket has closed, from either side. */
  readonly closed: Promise<CloseEvent>;
}

/**
 * Opens a socket like Retell does and queues every frame from the first
 * moment, so no frame is lost between connecting and the first `next()`.
 */
export async function connectAsRetell(url: string): Promise<RetellClient> {
  const socket = new WebSocket(url);
  const queue: Frame[] = [];
  const waiters: Array<(frame: Frame) => void> = [];
  const closed = Promise.withResolvers<CloseEvent>();
  const opened = Promise.withResolvers<void>();

  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") {
      throw new TypeError("Cannot accept binary frame from server");
    }
    const frame = JSON.parse(event.data) as Frame;
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else queue.push(frame);
  });
  socket.addEventListener("open", () => opened.resolve());
  socket.addEventListener("close", (event) => {
    opened.reject(
      new Error(`Cannot connect to "${url}": closed with code ${event.code}`),
    );
    closed.resolve(event);
  });
  socket.addEventListener("error", () => {});
  await opened.promise;

  function next(timeoutMs = 3000): Promise<Frame> {
    const queued = queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (frame: Frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`No frame from the server within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.push(waiter);
    });
  }

  async function close(code = 1000): Promise<CloseEvent> {
    if (
      socket.readyState === WebSocket.OPEN ||
      socket.readyState === WebSocket.CONNECTING
    ) {
      socket.close(code);
    }
    return await closed.promise;
  }

  return {
    send: (event) => socket.send(JSON.stringify(event)),
    sendRaw: (data) => socket.send(data),
    next,
    async take(count, timeoutMs) {
      const frames: Frame[] = [];
      for (let i = 0; i < count; i++) frames.push(await next(timeoutMs));
      return frames;
    },
    async untilComplete(responseId, timeoutMs) {
      const frames: Frame[] = [];
      while (true) {
        const frame = await next(timeoutMs);
        frames.push(frame);
        if (
          frame.response_type === "response" &&
          frame.response_id === responseId &&
          frame.content_complete === true
        ) return frames;
      }
    },
    get buffered() {
      return queue.length;
    },
    close,
    closed: closed.promise,
    [Symbol.asyncDispose]: async () => {
      await close();
    },
  };
}

/**
 * Sends a WebSocket handshake over a raw TCP connection and returns the
 * HTTP status the server answered with, for refusals the WebSocket API hides.
 */
export async function handshakeStatus(
  url: string,
  headers: Record<string, string> = {},
): Promise<number> {
  const target = new URL(url);
  const connection = await Deno.connect({
    hostname: target.hostname.replace(/^\[|\]$/g, ""),
    port: Number(target.port),
  });
  try {
    const extra = Object.entries(headers).map(([name, value]) =>
      `${name}: ${value}\r\n`
    ).join("");
    const request =
      `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;
    await connection.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(1024);
    const read = await connection.read(buffer);
    const head = new TextDecoder().decode(buffer.subarray(0, read ?? 0));
    const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
    if (status === undefined) {
      throw new Error(`Cannot read HTTP status from ${JSON.stringify(head)}`);
    }
    return Number(status);
  } finally {
    connection.close();
  }
}
