/**
 * A round asked of the primary model and, when the primary fails before
 * saying anything, of the fallback model at once.
 *
 * @module
 */
import type { ChatTarget } from "./chat_stream.ts";
import type { ModelRequestOutcome, ModelRole } from "../responder.ts";
import type { ModelErrorKind } from "../responder.ts";
import {
  type RoundOptions,
  type RoundResult,
  streamRound,
} from "./model_round.ts";

/** One model a round can be asked of. */
export interface ModelEndpoint {
  /** Where its requests go; the key is redacted from error messages. */
  target: ChatTarget;
  /** The model name. */
  model: string;
}

/** Options of {@linkcode streamRoundWithFallback}. */
export interface FallbackRoundOptions extends Omit<RoundOptions, "target"> {
  /** The model asked first; its name replaces `body.model`. */
  primary: ModelEndpoint;
  /** The model asked when the primary fails before its first spoken piece. */
  fallback: ModelEndpoint | undefined;
  /** Counts each request by the model's role and how it ended. */
  countModelRequest:
    | ((role: ModelRole, outcome: ModelRequestOutcome) => void)
    | undefined;
}

/**
 * Streams one round from the primary model; when it fails (HTTP error,
 * network error, no first token in time, a broken or stalled stream) before
 * anything of it was spoken, logs `model_fallback` and streams the same
 * round from the fallback model, so the caller hears nothing of the switch.
 *
 * A primary that fails after it was heard is not replaced: the fallback
 * would start the answer again from the top, and the caller would hear a
 * half sentence followed by a different whole one. That failure ends the
 * turn with the apology, as when no fallback is set.
 *
 * @throws {Error} When the model (both models, with a fallback) failed.
 */
export async function* streamRoundWithFallback(
  options: FallbackRoundOptions,
): AsyncGenerator<string, RoundResult | undefined> {
  const { primary, fallback, countModelRequest } = options;
  let spoke = false;
  let reason: ModelErrorKind | undefined;
  const speak = (delta: string) => {
    const piece = options.speak(delta);
    if (piece !== "") spoke = true;
    return piece;
  };
  const roundOf = (endpoint: ModelEndpoint): RoundOptions => ({
    ...options,
    target: endpoint.target,
    body: { ...options.body, model: endpoint.model },
    speak,
    countModelError: (kind) => {
      reason = kind;
      options.countModelError?.(kind);
    },
  });
  try {
    const result = yield* streamRound(roundOf(primary));
    countModelRequest?.("primary", result === undefined ? "cancelled" : "ok");
    return result;
  } catch (error) {
    countModelRequest?.("primary", "failed");
    if (fallback === undefined || spoke) throw error;
  }
  options.log.warn("model_fallback", {
    call_id: options.callId,
    response_id: options.responseId,
    reason,
    model: primary.model,
    fallback_model: fallback.model,
  });
  try {
    const result = yield* streamRound(roundOf(fallback));
    countModelRequest?.("fallback", result === undefined ? "cancelled" : "ok");
    return result;
  } catch (error) {
    countModelRequest?.("fallback", "failed");
    throw error;
  }
}
