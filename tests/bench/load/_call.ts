/**
 * The load generator's side of one call: the simulator's WebSocket client
 * playing Retell, which times the begin message and each reply, and lets a scenario watch
 * every `response` frame. Every wait is bounded.
 *
 * @module
 */
import { beforeDeadline, TIMED_OUT } from "../../../src/deadline.ts";
import { openWebSocket } from "../../../src/simulator/_websocket_client.ts";
import {
  concatBytes,
  encodeFrame,
  OPCODE,
} from "../../../src/simulator/_websocket_frames.ts";

/**
 * The generator's sockets: the all-zero mask (legal, RFC 6455 §5.3, and
 * masking becomes a copy) and a 4 KiB read buffer (the server's frames are
 * small; 10,000 sockets with the default 64 KiB hold 640 MiB, which the
 * garbage collector keeps counting).
 */
const CLIENT_OPTIONS = { zeroMask: true, readBufferBytes: 4096 };
const ZERO_MASK = new Uint8Array(4);
const encoder = new TextEncoder();

/**
 * `events` as the bytes of their text frames, one after the other, masked
 * with the all-zero key: a turn's request, encoded before the measured
 * phase and sent with one write.
 */
export function encodeEvents(
  events: readonly Record<string, unknown>[],
): Uint8Array {
  return concatBytes(
    ...events.map((event) =>
      encodeFrame(OPCODE.text, encoder.encode(JSON.stringify(event)), ZERO_MASK)
    ),
  );
}

/** A `response` frame as the generator reads it. */
export interface ResponseFrame {
  response_id: number;
  content: string;
  content_complete: boolean;
}

/** Sees each `response` frame and the `performance.now()` it arrived at. */
export type FrameListener = (frame: ResponseFrame, at: number) => void;

/** An open call. */
export interface LoadCall {
  /** Socket created to begin message complete, ms. */
  readonly connectMs: number;
  /** Sends one inbound event. */
  send(event: Record<string, unknown>): void;
  /** Sends events encoded by {@linkcode encodeEvents}, in one write. */
  sendFrames(frames: Uint8Array): void;
  /** Calls `listener` for every `response` frame until the returned stop. */
  listen(listener: FrameListener): () => void;
  /** Why the socket closed, once it has. */
  readonly closed: Promise<string>;
  /** Closes the socket (1000) and waits up to 5 s for the close. */
  close(): Promise<void>;
}

/** When a reply's first frame and its complete frame arrived. */
export interface ReplyTiming {
  /** Request sent to first frame, ms. */
  firstMs: number;
  /** Request sent to the frame with `content_complete`, ms. */
  doneMs: number;
}

/** Rejects after `ms` with `message` unless `promise` settles first. */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
): Promise<T> {
  const result = await beforeDeadline(promise, ms);
  if (result === TIMED_OUT) throw new Error(message);
  return result;
}

/**
 * Opens a call and waits up to `timeoutMs` for its begin message (response
 * 0, complete). Rejects, with the socket closed, when it does not come.
 *
 * It uses the simulator's client rather than the standard `WebSocket`, whose
 * connection leaves Nagle's algorithm on: a request then waits for the
 * server's delayed ACK (40 ms on Linux) and every latency measures that.
 */
export async function openCall(
  url: string,
  timeoutMs: number,
): Promise<LoadCall> {
  const started = performance.now();
  const socket = await openWebSocket(url, timeoutMs, CLIENT_OPTIONS);
  const listeners = new Set<FrameListener>();
  const closed = Promise.withResolvers<string>();
  const begun = Promise.withResolvers<number>();
  socket.listen({
    message(data) {
      const at = performance.now();
      if (typeof data !== "string") return;
      const frame = JSON.parse(data);
      if (frame.response_type !== "response") return;
      if (frame.response_id === 0) {
        if (frame.content_complete) begun.resolve(at - started);
        return;
      }
      for (const listener of listeners) listener(frame, at);
    },
    close({ code }) {
      const reason = `socket closed with code ${code}`;
      begun.reject(new Error(reason));
      closed.resolve(reason);
    },
  });
  begun.promise.catch(() => {});

  async function close(): Promise<void> {
    socket.close(1000);
    await within(closed.promise, 5000, "socket did not close").catch(() => {});
  }

  let connectMs: number;
  try {
    connectMs = await within(
      begun.promise,
      timeoutMs,
      `no begin message within ${timeoutMs} ms`,
    );
  } catch (error) {
    await close();
    throw error;
  }
  return {
    connectMs,
    send(event) {
      socket.send(JSON.stringify(event));
    },
    sendFrames(frames) {
      socket.sendFrames(frames);
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    closed: closed.promise,
    close,
  };
}

/**
 * Sends a turn's `frames` (from {@linkcode encodeEvents}, the last being the
 * request with `responseId`) in one write and waits up to `timeoutMs` for
 * that reply's complete frame. The clock starts as the write is queued.
 */
export async function takeTurn(
  call: LoadCall,
  responseId: number,
  frames: Uint8Array,
  timeoutMs: number,
): Promise<ReplyTiming> {
  let sentAt = 0;
  let firstMs: number | undefined;
  const done = Promise.withResolvers<ReplyTiming>();
  const stop = call.listen((frame, at) => {
    if (frame.response_id !== responseId) return;
    firstMs ??= at - sentAt;
    if (frame.content_complete) done.resolve({ firstMs, doneMs: at - sentAt });
  });
  try {
    sentAt = performance.now();
    call.sendFrames(frames);
    return await within(
      Promise.race([
        done.promise,
        call.closed.then((reason) => Promise.reject(new Error(reason))),
      ]),
      timeoutMs,
      `no complete reply to ${responseId} within ${timeoutMs} ms`,
    );
  } finally {
    stop();
  }
}

/** Measures how late this process's event loop runs timers. */
export interface LoopDelay {
  /** Stops measuring; the delays seen, ms. */
  stop(): number[];
}

/** Starts a 20 ms timer and records how late each tick fires. */
export function watchLoopDelay(intervalMs = 20): LoopDelay {
  const delays: number[] = [];
  let expected = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    delays.push(Math.max(0, now - expected));
    expected = now + intervalMs;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return delays;
    },
  };
}
