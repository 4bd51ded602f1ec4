/**
 * Spots the first frame of a reply after which the caller has heard a whole
 * sentence: the latency a caller feels, since text-to-speech speaks by the
 * sentence.
 *
 * @module
 */

/**
 * Text ending a sentence: `.`, `!`, `?` or their full-width and CJK forms,
 * possibly followed by closing quotes or brackets and spaces.
 */
const SENTENCE_END_REGEXP = /[.!?。！？．｡][\s"'”’»」』）)\]]*$/u;

/** How much of the text sent so far is kept to look for a sentence end. */
const TAIL_LENGTH = 16;

/**
 * Creates the watch for one reply. Called with each response frame's text,
 * it answers true once: for the first frame after which the text sent so
 * far ends a sentence, or for a complete frame when text was sent and none
 * ended a sentence before.
 *
 * @returns The watch: `(content, complete) => boolean`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createFirstSentenceWatch } from "./first_sentence.ts";
 *
 * const watch = createFirstSentenceWatch();
 * assert.equal(watch("Sure", false), false);
 * assert.equal(watch(", Tuesday works.", false), true);
 * assert.equal(watch(" See you.", false), false);
 * ```
 */
export function createFirstSentenceWatch(): (
  content: string,
  complete: boolean,
) => boolean {
  let tail = "";
  let seen = false;
  return function firstSentence(content, complete) {
    if (seen) return false;
    tail = (tail + content).slice(-TAIL_LENGTH);
    seen = tail !== "" && (complete || SENTENCE_END_REGEXP.test(tail));
    return seen;
  };
}
