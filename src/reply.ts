/**
 * One reply run: a responder's reply streamed out under one `response_id`,
 * with the responder watchdog, the silent-turn watchdog, the fallback text
 * after a failure, and one `turn_finished` latency line; the turn's metrics
 * and trace span are told how it went. Section numbers refer to
 * `PROTOCOL.md`.
 *
 * @module
 */
import { createWatchdog, type Watchdog } from "./watchdog.ts";
import { createFirstSentenceWatch } from "./first_sentence.ts";
import { describeError, type Logger } from "./log.ts";
import type { ServerMetrics, TurnKind, TurnOutcome } from "./metrics.ts";
import {
  createResponseEvent,
  createToolCallInvocationEvent,
  createToolCallResultEvent,
  type OutboundEvent,
  type ResponseActions,
  type ResponseEvent,
  withActionFlags,
} from "./protocol/outbound.ts";
import type { Reply, ResponderOptions, ResponsePart } from "./responder.ts";
import type { ToolRunSpan, TurnSpan } from "./tracing.ts";

/**
 * Why a turn's own signal is aborted once the turn is over: one value for
 * every turn, since building a DOMException captures a stack each time.
 */
const RESPONSE_FINISHED = new DOMException("Response finished", "AbortError");

/** No action flags: shared, since most frames carry none. */
const NO_ACTIONS: ResponseActions = Object.freeze({});

/**
 * Asks the responder for a turn's reply; {@linkcode runReply} calls it
 * once, at the start, and keeps no reference to it afterwards.
 */
export type ProduceReply = (
  options: ResponderOptions,
) => Reply | Promise<Reply>;

/** Whether a run may still send, and if not, why. */
export type ReplyLiveness = "live" | "superseded" | "closed";

/** Options of {@linkcode runReply}. */
export interface ReplyOptions {
  /** The call id, for log lines. */
  callId: string;
  /** The id every frame of this reply goes out under. */
  responseId: number;
  /** What the reply answers, for the metrics. */
  kind: TurnKind;
  /**
   * The run's one controller: the caller aborts it when a newer request
   * arrives or the call closes, the run itself on a responder timeout and
   * once it is over. Its signal is the responder's.
   */
  controller: AbortController;
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
  /**
   * After this many ms in which a live run sent nothing, log one
   * `turn_stalled` warning and count it; the run goes on. 0 is off.
   */
  stallMs: number;
  /** Where `responder_failed`, `turn_stalled` and `turn_finished` go. */
  log: Logger;
  /** Told the turn's outcome, latencies, model errors and stall. */
  metrics: ServerMetrics;
  /**
   * The turn's span: the run goes on inside it (so the model's `fetch`
   * nests under it), records its marks and tool runs on it, and ends it.
   */
  span: TurnSpan;
}

/** What a finished run reports. */
export interface ReplyResult {
  /** How the run ended. */
  outcome: TurnOutcome;
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
 * The whole run happens inside `options.span`, which it ends; the metrics
 * are told the outcome and latencies once it is over.
 *
 * The run keeps no reference to `produce` once it has been called, so
 * what it closes over (the request and its transcript) can be collected
 * while the reply is still being sent.
 *
 * @param options Ids, liveness, send, timeouts, fallback, logger, metrics
 * and span.
 * @param produce Asks the responder for the reply.
 * @returns The outcome and the latency marks, once the run is over.
 */
export function runReply(
  options: ReplyOptions,
  produce: ProduceReply,
): Promise<ReplyResult> {
  const { span } = options;
  // With tracing off there is no context to enter: no closure either.
  return span.recording
    ? span.run(() => startReply(options, produce))
    : startReply(options, produce);
}

/**
 * Asks the responder for the reply: a whole string goes out through
 * {@linkcode sendWhole}, which makes no watchdog, closure or stream; any
 * other reply, or a throw, through {@linkcode streamReply}.
 */
function startReply(
  options: ReplyOptions,
  produce: ProduceReply,
): Promise<ReplyResult> {
  const { span } = options;
  const receivedAt = performance.now();
  const marks: Record<string, number> = {};
  const counters = modelCountersOf(options.metrics);
  let produced: Reply | Promise<Reply>;
  try {
    produced = produce({
      signal: options.controller.signal,
      mark(name) {
        const key = `${name}_ms`;
        if (!(key in marks)) {
          markAt(marks, span, name, key, elapsed(receivedAt));
        }
      },
      countModelError: counters.countModelError,
      countModelRequest: counters.countModelRequest,
    });
  } catch (error) {
    produced = Promise.reject(error);
  }
  return typeof produced === "string"
    ? sendWhole(options, receivedAt, marks, produced)
    : streamReply(options, receivedAt, marks, produced);
}

/**
 * Sends a reply given at once as a whole string: one complete frame, which
 * is the first frame, the first sentence (when not empty) and the end. Used
 * after one turn of the microtask queue, as an awaited reply would be, so
 * the caller finishes starting the turn first; a promise reaction rather
 * than an async function, which would keep a frame of its own per turn.
 */
function sendWhole(
  options: ReplyOptions,
  receivedAt: number,
  marks: Record<string, number>,
  text: string,
): Promise<ReplyResult> {
  return Promise.resolve().then(() =>
    sendWholeNow(options, receivedAt, marks, text)
  );
}

function sendWholeNow(
  options: ReplyOptions,
  receivedAt: number,
  marks: Record<string, number>,
  text: string,
): ReplyResult | Promise<ReplyResult> {
  const { controller, span } = options;
  let completeMs: number | undefined;
  if (options.liveness() === "live") {
    try {
      options.send(responseEventOf(options.responseId, text, true));
    } catch (error) {
      return streamReply(options, receivedAt, marks, Promise.reject(error));
    }
    // One clock reading for every moment this frame marks.
    completeMs = elapsed(receivedAt);
    markAt(marks, span, "first_frame", "first_frame_ms", completeMs);
    if (text !== "") {
      markAt(marks, span, "first_sentence", "first_sentence_ms", completeMs);
    }
  }
  const state = options.liveness();
  const outcome: TurnOutcome = state === "live" ? "completed" : state;
  if (!controller.signal.aborted) controller.abort(RESPONSE_FINISHED);
  // Nothing is awaited after the frame: the run ends when it was sent.
  const totalMs = completeMs ?? elapsed(receivedAt);
  return finishReply(options, outcome, marks, totalMs, completeMs);
}

/**
 * Ends a run: its `turn_finished` line (PROTOCOL.md §5.11 names the same
 * stages), built only when it is written, its span and its metrics.
 */
function finishReply(
  options: ReplyOptions,
  outcome: TurnOutcome,
  marks: Record<string, number>,
  totalMs: number,
  completeMs: number | undefined,
  failure?: string,
): ReplyResult {
  const { log } = options;
  if (log.enabled("info")) {
    log.info("turn_finished", {
      call_id: options.callId,
      response_id: options.responseId,
      outcome,
      ...marks,
      total_ms: totalMs,
    });
  }
  options.span.end(outcome, failure);
  tellMetrics(options, outcome, marks, completeMs);
  return { outcome, marks, totalMs };
}

/** Records a moment of the run, unless it was recorded before. */
function markAt(
  marks: Record<string, number>,
  span: TurnSpan,
  name: string,
  key: string,
  ms: number,
): void {
  if (key in marks) return;
  marks[key] = ms;
  span.mark(name, ms);
}

/**
 * Streams a reply that is still to come or made of parts, under the
 * watchdogs, until it ends or the run stops.
 */
async function streamReply(
  options: ReplyOptions,
  receivedAt: number,
  marks: Record<string, number>,
  produced: Reply | Promise<Reply>,
): Promise<ReplyResult> {
  const {
    callId,
    responseId: id,
    controller,
    timeoutMs,
    stallMs,
    log,
    span,
  } = options;
  const { signal } = controller;
  // Called on `options`, which may read the run's state through `this`.
  const isLive = () => options.liveness() === "live";
  // Made on the first wait, so a reply given at once (a string) costs no
  // promise and no timer: `stopped` rejects when the run is aborted
  // (superseded, timed out, closed), even if the responder ignores its
  // signal; the watchdogs are armed only while something is awaited.
  let stopped: Promise<never> | undefined;
  let watchdog: Watchdog | undefined;
  let stall: Watchdog | undefined;
  let timedOut = false;
  // The silent-turn watchdog: re-armed by every frame sent, so a turn costs
  // one timer however many frames it sends; it warns once per turn.
  let watchStall = stallMs > 0;
  // Open tool runs by tool call id, and the newest of them; made by the
  // first tool call.
  let toolRuns: Map<string, ToolRunSpan> | undefined;
  let toolRun: ToolRunSpan | undefined;
  let pending = NO_ACTIONS;
  // Set by a `no_interruption_allowed` part: every later frame carries it.
  let held = NO_ACTIONS;
  // The last character sent, so a fallback after partial text gets a space.
  let lastChar = "";
  const firstSentence = createFirstSentenceWatch();
  let iterator: AsyncIterator<ResponsePart> | undefined;
  let outcome: TurnOutcome = "completed";
  let failure: string | undefined;
  let completeMs: number | undefined;

  /** Arms both watchdogs and makes `stopped`, once, before the first wait. */
  function startWatching(): Promise<never> {
    if (stopped !== undefined) return stopped;
    stopped = signal.aborted
      ? Promise.reject(signal.reason)
      : new Promise<never>((_, rejectStopped) => {
        signal.addEventListener(
          "abort",
          () => rejectStopped(signal.reason),
          { once: true },
        );
      });
    stopped.catch(() => {});
    watchdog = createWatchdog(() => {
      timedOut = true;
      controller.abort(
        new DOMException(
          `No reply from the responder within ${timeoutMs} ms`,
          "TimeoutError",
        ),
      );
    });
    watchdog.arm(timeoutMs);
    stall = createWatchdog(() => {
      watchStall = false;
      log.warn("turn_stalled", {
        call_id: callId,
        response_id: id,
        silent_ms: stallMs,
      });
      options.metrics.turnStalls.inc();
    });
    if (watchStall) stall.arm(stallMs);
    return stopped;
  }

  function send(event: OutboundEvent): void {
    options.send(event);
    if (watchStall) stall?.arm(stallMs);
  }

  function respond(content: string, complete: boolean): void {
    if (!isLive()) return;
    send(
      held === NO_ACTIONS && pending === NO_ACTIONS
        ? responseEventOf(id, content, complete)
        : createResponseEvent({
          response_id: id,
          content,
          content_complete: complete,
          ...held,
          ...pending,
        }),
    );
    pending = NO_ACTIONS;
    if (content !== "") lastChar = content.at(-1)!;
    const first = !("first_frame_ms" in marks);
    const sentence = firstSentence(content, complete);
    if (!first && !sentence && !complete) return;
    // One clock reading for every moment this frame marks.
    const ms = elapsed(receivedAt);
    if (first) markAt(marks, span, "first_frame", "first_frame_ms", ms);
    if (sentence) {
      markAt(marks, span, "first_sentence", "first_sentence_ms", ms);
    }
    if (complete) completeMs = ms;
  }

  try {
    await stream();
  } catch (error) {
    if (isLive()) {
      outcome = timedOut ? "timed_out" : "failed";
      failure = describeError(error);
      log.error("responder_failed", {
        call_id: callId,
        response_id: id,
        error: failure,
      });
      pending = NO_ACTIONS;
      const gap = lastChar === "" || /\s/.test(lastChar) ? "" : " ";
      respond(`${gap}${options.fallbackText}`, true);
    }
  } finally {
    watchdog?.stop();
    stall?.stop();
    const state = options.liveness();
    if (outcome === "completed" && state !== "live") outcome = state;
    if (!signal.aborted) controller.abort(RESPONSE_FINISHED);
    // Leaving early: let the responder's generator run its finally blocks
    // (which cancel its fetch). Not awaited: a stuck responder must not
    // hold this call.
    iterator?.return?.().catch(() => {});
    if (toolRuns !== undefined) {
      for (const toolRun of toolRuns.values()) {
        toolRun.end(`No result: the turn ended ${outcome}`);
      }
    }
  }
  return finishReply(
    options,
    outcome,
    marks,
    elapsed(receivedAt),
    completeMs,
    failure,
  );

  /** Asks for the reply and sends it, until it ends or the run stops. */
  async function stream(): Promise<void> {
    // A reply given at once is used after one turn of the microtask queue,
    // as an awaited one would be, so the caller finishes starting the turn
    // first; a promise is raced against the run stopping.
    const reply = isThenable(produced)
      ? await Promise.race([produced, startWatching()])
      : await produced;
    if (typeof reply === "string") {
      respond(reply, true);
      return;
    }
    const replyIterator = reply[Symbol.asyncIterator]();
    iterator = replyIterator;
    // While a tool runs, the responder resumes inside the tool run's span,
    // so the tool's own spans nest under it.
    const nextPart = () => replyIterator.next();
    const stoppedOrTimedOut = startWatching();
    while (true) {
      const step = await Promise.race([
        toolRun === undefined ? nextPart() : toolRun.run(nextPart),
        stoppedOrTimedOut,
      ]);
      if (!isLive()) return;
      if (step.done) {
        iterator = undefined;
        break;
      }
      watchdog!.arm(timeoutMs);
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
        toolRun = span.startToolRun(part.name, part.toolCallId);
        toolRuns ??= new Map();
        toolRuns.set(part.toolCallId, toolRun);
      } else if (part.type === "tool_call_result") {
        send(createToolCallResultEvent(
          part.toolCallId,
          part.content,
          part.successful,
        ));
        toolRuns?.get(part.toolCallId)?.end(
          part.successful === false ? "The tool reported a failure" : undefined,
        );
        toolRuns?.delete(part.toolCallId);
        toolRun = toolRuns === undefined
          ? undefined
          : [...toolRuns.values()].at(-1);
      } else if (part.type === "no_interruption_allowed") {
        held = { no_interruption_allowed: true };
      } else {
        // Hang-up, transfer and digits ride on the next response frame (§5.6).
        pending = withActionFlags(pending, part);
      }
    }
    respond("", true);
  }
}

/** The counters a responder is given, made once per metrics object. */
type ModelCounters = Pick<
  ResponderOptions,
  "countModelError" | "countModelRequest"
>;

const modelCounters = new WeakMap<ServerMetrics, ModelCounters>();

/** The counters of `metrics` for a responder, made on first use. */
function modelCountersOf(metrics: ServerMetrics): ModelCounters {
  let counters = modelCounters.get(metrics);
  if (counters === undefined) {
    counters = {
      countModelError: (kind) => metrics.modelErrors.inc({ kind }),
      countModelRequest: (role, outcome) =>
        metrics.modelRequests.inc({ role, outcome }),
    };
    modelCounters.set(metrics, counters);
  }
  return counters;
}

/** Tells the metrics how a run went; durations in seconds. */
function tellMetrics(
  options: ReplyOptions,
  outcome: TurnOutcome,
  marks: Readonly<Record<string, number>>,
  completeMs: number | undefined,
): void {
  const { metrics, kind } = options;
  metrics.turns.inc(turnLabelsOf(kind, outcome));
  const labels = kindLabelsOf(kind);
  const firstFrameMs = marks.first_frame_ms;
  if (firstFrameMs !== undefined) {
    metrics.firstFrameSeconds.observe(labels, firstFrameMs / 1000);
  }
  if (completeMs !== undefined) {
    metrics.completeSeconds.observe(labels, completeMs / 1000);
  }
  const firstSentenceMs = marks.first_sentence_ms;
  if (firstSentenceMs !== undefined) {
    metrics.firstSentenceSeconds.observe(labels, firstSentenceMs / 1000);
  }
  const firstTokenMs = marks.first_token_ms;
  if (firstTokenMs !== undefined) {
    metrics.firstTokenSeconds.observe(firstTokenMs / 1000);
  }
}

/** Metric labels of a turn: `{ kind }`, or `{ kind, outcome }`. */
type KindLabels = Readonly<{ kind: TurnKind }>;
type TurnLabels = Readonly<{ kind: TurnKind; outcome: TurnOutcome }>;

/**
 * The label objects of each kind and outcome, made once: the metrics only
 * read them, so a turn builds none.
 */
const kindLabels = new Map<TurnKind, KindLabels>();
const turnLabels = new Map<TurnKind, Map<TurnOutcome, TurnLabels>>();

/** The shared `{ kind }` labels of `kind`. */
function kindLabelsOf(kind: TurnKind): KindLabels {
  let labels = kindLabels.get(kind);
  if (labels === undefined) {
    labels = Object.freeze({ kind });
    kindLabels.set(kind, labels);
  }
  return labels;
}

/** The shared `{ kind, outcome }` labels of the turn counter. */
function turnLabelsOf(kind: TurnKind, outcome: TurnOutcome): TurnLabels {
  let byOutcome = turnLabels.get(kind);
  if (byOutcome === undefined) {
    byOutcome = new Map();
    turnLabels.set(kind, byOutcome);
  }
  let labels = byOutcome.get(outcome);
  if (labels === undefined) {
    labels = Object.freeze({ kind, outcome });
    byOutcome.set(outcome, labels);
  }
  return labels;
}

/**
 * A `response` event with no action flags: what `createResponseEvent`
 * builds, with the same keys in the same order, as one object instead of
 * an options object copied into another, since every frame of every turn
 * makes one.
 */
function responseEventOf(
  id: number,
  content: string,
  complete: boolean,
): ResponseEvent {
  return {
    response_type: "response",
    response_id: id,
    content,
    content_complete: complete,
  };
}

/** Whether the responder's reply is still to come. */
function isThenable(value: Reply | Promise<Reply>): value is Promise<Reply> {
  return typeof (value as Partial<PromiseLike<Reply>>).then === "function";
}

/** Milliseconds since `start`, to a tenth. */
function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}
