/**
 * Running a responder's call hooks (`onCallDetails`, `onCallEnded`): an
 * error or a hook that hangs is logged with the call id and never breaks
 * the call.
 *
 * @module
 */
import { beforeDeadline, TIMED_OUT } from "./deadline.ts";
import { describeError, type Logger } from "./log.ts";

/** How long a call hook may run before the call goes on without it, in ms. */
export const DEFAULT_HOOK_TIMEOUT_MS = 5_000;

/** Options of {@linkcode runHook}. */
export interface RunHookOptions {
  /** The call id, for the log line. */
  callId: string;
  /** Where `hook_failed` goes. */
  log: Logger;
  /** Longest wait in ms for the hook. */
  timeoutMs: number;
}

/**
 * Runs a hook and resolves with what it returned, or with undefined when
 * it threw, rejected or ran past `timeoutMs` (then `hook_failed` is logged
 * with the hook's name). Never rejects.
 *
 * @param name The hook's name, for the log line.
 * @param hook The hook, called once.
 * @param options The call id, the logger and the timeout.
 * @returns The hook's result, or undefined.
 */
export async function runHook<T>(
  name: string,
  hook: () => T | Promise<T>,
  options: RunHookOptions,
): Promise<T | undefined> {
  const { callId, log, timeoutMs } = options;
  try {
    const result = await beforeDeadline(
      (async () => await hook())(),
      timeoutMs,
    );
    if (result === TIMED_OUT) {
      throw new DOMException(
        `Cannot finish ${name}: no answer within ${timeoutMs} ms`,
        "TimeoutError",
      );
    }
    return result;
  } catch (error) {
    log.error("hook_failed", {
      call_id: callId,
      hook: name,
      error: describeError(error),
    });
    return undefined;
  }
}
