import assert from "node:assert/strict";
import {
  fullFrameBucket,
  isFrameTooLarge,
  newestItems,
  readerStateOf,
  takeFrame,
} from "../src/limits.ts";

/** A frame rate limit of `perSecond` on the clock `now`, as a call's guard holds it. */
function rateLimit(perSecond: number, now: () => number): () => boolean {
  const bucket = fullFrameBucket(perSecond, now);
  return () => takeFrame(bucket, perSecond, now);
}

Deno.test("takeFrame() passes a burst of perSecond frames, then refills at that rate", () => {
  let now = 0;
  const allowFrame = rateLimit(4, () => now);
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => allowFrame()),
    [true, true, true, true, false],
  );
  now = 249;
  assert.equal(allowFrame(), false);
  now = 251;
  assert.equal(allowFrame(), true);
  assert.equal(allowFrame(), false);
  // A long quiet spell refills to one second's worth, no more.
  now = 60_000;
  const burst = Array.from({ length: 6 }, () => allowFrame());
  assert.equal(burst.filter(Boolean).length, 4);
});

Deno.test("takeFrame() neither refills nor drains when the clock steps back", () => {
  let now = 10_000;
  const allowFrame = rateLimit(2, () => now);
  assert.deepEqual([allowFrame(), allowFrame()], [true, true]);
  now = 5_000;
  assert.equal(allowFrame(), false);
  // Half a second after the step back refills one frame, as it would have.
  now = 5_500;
  assert.deepEqual([allowFrame(), allowFrame()], [true, false]);
});

Deno.test("readerStateOf() is stuck only after the queue stays over the threshold past the time", () => {
  let now = 0;
  const watch = { overSince: undefined };
  const limits = { slowReaderBytes: 100, slowReaderMs: 50 };
  const check = (bytes: number) =>
    readerStateOf(watch, bytes, limits, () => now);
  assert.equal(check(100), "reading");
  assert.equal(check(101), "slow");
  now = 50;
  assert.equal(check(500), "slow");
  now = 51;
  assert.equal(check(500), "stuck");
  // Draining below the threshold starts the clock again.
  assert.equal(check(0), "reading");
  now = 200;
  assert.equal(check(101), "slow");
});

Deno.test("isFrameTooLarge() compares a string's length, and newestItems() keeps the end", () => {
  assert.equal(isFrameTooLarge("abcd", 4), false);
  assert.equal(isFrameTooLarge("abcde", 4), true);
  // Three bytes of UTF-8 on the wire, one unit in the string.
  assert.equal(isFrameTooLarge("€€€€", 4), false);
  const items = [1, 2, 3, 4, 5];
  assert.deepEqual(newestItems(items, 2), [4, 5]);
  assert.equal(newestItems(items, 5), items);
});
