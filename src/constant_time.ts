/**
 * Comparing a presented secret with the configured one without telling,
 * through timing, how much of it was right.
 *
 * @module
 */

/**
 * Compares a presented token with the secret in time that depends only on
 * the presented length, never on where they differ or the secret's length.
 *
 * @param presented The bytes the caller sent.
 * @param secret The configured secret's bytes; not empty.
 * @returns Whether they are the same bytes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { sameBytes } from "./constant_time.ts";
 *
 * const encoder = new TextEncoder();
 * const secret = encoder.encode("s3cret");
 * assert.ok(sameBytes(encoder.encode("s3cret"), secret));
 * assert.ok(!sameBytes(encoder.encode("s3crex"), secret));
 * assert.ok(!sameBytes(encoder.encode("s3cret-and-more"), secret));
 * ```
 */
export function sameBytes(presented: Uint8Array, secret: Uint8Array): boolean {
  let difference = presented.length ^ secret.length;
  for (let index = 0; index < presented.length; index++) {
    difference |= presented[index]! ^ secret[index % secret.length]!;
  }
  return difference === 0;
}
