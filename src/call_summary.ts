/**
 * How a call ended: its counters, the class of its close code, and the
 * `call_ended` line that reports them. Section numbers refer to
 * `PROTOCOL.md`.
 *
 * @module
 */
import {
  createLatencySample,
  type LatencySample,
  type LatencySummary,
} from "./latency_sample.ts";
import type { Logger } from "./log.ts";
import type { CallEndReason } from "./metrics.ts";

/** Counters of a finished call, as logged in its `call_ended` line. */
export interface CallSummary {
  /** The call id. */
  callId: string;
  /** Time from the session's start to the socket's close. */
  durationMs: number;
  /** Requests answered or started: `response_required` and `reminder_required`. */
  turns: number;
  /** Responses abandoned because a newer `response_id` arrived. */
  superseded: number;
  /** Turns that failed or timed out and ended with the fallback text. */
  errors: number;
  /** Inbound frames that were not valid events. */
  rejectedFrames: number;
  /** Close code of the socket. */
  closeCode: number;
  /**
   * Request to first response frame over the turns that sent one and
   * finished before the socket closed (the begin message left out);
   * undefined when none did.
   */
  firstFrame: LatencySummary | undefined;
  /**
   * Request to the first frame that ends a sentence, over the same turns;
   * undefined when none sent one.
   */
  firstSentence: LatencySummary | undefined;
  /**
   * Request to the model's first token over the same turns, where the
   * responder marked one (the LLM responder does); undefined when none did.
   */
  firstToken: LatencySummary | undefined;
}

/** A call's counters as it runs, and its summary when it closes. */
export interface CallTally {
  /** Counters the session and its response slot add to. */
  readonly counts: {
    turns: number;
    superseded: number;
    errors: number;
    rejectedFrames: number;
  };
  /** The call's latencies; the begin message is left out. */
  readonly latencies: {
    firstFrame: LatencySample;
    firstSentence: LatencySample;
    firstToken: LatencySample;
  };
  /** The call's summary, timed from the tally's creation to now. */
  summarize(closeCode: number): CallSummary;
}

/**
 * Starts a call's tally; its duration runs from now.
 *
 * @param callId The call id, for the summary.
 * @returns Zeroed counters, empty latencies.
 */
export function createCallTally(callId: string): CallTally {
  return new CallTallyState(callId);
}

/**
 * A {@linkcode CallTally}. A class with #private fields, not a literal with
 * a closure, because every call holds one: `summarize` lives once on the
 * prototype (with its three samples, measured 1,107 bytes a call before,
 * 395 after).
 */
class CallTallyState implements CallTally {
  // First, as the factory's duration ran from its first line.
  readonly #startedAt = performance.now();
  readonly counts = { turns: 0, superseded: 0, errors: 0, rejectedFrames: 0 };
  readonly latencies = {
    firstFrame: createLatencySample(),
    firstSentence: createLatencySample(),
    firstToken: createLatencySample(),
  };
  readonly #callId: string;

  constructor(callId: string) {
    this.#callId = callId;
  }

  summarize(closeCode: number): CallSummary {
    const { counts, latencies } = this;
    return {
      callId: this.#callId,
      durationMs: Math.round(performance.now() - this.#startedAt),
      ...counts,
      closeCode,
      firstFrame: latencies.firstFrame.summary(),
      firstSentence: latencies.firstSentence.summary(),
      firstToken: latencies.firstToken.summary(),
    };
  }
}

/** The close code's class (§5.8). */
export function endReasonOf(code: number): CallEndReason {
  if (code === 1000 || code === 1005) return "normal";
  return code === 1006 ? "dropped" : "error";
}

/** Writes the call's summary line. */
export function logCallEnded(log: Logger, summary: CallSummary): void {
  const { firstFrame, firstSentence, firstToken } = summary;
  log.info("call_ended", {
    call_id: summary.callId,
    duration_ms: summary.durationMs,
    turns: summary.turns,
    superseded: summary.superseded,
    errors: summary.errors,
    rejected_frames: summary.rejectedFrames,
    close_code: summary.closeCode,
    ...firstFrame && {
      first_frame_p50_ms: firstFrame.p50Ms,
      first_frame_max_ms: firstFrame.maxMs,
    },
    ...firstSentence && {
      first_sentence_p50_ms: firstSentence.p50Ms,
      first_sentence_max_ms: firstSentence.maxMs,
    },
    ...firstToken && {
      first_token_p50_ms: firstToken.p50Ms,
      first_token_max_ms: firstToken.maxMs,
    },
  });
}
