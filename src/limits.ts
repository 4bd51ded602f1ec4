/**
 * Bounds on what one call's peer can make the server hold or do: the size
 * of a frame, the length of a transcript, the size of the call details,
 * the rate of frames, and the send queue of a peer that stops reading.
 * Small pure pieces; the session applies them.
 *
 * @module
 */
import type { Config } from "./config/settings.ts";

/** The monotonic clock in ms, one function for every call. */
function monotonicNow(): number {
  return performance.now();
}

/**
 * The wall clock in ms: half the cost of `performance.now()` (no call into
 * the runtime), and fine for a one-second bucket that ignores steps back.
 */
function wallClockNow(): number {
  return Date.now();
}

/**
 * The limits one call works under: the settings of the same names, which
 * {@linkcode Config} documents and owns.
 */
export type InputLimits = Pick<
  Config,
  | "maxFrameBytes"
  | "maxTranscriptItems"
  | "maxCallDetailsBytes"
  | "maxFramesPerSecond"
  | "slowReaderBytes"
  | "slowReaderMs"
>;

/** The limits set by the settings. */
export function inputLimitsOf(config: Config): InputLimits {
  return {
    maxFrameBytes: config.maxFrameBytes,
    maxTranscriptItems: config.maxTranscriptItems,
    maxCallDetailsBytes: config.maxCallDetailsBytes,
    maxFramesPerSecond: config.maxFramesPerSecond,
    slowReaderBytes: config.slowReaderBytes,
    slowReaderMs: config.slowReaderMs,
  };
}

/**
 * Whether a text frame is longer than `maxUnits`, judged by its `length`
 * without reading it. A string's length counts UTF-16 code units, and each
 * unit took at least one byte of UTF-8 on the wire (ASCII one, most other
 * text two or three bytes per unit), so a frame it rejects had more than
 * `maxUnits` bytes; one it accepts had at most three times as many.
 */
export function isFrameTooLarge(frame: string, maxUnits: number): boolean {
  return frame.length > maxUnits;
}

/**
 * The newest `maxItems` of a transcript, or the transcript itself when it
 * is short enough. The newest items are the ones the responder answers;
 * the start of a very long call is what a reply can best do without.
 */
export function newestItems<T>(
  items: readonly T[],
  maxItems: number,
): readonly T[] {
  return items.length > maxItems ? items.slice(-maxItems) : items;
}

/**
 * The state of a per-call frame rate limit: the tokens left and when they
 * were counted. A record, not a closure, so a
 * call's guard can hold it as one small field.
 */
export interface FrameBucket {
  /** Frames that may pass now, fractional between refills. */
  tokens: number;
  /** When `tokens` was counted, in ms of the clock. */
  last: number;
}

/**
 * A frame rate limit's bucket, full: a token bucket holding one second's
 * worth of frames, refilled continuously (by {@linkcode takeFrame}), so a
 * burst of up to `perSecond` frames passes and the sustained rate is
 * `perSecond`. Read once per frame, the clock is the wall clock by default;
 * a step back refills nothing and takes nothing.
 *
 * @param perSecond Frames allowed per second.
 * @param now The clock, in ms; the wall clock by default.
 * @returns The bucket, for {@linkcode takeFrame}.
 */
export function fullFrameBucket(
  perSecond: number,
  now: () => number = wallClockNow,
): FrameBucket {
  return { tokens: perSecond, last: now() };
}

/**
 * Takes a frame from a bucket made by {@linkcode fullFrameBucket}, refilled
 * first for the time since it was last read.
 *
 * @param bucket The call's bucket; updated.
 * @param perSecond Frames allowed per second, as the bucket was made with.
 * @param now The same clock the bucket was made with.
 * @returns True when the frame is within the limit.
 */
export function takeFrame(
  bucket: FrameBucket,
  perSecond: number,
  now: () => number = wallClockNow,
): boolean {
  const at = now();
  if (at > bucket.last) {
    bucket.tokens = Math.min(
      perSecond,
      bucket.tokens + ((at - bucket.last) * perSecond) / 1000,
    );
  }
  bucket.last = at;
  if (bucket.tokens < 1) return false;
  bucket.tokens--;
  return true;
}

/**
 * What a send queue of a given size says about the peer: `reading`, `slow`
 * (over the threshold, for less than the allowed time so far) or `stuck`
 * (over it for longer: the call should be closed).
 */
export type ReaderState = "reading" | "slow" | "stuck";

/**
 * The state of a send queue's watch, one reading (`bufferedAmount`) before
 * each send. A record, not a closure, so a call's
 * sender can hold it as one small field.
 */
export interface SlowReaderWatch {
  /** When the queue went over the threshold, in ms; undefined when under. */
  overSince: number | undefined;
}

/**
 * What a send queue's size means, given the watch's earlier readings.
 *
 * @param watch The call's watch; updated.
 * @param bufferedBytes The queue's size in bytes.
 * @param limits The threshold and how long the queue may stay over it.
 * @param now The clock, in ms; the monotonic clock by default.
 * @returns `reading`, `slow` or `stuck`.
 */
export function readerStateOf(
  watch: SlowReaderWatch,
  bufferedBytes: number,
  limits: Pick<InputLimits, "slowReaderBytes" | "slowReaderMs">,
  now: () => number = monotonicNow,
): ReaderState {
  if (bufferedBytes <= limits.slowReaderBytes) {
    watch.overSince = undefined;
    return "reading";
  }
  const at = now();
  watch.overSince ??= at;
  return at - watch.overSince > limits.slowReaderMs ? "stuck" : "slow";
}
