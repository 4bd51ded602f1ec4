/**
 * One call's watch for the socket read failure `process_guard.ts` reports:
 * a call that has heard nothing since a failure, and hears nothing for a
 * while after, is taken to be the socket that failed. Such a socket reads
 * nothing more and never fires `close`.
 *
 * @module
 */
import {
  offSocketReadFailure,
  onSocketReadFailure,
  type ReadFailureListener,
} from "./process_guard.ts";

/**
 * How long after a socket read failure (a message too large to read, see
 * `process_guard.ts`) a call that has received nothing since is taken to
 * be the failed socket and closed: three of Retell's 2 s keepalive pings
 * (§4.4). Only calls with `auto_reconnect`, which Retell pings, are judged
 * this way; Deno's idle check (a ping its peer's pong cannot answer)
 * closes the others.
 */
const READ_FAILURE_GRACE_MS = 6_000;

/** A call's watch, from {@linkcode watchReadFailures}. */
export interface ReadFailureWatch {
  /** Records that the call received a frame now. */
  heard(): void;
  /** Stops watching: the call has ended. */
  stop(): void;
}

/**
 * Watches for socket read failures on behalf of one call, and calls
 * `onSilent` once the call has been silent for the grace period after one.
 *
 * @param onSilent Called when the call is taken to be the failed socket.
 * @returns The watch; tell it of each frame, and stop it at the close.
 *
 * @example Watching a call
 * ```ts ignore
 * const watch = watchReadFailures(() => socket.close(1009, "Message too big"));
 * socket.addEventListener("message", () => watch.heard());
 * socket.addEventListener("close", () => watch.stop());
 * ```
 */
export function watchReadFailures(onSilent: () => void): ReadFailureWatch {
  const watch = new CallReadWatch(onSilent);
  onSocketReadFailure(watch);
  return watch;
}

/**
 * The watch's state: a class, so the calls share its methods and each
 * pays only for its fields (every call with `auto_reconnect` has one).
 */
class CallReadWatch implements ReadFailureWatch, ReadFailureListener {
  readonly #onSilent: () => void;
  // A count, not a clock: telling the watch of a frame is on every frame's
  // path, and all the watch asks is whether one arrived since a failure.
  #heard = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(onSilent: () => void) {
    this.#onSilent = onSilent;
  }

  heard(): void {
    this.#heard++;
  }

  stop(): void {
    this.#stopped = true;
    offSocketReadFailure(this);
    clearTimeout(this.#timer);
  }

  readFailed(): void {
    if (this.#timer !== undefined) return;
    const heardAtFailure = this.#heard;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped || this.#heard !== heardAtFailure) return;
      this.#onSilent();
    }, READ_FAILURE_GRACE_MS);
  }
}
