/**
 * A deadline that can be pushed back cheaply: {@linkcode Watchdog.arm} only
 * records a time, and the single timer re-checks when it fires, so renewing
 * the deadline on every streamed piece creates no timer per piece.
 */
export interface Watchdog {
  /** Moves the deadline to `ms` from now. */
  arm(ms: number): void;
  /** Cancels the deadline; `onExpire` will not run. */
  stop(): void;
}

/**
 * Creates a watchdog that calls `onExpire` once when a deadline set with
 * `arm` passes without being renewed.
 *
 * @param onExpire Called when the deadline passes.
 * @returns The watchdog, not armed yet.
 */
export function createWatchdog(onExpire: () => void): Watchdog {
  let deadline = Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerAt = Infinity;

  function schedule(at: number): void {
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(check, Math.max(0, at - performance.now()));
  }

  function check(): void {
    timer = undefined;
    timerAt = Infinity;
    if (deadline === Infinity) return;
    if (performance.now() < deadline) {
      schedule(deadline);
      return;
    }
    deadline = Infinity;
    onExpire();
  }

  return {
    arm(ms) {
      deadline = performance.now() + ms;
      // A later deadline waits for the running timer to re-check; an earlier
      // one needs the timer moved forward.
      if (timer === undefined || deadline < timerAt) schedule(deadline);
    },
    stop() {
      deadline = Infinity;
      clearTimeout(timer);
      timer = undefined;
      timerAt = Infinity;
    },
  };
}
