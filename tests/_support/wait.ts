/**
 * Waits, with a deadline, for a condition that changes when something
 * happens: whoever changes it calls every function in `waiters`.
 *
 * @param enough Whether the condition holds now.
 * @param waiters Where to register a check; the caller runs each after a change.
 * @param timeoutMs How long to wait.
 * @param describe What did not happen, for the error after `timeoutMs`.
 */
export function waitUntil(
  enough: () => boolean,
  waiters: Set<() => void>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  if (enough()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!enough()) return;
      waiters.delete(check);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(describe()));
    }, timeoutMs);
    waiters.add(check);
    // Under `deno test` a timer call may run queued microtasks: look again.
    check();
  });
}
