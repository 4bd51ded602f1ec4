/**
 * The call's one response in progress: the rule that only the newest
 * `response_id` is spoken (§5.1), each reply's run (see `reply.ts`), the
 * call's latencies and whether it is idle. Section numbers refer to
 * `PROTOCOL.md`.
 *
 * @module
 */
import type { LatencySample } from "./latency_sample.ts";
import type { Logger } from "./log.ts";
import type { ServerMetrics, TurnKind } from "./metrics.ts";
import type { OutboundEvent } from "./protocol/outbound.ts";
import {
  type ProduceReply,
  type ReplyLiveness,
  type ReplyResult,
  runReply,
} from "./reply.ts";
import type { CallSpan } from "./tracing.ts";

/** Options of {@linkcode createResponseSlot}. */
export interface ResponseSlotOptions {
  /** The call id, for log lines. */
  callId: string;
  /** Where log lines go. */
  log: Logger;
  /** Sends one event on the call's socket. */
  send: (event: OutboundEvent) => void;
  /** The responder timeout of each run. */
  timeoutMs: number;
  /** The silent-turn watchdog of each run; 0 is off. */
  stallMs: number;
  /** Spoken when a run fails. */
  fallbackText: string;
  /** Whether the call's socket has closed. */
  isClosed: () => boolean;
  /** The call's counters of superseded and failed responses. */
  counts: { superseded: number; errors: number };
  /** The call's latencies, for its summary; the begin message is left out. */
  latencies: {
    firstFrame: LatencySample;
    firstSentence: LatencySample;
    firstToken: LatencySample;
  };
  /** Told about each run. */
  metrics: ServerMetrics;
  /** The call's span, parent of each run's. */
  callSpan: CallSpan;
}

/** The call's one response in progress, and the newest response id. */
export interface ResponseSlot {
  /** The newest response id taken, or -1 before any. */
  latestId(): number;
  /**
   * Starts a reply under `id` when it is newer than every id before,
   * aborting the response in progress; returns false (and logs) otherwise.
   */
  start(
    id: number,
    kind: TurnKind,
    produce: ProduceReply,
  ): boolean;
  /** Aborts the response in progress, if any. */
  abort(reason: unknown): void;
  /**
   * An interrupt took the floor (§5.5): the response in progress, if any,
   * stops and sends nothing more, as does any run under an id taken so far.
   */
  interrupt(): void;
  /** Whether a response is in progress. */
  responding(): boolean;
  /** Resolves once no response is in progress. */
  whenIdle(): Promise<void>;
}

/** The response being produced, if any. */
interface ResponseRun {
  readonly id: number;
  readonly controller: AbortController;
}

/**
 * Keeps the rule that only the newest `response_id` is spoken (§5.1): a
 * newer id aborts the run in progress at once, and each run checks that
 * its id is still the newest before every send.
 */
export function createResponseSlot(options: ResponseSlotOptions): ResponseSlot {
  const { callId, log, counts, latencies, metrics } = options;
  let latestId = -1;
  // Runs under ids up to this one lost the floor to an interrupt.
  let interruptedThrough = -1;
  let current: ResponseRun | undefined;
  let idle: PromiseWithResolvers<void> | undefined;

  /**
   * Runs one reply under `id` (see `reply.ts`) as the current response, so
   * a newer request or the close can abort it.
   */
  function runResponse(
    id: number,
    kind: TurnKind,
    produce: ProduceReply,
  ): void {
    const run: ResponseRun = { id, controller: new AbortController() };
    current = run;
    const running = runReply({
      callId,
      responseId: id,
      kind,
      controller: run.controller,
      liveness: () => livenessOf(id),
      send: options.send,
      timeoutMs: options.timeoutMs,
      stallMs: options.stallMs,
      fallbackText: options.fallbackText,
      log,
      metrics,
      span: options.callSpan.startTurn(id, kind),
    }, produce);
    // Awaited apart from `produce`, which would keep the request alive.
    void settle(run, kind, running);
  }

  /** Counts a finished run and, if it is still current, clears the slot. */
  async function settle(
    run: ResponseRun,
    kind: TurnKind,
    running: Promise<ReplyResult>,
  ): Promise<void> {
    const { outcome, marks } = await running;
    if (outcome === "failed" || outcome === "timed_out") counts.errors++;
    if (kind !== "begin") {
      if (marks.first_frame_ms !== undefined) {
        latencies.firstFrame.add(marks.first_frame_ms);
      }
      if (marks.first_sentence_ms !== undefined) {
        latencies.firstSentence.add(marks.first_sentence_ms);
      }
      if (marks.first_token_ms !== undefined) {
        latencies.firstToken.add(marks.first_token_ms);
      }
    }
    if (current !== run) return;
    current = undefined;
    idle?.resolve();
    idle = undefined;
  }

  function livenessOf(id: number): ReplyLiveness {
    if (options.isClosed()) return "closed";
    return id === latestId && id > interruptedThrough ? "live" : "superseded";
  }

  return {
    latestId: () => latestId,
    start(id, kind, produce) {
      if (id <= latestId) {
        log.warn("request_out_of_order", {
          call_id: callId,
          response_id: id,
          latest_response_id: latestId,
        });
        return false;
      }
      latestId = id;
      if (current !== undefined) {
        // Only the newest id is spoken; stop the old one's work now (§5.1).
        counts.superseded++;
        metrics.supersededResponses.inc();
        log.info("response_superseded", {
          call_id: callId,
          response_id: current.id,
          by: id,
        });
        current.controller.abort(
          new DOMException(`Superseded by response ${id}`, "AbortError"),
        );
      }
      runResponse(id, kind, produce);
      return true;
    },
    abort(reason) {
      current?.controller.abort(reason);
    },
    interrupt() {
      interruptedThrough = latestId;
      if (current === undefined || current.controller.signal.aborted) return;
      counts.superseded++;
      metrics.supersededResponses.inc();
      log.info("response_interrupted", {
        call_id: callId,
        response_id: current.id,
      });
      current.controller.abort(
        new DOMException("An interrupt took the floor", "AbortError"),
      );
    },
    responding: () => current !== undefined,
    whenIdle() {
      if (current === undefined) return Promise.resolve();
      idle ??= Promise.withResolvers<void>();
      return idle.promise;
    },
  };
}
