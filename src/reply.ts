/**
 * One reply run: a responder's reply streamed out under one `response_id`,
 * with the responder watchdog, the fallback text after a failure, and one
 * `turn_finished` latency line. Section numbers refer to `PROTOCOL.md`.
 *
 * @module
 */
import { createWatchdog } from "./watchdog.ts";
import { describeError, type Logger } from "./log.ts";
import {
  createResponseEvent,
  createToolCallInvocationEvent,
  createToolCallResultEvent,
  type OutboundEvent,
  type ResponseActions,
  withActionFlags,
} from "./protocol/outbound.ts";
import type { Reply, ResponderOptions, ResponsePart } from "./responder.ts";

/** Whether a run may still send, and if not, why. */
export type ReplyLiveness = "live" | "superseded" | "closed";

/** How a reply run ended, as its `turn_finished` line says. */
export type ReplyOutcome = "completed" | "failed" | "superseded" | "closed";

/** Options of {@linkcode runReply}. */
export interface ReplyOptions {
  /** The call id, for log lines. */
  callId: string;
  /** The id every frame of this reply goes out under. */
  responseId: number;
  /** Asks the responder for the reply; called once, at the start. */
  produce: (options: ResponderOptions) => Reply | Promise<Reply>;
  /**
   * Aborts the run: a newer request arrived or the call closed. The
   * responder's signal fires with the same reason.
   */
  signal: AbortSignal;
  /** Checked before every send: a run that is no longer live sends nothing. */
  liveness: () => ReplyLiveness;
  /** Sends one event to Retell. */
  send: (event: OutboundEvent) => void;
  /**
   * Longest wait in ms for the responder's next piece of the reply before
   * the run ends with {@linkcode ReplyOptions.fallbackText}.
   */
  timeoutMs: number;
  /** Spoken when the responder fails or times out. */
  fallbackText: string;
  /** Where `responder_failed` and `turn_finished` go. */
  log: Logger;
}

/** What a finished run reports. */
export interface ReplyResult {
  /** How the run ended. */
  outcome: ReplyOutcome;
  /**
   * Moments of the run in ms since it started, named as in the
   * `turn_finished` line (`first_frame_ms`, the responder's own marks).
   */
  marks: Readonly<Record<string, number>>;
  /** Time from the start of the run to its end. */
  totalMs: number;
}

/**
 * Streams one reply under `options.responseId`. Before every send it checks
 * that the run is still live; after a failure or a timeout it still
 * completes the response with the fallback text, so the agent is never left
 * mute (§5.2). A failing responder does not make it reject.
 *
 * @param options Ids, the producer, liveness, send, timeout, fallback and logger.
 * @returns The outcome and the latency marks, once the run is over.
 */
export async function runReply(options: ReplyOptions): Promise<ReplyResult> {
  const { callId, responseId: id, liveness, send, timeoutMs, log } = options;
  const receivedAt = performance.now();
  const controller = new AbortController();
  const signal = AbortSignal.any([options.signal, controller.signal]);
  const isLive = () => liveness() === "live";
  // One promise and one timer per turn, not per frame: `stopped` rejects when
  // the run is aborted (superseded, timed out, closed), even if the responder
  // ignores its signal.
  const stopped = new Promise<never>((_, rejectStopped) => {
    signal.addEventListener(
      "abort",
      () => rejectStopped(signal.reason),
      { once: true },
    );
  });
  stopped.catch(() => {});
  const watchdog = createWatchdog(() =>
    controller.abort(
      new DOMException(
        `No reply from the responder within ${timeoutMs} ms`,
        "TimeoutError",
      ),
    )
  );
  watchdog.arm(timeoutMs);
  const marks: Record<string, number> = {};
  const mark = (name: string) => {
    marks[`${name}_ms`] ??= elapsed(receivedAt);
  };
  let pending: ResponseActions = {};
  // The last character sent, so a fallback after partial text gets a space.
  let lastChar = "";
  let iterator: AsyncIterator<ResponsePart> | undefined;
  let outcome: ReplyOutcome = "completed";
  let totalMs = 0;

  function respond(content: string, complete: boolean): void {
    if (!isLive()) return;
    send(
      createResponseEvent({
        response_id: id,
        content,
        content_complete: complete,
        ...pending,
      }),
    );
    pending = {};
    if (content !== "") lastChar = content.at(-1)!;
    mark("first_frame");
  }

  try {
    await stream();
  } catch (error) {
    if (isLive()) {
      outcome = "failed";
      log.error("responder_failed", {
        call_id: callId,
        response_id: id,
        error: describeError(error),
      });
      pending = {};
      const gap = lastChar === "" || /\s/.test(lastChar) ? "" : " ";
      respond(`${gap}${options.fallbackText}`, true);
    }
  } finally {
    watchdog.stop();
    const state = liveness();
    if (outcome === "completed" && state !== "live") outcome = state;
    if (!controller.signal.aborted) {
      controller.abort(new DOMException("Response finished", "AbortError"));
    }
    // Leaving early: let the responder's generator run its finally blocks
    // (which cancel its fetch). Not awaited: a stuck responder must not
    // hold this call.
    iterator?.return?.().catch(() => {});
    totalMs = elapsed(receivedAt);
    // One latency record per turn (PROTOCOL.md §5.11 names the same stages).
    log.info("turn_finished", {
      call_id: callId,
      response_id: id,
      outcome,
      ...marks,
      total_ms: totalMs,
    });
  }
  return { outcome, marks, totalMs };

  /** Asks for the reply and sends it, until it ends or the run stops. */
  async function stream(): Promise<void> {
    const reply = await Promise.race([
      options.produce({ signal, mark }),
      stopped,
    ]);
    if (typeof reply === "string") {
      respond(reply, true);
      return;
    }
    iterator = reply[Symbol.asyncIterator]();
    while (true) {
      const step = await Promise.race([iterator.next(), stopped]);
      if (!isLive()) return;
      if (step.done) {
        iterator = undefined;
        break;
      }
      watchdog.arm(timeoutMs);
      // Still live here: nothing was awaited since the check above.
      const part = step.value;
      if (typeof part === "string") {
        if (part !== "") respond(part, false);
      } else if (part.type === "tool_call_invocation") {
        send(createToolCallInvocationEvent(
          part.toolCallId,
          part.name,
          part.arguments,
        ));
      } else if (part.type === "tool_call_result") {
        send(createToolCallResultEvent(
          part.toolCallId,
          part.content,
          part.successful,
        ));
      } else {
        // Hang-up, transfer and digits ride on the next response frame (§5.6).
        pending = withActionFlags(pending, part);
      }
    }
    respond("", true);
  }
}

/** Milliseconds since `start`, to a tenth. */
function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}
