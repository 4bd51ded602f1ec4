/**
 * A socket that plays Retell's side of a call with no opinion about what
 * the server sends: every frame is kept as it came (text or binary) and
 * handed to a callback first, so a property can judge frames a parsing
 * client would reject.
 */
import { waitUntil } from "../_support/wait.ts";

/** One call, seen frame by frame. */
export interface RawCall {
  /** The socket, to send on and close. */
  readonly socket: WebSocket;
  /** Every frame the server sent, in order, as the `message` event carried it. */
  readonly frames: readonly unknown[];
  /** Resolves once `enough()` holds after some frame; rejects after `timeoutMs`. */
  waitFor(
    enough: () => boolean,
    timeoutMs: number,
    describe: () => string,
  ): Promise<void>;
  /** Resolves when the socket has closed, from either side. */
  readonly closed: Promise<CloseEvent>;
}

/**
 * Opens `url` and resolves once the socket is open; `onFrame` sees each
 * frame before it is kept.
 */
export async function openRawCall(
  url: string,
  onFrame: (data: unknown) => void,
): Promise<RawCall> {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const frames: unknown[] = [];
  const waiters = new Set<() => void>();
  const opened = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<CloseEvent>();
  socket.addEventListener("message", (event) => {
    onFrame(event.data);
    frames.push(event.data);
    for (const check of [...waiters]) check();
  });
  socket.addEventListener("open", () => opened.resolve());
  socket.addEventListener("error", () => {});
  socket.addEventListener("close", (event) => {
    opened.reject(new Error(`Cannot open "${url}": closed with ${event.code}`));
    closed.resolve(event);
    for (const check of [...waiters]) check();
  });
  await opened.promise;
  return {
    socket,
    frames,
    waitFor: (enough, timeoutMs, describe) =>
      waitUntil(enough, waiters, timeoutMs, describe),
    closed: closed.promise,
  };
}
