/** A recorder of the promise rejections nobody handled, for fault tests. */

/** The rejections seen since the recorder started; disposing stops it. */
export interface UnhandledRejections extends Disposable {
  /** Each unhandled rejection's reason, in order. */
  readonly reasons: readonly unknown[];
  /**
   * Resolves after the runtime has had one turn of its event loop to report
   * rejections left unhandled so far.
   */
  settle(): Promise<void>;
}

/**
 * Listens for `unhandledrejection` and keeps each reason instead of letting
 * it end the process, so a test can assert there were none.
 */
export function recordUnhandledRejections(): UnhandledRejections {
  const reasons: unknown[] = [];
  const listener = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    reasons.push(event.reason);
  };
  globalThis.addEventListener("unhandledrejection", listener);
  return {
    reasons,
    // The runtime reports unhandled rejections after the microtask queue
    // drains; one timer turn lets it do so.
    settle: () => new Promise((resolve) => setTimeout(resolve, 0)),
    [Symbol.dispose]() {
      globalThis.removeEventListener("unhandledrejection", listener);
    },
  };
}
