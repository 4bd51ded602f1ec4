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
  type ReplyOptions,
  type ReplyResult,
  runReply,
} from "./reply.ts";
import type { CallSpan, TurnSpan } from "./tracing.ts";

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

/**
 * Keeps the rule that only the newest `response_id` is spoken (§5.1): a
 * newer id aborts the run in progress at once, and each run checks that
 * its id is still the newest before every send.
 */
export function createResponseSlot(options: ResponseSlotOptions): ResponseSlot {
  return new SlotState(options);
}

/**
 * A call's response slot. A class (STYLE.md §9) because it earns it in
 * memory: made once per call, its methods on the prototype cost nothing per
 * call. Measured with `_heap_parts.ts`: 1,849 bytes per slot as an object
 * of closures, 1,193 as this class (both counting the call's latency
 * samples the harness makes with it).
 */
class SlotState implements ResponseSlot {
  readonly #options: ResponseSlotOptions;
  #latestId = -1;
  // Runs under ids up to this one lost the floor to an interrupt.
  #interruptedThrough = -1;
  #current: TurnRun | undefined;
  #idle: PromiseWithResolvers<void> | undefined;

  constructor(options: ResponseSlotOptions) {
    this.#options = options;
  }

  latestId(): number {
    return this.#latestId;
  }

  start(id: number, kind: TurnKind, produce: ProduceReply): boolean {
    const options = this.#options;
    const { callId, log } = options;
    if (id <= this.#latestId) {
      log.warn("request_out_of_order", {
        call_id: callId,
        response_id: id,
        latest_response_id: this.#latestId,
      });
      return false;
    }
    this.#latestId = id;
    const current = this.#current;
    if (current !== undefined) {
      // Only the newest id is spoken; stop the old one's work now (§5.1).
      options.counts.superseded++;
      options.metrics.supersededResponses.inc();
      log.info("response_superseded", {
        call_id: callId,
        response_id: current.responseId,
        by: id,
      });
      current.controller.abort(
        new DOMException(`Superseded by response ${id}`, "AbortError"),
      );
    }
    this.#runResponse(id, kind, produce);
    return true;
  }

  abort(reason: unknown): void {
    this.#current?.controller.abort(reason);
  }

  interrupt(): void {
    this.#interruptedThrough = this.#latestId;
    const current = this.#current;
    if (current === undefined || current.controller.signal.aborted) return;
    const options = this.#options;
    options.counts.superseded++;
    options.metrics.supersededResponses.inc();
    options.log.info("response_interrupted", {
      call_id: options.callId,
      response_id: current.responseId,
    });
    current.controller.abort(
      new DOMException("An interrupt took the floor", "AbortError"),
    );
  }

  responding(): boolean {
    return this.#current !== undefined;
  }

  whenIdle(): Promise<void> {
    if (this.#current === undefined) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }

  /**
   * Whether a run under `id` may still send. For this slot's runs only: not
   * part of {@linkcode ResponseSlot}.
   */
  livenessOf(id: number): ReplyLiveness {
    if (this.#options.isClosed()) return "closed";
    return id === this.#latestId && id > this.#interruptedThrough
      ? "live"
      : "superseded";
  }

  /**
   * Runs one reply under `id` (see `reply.ts`) as the current response, so
   * a newer request or the close can abort it.
   */
  #runResponse(id: number, kind: TurnKind, produce: ProduceReply): void {
    const options = this.#options;
    const span = options.callSpan.startTurn(id, kind);
    const run = new TurnRun(this, options, id, kind, span);
    this.#current = run;
    const running = runReply(run, produce);
    // Settled apart from `produce`, which would keep the request alive.
    running.then((result) => this.#settle(run, kind, result));
  }

  /** Counts a finished run and, if it is still current, clears the slot. */
  #settle(run: TurnRun, kind: TurnKind, result: ReplyResult): void {
    const { outcome, marks } = result;
    const { counts, latencies } = this.#options;
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
    if (this.#current !== run) return;
    this.#current = undefined;
    this.#idle?.resolve();
    this.#idle = undefined;
  }
}

/**
 * The response being produced, if any, and the options of its run: the
 * turn's own fields, and the call's read through from the slot's options,
 * so a turn builds no options object and no closure.
 */
class TurnRun implements ReplyOptions {
  readonly #slot: SlotState;
  readonly #call: ResponseSlotOptions;
  readonly responseId: number;
  readonly kind: TurnKind;
  readonly controller = new AbortController();
  readonly span: TurnSpan;

  constructor(
    slot: SlotState,
    call: ResponseSlotOptions,
    responseId: number,
    kind: TurnKind,
    span: TurnSpan,
  ) {
    this.#slot = slot;
    this.#call = call;
    this.responseId = responseId;
    this.kind = kind;
    this.span = span;
  }

  get callId(): string {
    return this.#call.callId;
  }
  get send(): (event: OutboundEvent) => void {
    return this.#call.send;
  }
  get timeoutMs(): number {
    return this.#call.timeoutMs;
  }
  get stallMs(): number {
    return this.#call.stallMs;
  }
  get fallbackText(): string {
    return this.#call.fallbackText;
  }
  get log(): Logger {
    return this.#call.log;
  }
  get metrics(): ServerMetrics {
    return this.#call.metrics;
  }

  liveness(): ReplyLiveness {
    return this.#slot.livenessOf(this.responseId);
  }
}
