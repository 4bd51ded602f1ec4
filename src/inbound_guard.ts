/**
 * The input limits of one call on what it reads: the frame rate and size,
 * checked before a frame is parsed, the call details' size and the
 * transcript's length. Each rejected frame is counted; a kind of rejection
 * a peer over a limit would repeat on every frame is logged once per call.
 *
 * @module
 */
import type { TurnRequest } from "./greeting.ts";
import type { Logger } from "./log.ts";
import type { FrameRejectKind, ServerMetrics } from "./metrics.ts";
import { type InboundEvent, parseInbound } from "./protocol/inbound.ts";
import {
  createRateLimiter,
  type InputLimits,
  isFrameTooLarge,
  newestItems,
} from "./limits.ts";

/** Options of {@linkcode createInboundGuard}. */
export interface InboundGuardOptions {
  /** The call id, for log lines. */
  callId: string;
  /** Where `frame_rejected`, `frame_ignored` and `transcript_truncated` go. */
  log: Logger;
  /** Told of each rejected frame, by kind. */
  metrics: ServerMetrics;
  /** The call's counters; each rejected frame adds to `rejectedFrames`. */
  counts: { rejectedFrames: number };
  /** The bounds applied. */
  limits: InputLimits;
}

/** A call's checks on what it reads. */
export interface InboundGuard {
  /** The event in an inbound frame, or undefined when it was rejected or ignored. */
  read(data: unknown): InboundEvent | undefined;
  /** Counts and logs a rejected frame (the once-per-call kinds only once). */
  reject(kind: FrameRejectKind, reason: string): void;
  /**
   * A request whose transcript and transcript with tool calls are each cut
   * to their newest `maxTranscriptItems` (logged once per call when cut);
   * the same object when neither is cut.
   */
  request<T extends TurnRequest>(request: T): T;
}

/**
 * Starts one call's inbound checks, with its own rate limit and its own
 * record of which kinds of rejection it has logged.
 *
 * @param options Call id, logger, metrics, counters and limits.
 * @returns The call's guard.
 *
 * @example Reading a frame
 * ```ts ignore
 * const guard = createInboundGuard({ callId, log, metrics, counts, limits });
 * const inbound = guard.read(event.data);
 * ```
 */
export function createInboundGuard(options: InboundGuardOptions): InboundGuard {
  const { callId, log, metrics, counts, limits } = options;
  const allowFrame = createRateLimiter(limits.maxFramesPerSecond);
  const debug = log.enabled("debug");
  /**
   * Kinds of rejection logged once per call, then only counted; made with
   * the first, as most calls have none.
   */
  let loggedOnce: Set<string> | undefined;

  /** Whether `kind` is logged now: true the first time only. */
  function firstOf(kind: string): boolean {
    loggedOnce ??= new Set();
    if (loggedOnce.has(kind)) return false;
    loggedOnce.add(kind);
    return true;
  }

  function reject(kind: FrameRejectKind, reason: string): void {
    counts.rejectedFrames++;
    metrics.framesRejected.inc({ kind });
    // A peer over a limit would otherwise write a line per frame.
    if ((kind === "too_large" || kind === "rate_limited") && !firstOf(kind)) {
      return;
    }
    log.warn("frame_rejected", { call_id: callId, kind, reason });
  }

  /** The newest `maxTranscriptItems` of a transcript; logged once when cut. */
  function transcript<T>(items: readonly T[]): readonly T[] {
    const kept = newestItems(items, limits.maxTranscriptItems);
    if (kept !== items && firstOf("transcript")) {
      log.warn("transcript_truncated", {
        call_id: callId,
        items: items.length,
        kept: kept.length,
      });
    }
    return kept;
  }

  // Made once per call: read() runs on every frame.
  const frameOptions: ReadFrameOptions = {
    callId,
    log,
    debug,
    reject,
    limits,
    allowFrame,
  };

  return {
    read: (data) => readFrame(data, frameOptions),
    reject,
    request(request) {
      const utterances = transcript(request.transcript);
      const withTools = request.transcript_with_tool_calls;
      const keptWithTools = withTools === undefined
        ? undefined
        : transcript(withTools);
      if (utterances === request.transcript && keptWithTools === withTools) {
        return request;
      }
      return {
        ...request,
        transcript: [...utterances],
        transcript_with_tool_calls: keptWithTools && [...keptWithTools],
      };
    },
  };
}

/** What {@linkcode readFrame} needs besides the frame. */
interface ReadFrameOptions {
  /** The call id, for log lines. */
  callId: string;
  /** Where `frame_ignored` and, at debug, `frame_received` go. */
  log: Logger;
  /** Whether the log takes debug lines. */
  debug: boolean;
  /** Counts and logs a frame that is not a valid event. */
  reject: (kind: FrameRejectKind, reason: string) => void;
  /** The sizes read. */
  limits: Pick<InputLimits, "maxFrameBytes" | "maxCallDetailsBytes">;
  /** Takes a frame from the call's rate limit: false when over it. */
  allowFrame: () => boolean;
}

/**
 * The event in an inbound frame, or undefined when there is none: a frame
 * over the call's rate or size limit, or that is not a valid event, is
 * rejected and one of an unknown type ignored, and none closes the call.
 * The limits are checked before the frame is parsed.
 */
function readFrame(
  data: unknown,
  options: ReadFrameOptions,
): InboundEvent | undefined {
  const { callId, log, reject, limits } = options;
  if (!options.allowFrame()) {
    reject(
      "rate_limited",
      "Cannot read frame: the call sends more frames per second than allowed",
    );
    return undefined;
  }
  if (typeof data !== "string") {
    // Retell never sends binary frames (§1.4); closing would end the call (§5.8).
    reject(
      "binary",
      "Cannot read frame: binary frames are not part of the protocol",
    );
    return undefined;
  }
  if (isFrameTooLarge(data, limits.maxFrameBytes)) {
    reject(
      "too_large",
      `Cannot read frame: ${data.length} characters is over the limit of ${limits.maxFrameBytes}`,
    );
    return undefined;
  }
  const result = parseInbound(data);
  if (!result.ok) {
    if (result.kind === "unknown_type") {
      log.info("frame_ignored", { call_id: callId, reason: result.reason });
    } else {
      reject(result.kind, result.reason);
    }
    return undefined;
  }
  const inbound = result.event;
  if (
    inbound.interaction_type === "call_details" &&
    isFrameTooLarge(data, limits.maxCallDetailsBytes)
  ) {
    reject(
      "too_large",
      `Cannot keep call details: ${data.length} characters is over the limit of ${limits.maxCallDetailsBytes}`,
    );
    return undefined;
  }
  if (options.debug) {
    log.debug("frame_received", {
      call_id: callId,
      interaction_type: inbound.interaction_type,
    });
  }
  return inbound;
}
