/**
 * Waiting for something with a deadline: one timer, cleared however the
 * wait ends, and the one place the server races work against the clock.
 *
 * @module
 */

/** What {@linkcode beforeDeadline} resolves with when the time ran out. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * Settles like `work`, or resolves with {@linkcode TIMED_OUT} once `ms`
 * have passed, whichever comes first. The timer is cleared either way, and
 * a rejection of `work` after the deadline is dropped rather than left
 * unhandled.
 *
 * @param work What is waited for.
 * @param ms Longest wait, in milliseconds.
 * @returns The value of `work`, or {@linkcode TIMED_OUT}.
 *
 * @example A slow answer
 * ```ts
 * import assert from "node:assert/strict";
 * import { beforeDeadline, TIMED_OUT } from "./deadline.ts";
 *
 * const slow = new Promise((resolve) => setTimeout(resolve, 50, "late"));
 * assert.equal(await beforeDeadline(slow, 1), TIMED_OUT);
 * assert.equal(await beforeDeadline(Promise.resolve("now"), 1000), "now");
 * await slow;
 * ```
 */
export async function beforeDeadline<T>(
  work: Promise<T>,
  ms: number,
): Promise<T | typeof TIMED_OUT> {
  work.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
