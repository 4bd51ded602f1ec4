/**
 * The process-level guard against one socket's message ending every call.
 *
 * A WebSocket message assembled from fragments can be longer than the
 * longest string V8 can make (about 512 MiB) while each fragment stays
 * under Deno's 64 MiB frame limit, and `Deno.upgradeWebSocket` has no
 * message size option. Decoding it then throws `TypeError: failed to
 * allocate string; buffer exceeds maximum length` inside that socket's
 * event loop, an async function nobody awaits: an unhandled rejection,
 * which ends the process. The guard marks that one rejection handled, so
 * the process and its other calls live on, logs it, and tells the calls,
 * because the failed socket reads nothing more and never fires `close`:
 * the session that stopped receiving closes it (see `session.ts`).
 *
 * Upstream: a message size option for `Deno.upgradeWebSocket` is asked for
 * in denoland/deno#15809 (open), and denoland/fastwebsockets#140 caps the
 * size of a message collected from fragments; on Deno 2.9.6 neither
 * reaches a server socket, so the guard stays until one does.
 *
 * @module
 */
import type { Logger } from "./log.ts";

/** The message of V8's failure to make a string that long. */
const STRING_TOO_LONG = "failed to allocate string";

/** Told when a socket's event loop failed on a message too large to read. */
export interface ReadFailureListener {
  /** A read failed at `at` (`performance.now()`). */
  readFailed(at: number): void;
}

const listeners = new Set<ReadFailureListener>();
let installed = false;

/**
 * Whether an error is V8's failure to make a string as long as a message
 * that arrived: the failure the guard handles.
 */
function isMessageTooLargeError(error: unknown): boolean {
  return error instanceof TypeError && error.message.includes(STRING_TOO_LONG);
}

/**
 * Tells `listener` of each socket read failure the guard handles, until
 * {@linkcode offSocketReadFailure}. A listener object rather than a
 * function, so a call that listens costs no closure.
 */
export function onSocketReadFailure(listener: ReadFailureListener): void {
  listeners.add(listener);
}

/** Stops telling `listener` of read failures. */
export function offSocketReadFailure(listener: ReadFailureListener): void {
  listeners.delete(listener);
}

/** Options of {@linkcode installProcessGuard}. */
export interface ProcessGuardOptions {
  /** Where `socket_read_failed` goes. */
  log: Logger;
}

/**
 * Keeps the process alive when a socket's message is too large to read:
 * a global `unhandledrejection` listener marks that failure handled
 * (`preventDefault()`), logs `socket_read_failed`, and tells the listeners
 * of {@linkcode onSocketReadFailure}. Every other unhandled rejection is
 * left alone. `serveRetell` installs it; install it yourself when you
 * serve `createRetellServer`'s handler with your own `Deno.serve`.
 * Installing it again does nothing.
 *
 * @example Guarding your own server
 * ```ts ignore
 * installProcessGuard({ log });
 * Deno.serve(createRetellServer({ log }).handler);
 * ```
 */
export function installProcessGuard(options: ProcessGuardOptions): void {
  if (installed) return;
  installed = true;
  const { log } = options;
  globalThis.addEventListener("unhandledrejection", (event) => {
    if (!isMessageTooLargeError(event.reason)) return;
    event.preventDefault();
    log.error("socket_read_failed", {
      error: (event.reason as Error).message,
      reason: "Cannot read message: it is longer than the longest string",
    });
    const at = performance.now();
    for (const listener of listeners) listener.readFailed(at);
  });
}
