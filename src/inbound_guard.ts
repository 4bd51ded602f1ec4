/**
 * Reading one inbound frame of a call: the rate and size limits, checked
 * before the frame is parsed, then the parse itself.
 *
 * @module
 */
import type { Logger } from "./log.ts";
import type { FrameRejectKind } from "./metrics.ts";
import { type InboundEvent, parseInbound } from "./protocol/inbound.ts";
import { type InputLimits, isFrameTooLarge } from "./limits.ts";

/** What {@linkcode readFrame} needs besides the frame. */
export interface ReadFrameOptions {
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
export function readFrame(
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
