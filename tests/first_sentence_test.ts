import assert from "node:assert/strict";
import { createFirstSentenceWatch } from "../src/first_sentence.ts";

/** The index of the frame the watch picks, or -1. */
function pick(frames: [string, boolean][]): number {
  const watch = createFirstSentenceWatch();
  const picked = frames.map(([content, complete]) => watch(content, complete));
  assert.ok(picked.filter(Boolean).length <= 1, "at most one frame is picked");
  return picked.indexOf(true);
}

Deno.test("createFirstSentenceWatch() picks the frame whose text so far ends a sentence", () => {
  assert.equal(pick([["Sure", false], [", Tuesday.", false]]), 1);
  assert.equal(pick([["Really", false], ["?", false], [" Yes.", false]]), 1);
  assert.equal(pick([["Wow! ", false], ["Great.", false]]), 0);
  assert.equal(pick([['She said "fine.', false], ['" Then', false]]), 0);
  assert.equal(pick([["好的。", false]]), 0);
  assert.equal(pick([["本当", false], ["？」", false]]), 1);
  assert.equal(pick([["Ok", false], ["", false], ["!\u201d ", false]]), 2);
});

Deno.test("createFirstSentenceWatch() counts a complete frame after unfinished text", () => {
  assert.equal(pick([["Hmm", false], ["", true]]), 1);
  assert.equal(pick([["All done", true]]), 0);
});

Deno.test("createFirstSentenceWatch() picks nothing without text or a sentence end", () => {
  assert.equal(pick([["", true]]), -1);
  assert.equal(pick([["Let me", false], [" see", false]]), -1);
  assert.equal(pick([["3.5 dollars", false]]), -1);
});
