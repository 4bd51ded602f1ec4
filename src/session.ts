/**
 * One call: the protocol state of a single Retell socket, from the config
 * and begin message (or, on a socket Retell reconnected, the config alone)
 * to the summary line when it closes. Section numbers refer to
 * `PROTOCOL.md`.
 *
 * @module
 */
import type { CallStore } from "./call_store/call_store.ts";
import { createCallHandle } from "./call_handle.ts";
import { DEFAULT_HOOK_TIMEOUT_MS, runHook } from "./call_hooks.ts";
import { createCallMemory } from "./call_memory.ts";
import { createSender, untilSent } from "./call_sender.ts";
import {
  type CallSummary,
  createCallTally,
  endReasonOf,
  logCallEnded,
} from "./call_summary.ts";
import { DEFAULT_CONFIG } from "./config/defaults.ts";
import { createGreeting, type TurnRequest } from "./greeting.ts";
import type { Logger } from "./log.ts";
import { createRepeatLimitedLogger } from "./repeat_limited_log.ts";
import { createServerMetrics, type ServerMetrics } from "./metrics.ts";
import {
  type CallDetails,
  type ReminderRequiredRequest,
  type ResponseRequiredRequest,
} from "./protocol/inbound.ts";
import {
  type CallConfig,
  createConfigEvent,
  createPingPongEvent,
  type OutboundEvent,
} from "./protocol/outbound.ts";
import type { CallContext, Responder, Turn } from "./responder.ts";
import { createResponseSlot } from "./response_slot.ts";
import { type InputLimits, inputLimitsOf } from "./limits.ts";
import {
  type ReadFailureWatch,
  watchReadFailures,
} from "./read_failure_watch.ts";
import { createInboundGuard } from "./inbound_guard.ts";
import { startCallSpan } from "./tracing.ts";

/** What the agent says when the responder fails or times out mid-turn. */
export const DEFAULT_FALLBACK_TEXT =
  "I am sorry, I ran into a problem. Could you say that again?";

export type { CallSummary } from "./call_summary.ts";

/**
 * Close code for a call the server ends because its peer broke an input
 * limit: 1008, policy violation. Retell ends the call as an error on any
 * code but 1000 (§5.8); 1000 would pass it off as a hang-up.
 */
const POLICY_VIOLATION = 1008;

/**
 * Why a call's signals are aborted when its socket closes: one value for
 * every call, since building a DOMException captures a stack each time.
 */
const CALL_CLOSED = new DOMException("Call closed", "AbortError");

/** Close code for a socket whose message was too large to read: 1009. */
const MESSAGE_TOO_BIG = 1009;

/** Options of {@linkcode startCallSession}. */
export interface CallSessionOptions {
  /** The call id from the socket URL. */
  callId: string;
  /** Decides what the agent says. */
  responder: Responder;
  /**
   * Where log lines go; the call's warnings of one event past ten in ten
   * seconds are counted, and the count written by `call_ended`.
   */
  log: Logger;
  /**
   * Sent as the `config` event before anything else (§2, §4.1).
   *
   * @default {{ auto_reconnect: true, call_details: true }}
   */
  callConfig?: CallConfig;
  /**
   * Longest wait in ms for the responder's next piece of a reply before the
   * turn ends with {@linkcode CallSessionOptions.fallbackText}.
   *
   * @default {30000}
   */
  responderTimeoutMs?: number;
  /**
   * Longest wait in ms for `call_details` when the responder holds its
   * begin message for it; then the begin message goes out without it.
   *
   * @default {3000}
   */
  callDetailsTimeoutMs?: number;
  /**
   * Spoken when the responder fails or times out.
   *
   * @default {DEFAULT_FALLBACK_TEXT}
   */
  fallbackText?: string;
  /**
   * Remembers the call beyond this socket: whether the agent has spoken,
   * the call details, activity, and (through the call context) tool runs.
   * A socket for a call the store knows as greeted gets `config` again but
   * no greeting. Requests wait for the store's answer when the socket
   * opens, so a store should answer promptly (wrap a remote one with
   * `createFallbackCallStore`, as `openCallStore` does); its failures are
   * logged (`call_store_failed`) and never end the call.
   *
   * @default {undefined: every socket is a new call}
   */
  store?: CallStore;
  /**
   * After this many ms in which a live response sent nothing, log one
   * `turn_stalled` warning and count it; the response goes on. 0 is off.
   *
   * @default {5000}
   */
  turnStallMs?: number;
  /**
   * Told what happens on the call: turns, latencies, rejected frames, how
   * it ended. The server passes its own, which `/metrics` renders.
   *
   * @default {createServerMetrics()}
   */
  metrics?: ServerMetrics;
  /**
   * Bounds on the frames read and on the send queue of a peer that stops
   * reading (`src/limits.ts`).
   *
   * @default {inputLimitsOf(DEFAULT_CONFIG)}
   */
  limits?: InputLimits;
  /**
   * Longest run in ms of a responder's `onCallDetails` or `onCallEnded`
   * hook; past it the call goes on without it.
   *
   * @default {DEFAULT_HOOK_TIMEOUT_MS}
   */
  hookTimeoutMs?: number;
}

/** A running call. */
export interface CallSession {
  /** The call id. */
  readonly callId: string;
  /** Resolves with the call's counters once the socket has closed. */
  readonly ended: Promise<CallSummary>;
  /** Whether a response or an interrupt is being produced now. */
  readonly responding: boolean;
  /**
   * Resolves once no response or interrupt is being produced and everything sent has
   * left the socket's queue (or the socket closed): the moment a stopping
   * server may exit without cutting a reply short.
   */
  whenIdle(): Promise<void>;
}

/**
 * Runs the Retell protocol on an upgraded socket: sends `config` and the
 * begin message, echoes keepalives, answers requests with the responder's
 * reply, abandons a reply the moment a newer `response_id` arrives, and
 * logs bad frames without closing the call.
 *
 * With a store, the socket first asks it about the call id. A call that
 * has been greeted (the agent sent a response on an earlier socket) is a
 * reconnect: `config` goes out again, no begin message, `call_reconnected`
 * is logged with the gap since the call's last activity, and the saved
 * call details stand in until Retell sends them again. Everything else is
 * as for a new call; in particular any `response_id` is accepted next,
 * since whether Retell restarts its numbering is undocumented (§11). The
 * session saves the call details when they arrive, marks the call greeted
 * with its first response frame, and records activity on every request and
 * at the close.
 *
 * The message handler never awaits: a ping is echoed even while a reply is
 * streaming (§4.4, §8.13).
 *
 * @param socket A socket from `Deno.upgradeWebSocket`, before it opens.
 * @param options Call id, responder, logger and timing.
 * @returns The session, whose `ended` promise resolves when the socket closes.
 *
 * @example Usage in a handler
 * ```ts ignore
 * const { socket, response } = Deno.upgradeWebSocket(request);
 * startCallSession(socket, { callId, responder: createDummyResponder(), log });
 * return response;
 * ```
 */
export function startCallSession(
  socket: WebSocket,
  options: CallSessionOptions,
): CallSession {
  const { callId, responder, store } = options;
  // One call's repeated warnings are counted, and the count written by the
  // time the call ends.
  const log = createRepeatLimitedLogger(options.log);
  const metrics = options.metrics ?? createServerMetrics();
  const callSpan = startCallSpan(callId);
  const callConfig = options.callConfig ?? {
    auto_reconnect: DEFAULT_CONFIG.autoReconnect,
    call_details: DEFAULT_CONFIG.callDetails,
  };
  const tally = createCallTally(callId);
  const limits = options.limits ?? inputLimitsOf(DEFAULT_CONFIG);
  const send = createSender(socket, { callId, log, limits, onStuckReader });
  const inbound = createInboundGuard({
    callId,
    log,
    metrics,
    counts: tally.counts,
    limits,
  });
  let readFailures: ReadFailureWatch | undefined;

  const callController = new AbortController();
  const responderTimeoutMs = options.responderTimeoutMs ??
    DEFAULT_CONFIG.responderTimeoutMs;
  const hookOptions = {
    callId,
    log,
    timeoutMs: options.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS,
  };
  const handle = createCallHandle({
    callId,
    log,
    send: sendResponse,
    signal: callController.signal,
    takeFloor: () => responses.interrupt(),
    partTimeoutMs: responderTimeoutMs,
  });
  const call: CallContext & { details: CallDetails | undefined } = {
    callId,
    details: undefined,
    signal: callController.signal,
    store,
    ...handle.actions,
  };
  const memory = createCallMemory({ callId, store, log });
  let opened = false;
  let closed = false;
  const ended = Promise.withResolvers<CallSummary>();
  const responses = createResponseSlot({
    callId,
    log,
    send: sendResponse,
    timeoutMs: responderTimeoutMs,
    stallMs: options.turnStallMs ?? DEFAULT_CONFIG.turnStallMs,
    fallbackText: options.fallbackText ?? DEFAULT_FALLBACK_TEXT,
    isClosed: () => closed,
    counts: tally.counts,
    latencies: tally.latencies,
    metrics,
    callSpan,
  });
  const greeting = createGreeting({
    callId,
    log,
    metrics,
    memory,
    call,
    responder,
    callDetails: callConfig.call_details ?? false,
    callDetailsTimeoutMs: options.callDetailsTimeoutMs ?? 3_000,
    responses,
    startTurn,
    isEnding: handle.isEnding,
  });

  socket.addEventListener("open", onOpen);
  socket.addEventListener("message", onMessage);
  socket.addEventListener("close", onClose);
  socket.addEventListener("error", onError);

  function onOpen(): void {
    opened = true;
    metrics.liveCalls.inc();
    log.info("call_started", { call_id: callId });
    // Retell pings a call with auto_reconnect every 2 s (§4.4), so such a
    // call that hears nothing after a read failure is the failed socket.
    if (callConfig.auto_reconnect) {
      readFailures = watchReadFailures(() => {
        inbound.reject(
          "too_large",
          "Cannot read message: it is longer than the longest string",
        );
        closeCall(MESSAGE_TOO_BIG, "Message too big");
      });
    }
    // config goes first, before the begin message (§2), and again on every
    // socket of a reconnected call (§11).
    send(createConfigEvent(callConfig));
    greeting.open();
  }

  /**
   * Sends a reply's or the handle's event; the first response or
   * interrupt frame marks the call greeted.
   */
  function sendResponse(event: OutboundEvent): void {
    send(event);
    if (
      event.response_type === "response" ||
      event.response_type === "agent_interrupt"
    ) memory.markGreeted();
  }

  function onMessage(event: MessageEvent): void {
    readFailures?.heard();
    const frame = inbound.read(event.data);
    if (frame === undefined) return;
    switch (frame.interaction_type) {
      case "ping_pong":
        // Echo Retell's own timestamp at once (§4.4).
        send(createPingPongEvent(frame.timestamp));
        return;
      case "call_details":
        if (responder.onCallDetails === undefined) takeDetails(frame.call);
        else void detailsHook(frame.call);
        return;
      case "update_only":
        // Checked when read, never kept: a turn takes its own request's
        // transcript, and an update never cancels a response (§3.3, §5.1).
        return;
      case "response_required":
      case "reminder_required":
        greeting.request(inbound.request(frame));
        return;
    }
  }

  /** The call's details are known: saved, and a held greeting goes out. */
  function takeDetails(details: CallDetails): void {
    call.details = details;
    memory.saveDetails(details);
    greeting.detailsArrived();
  }

  /**
   * Runs `onCallDetails` before the details count as known, so the begin
   * message and later turns see the variables it adds.
   */
  async function detailsHook(details: CallDetails): Promise<void> {
    const result = await runHook(
      "onCallDetails",
      () => responder.onCallDetails!(details, call),
      hookOptions,
    );
    if (closed) return;
    const added = result?.dynamicVariables;
    takeDetails(
      added === undefined ? details : {
        ...details,
        retell_llm_dynamic_variables: {
          ...details.retell_llm_dynamic_variables,
          ...added,
        },
      },
    );
  }

  function onStuckReader(bufferedBytes: number): void {
    log.warn("slow_reader", {
      call_id: callId,
      buffered_bytes: bufferedBytes,
      limit_bytes: limits.slowReaderBytes,
      limit_ms: limits.slowReaderMs,
    });
    closeCall(POLICY_VIOLATION, "Peer is not reading");
  }

  /**
   * Closes the socket and ends the call now: a peer that does not read,
   * or a socket that no longer does, may never fire `close`.
   */
  function closeCall(code: number, reason: string): void {
    if (closed) return;
    socket.close(code, reason);
    onClose(new CloseEvent("close", { code, reason }));
  }

  function startTurn(request: TurnRequest): void {
    const turn = toTurn(call, request);
    const started = responses.start(
      turn.responseId,
      request.interaction_type,
      (responderOptions) => responder.respond(turn, responderOptions),
    );
    if (started) {
      handle.requestArrived();
      tally.counts.turns++;
      memory.touch();
    }
  }

  function onError(event: Event): void {
    const message = event instanceof ErrorEvent ? event.message : event.type;
    log.warn("socket_error", { call_id: callId, error: message });
  }

  function onClose(event: CloseEvent): void {
    // Deno fires close twice when its ping goes unanswered (1001 for the
    // timeout, then 1005), and a call the server closed ends at once while
    // its socket may close later: the first is the call's end, reported once.
    if (closed) return;
    closed = true;
    readFailures?.stop();
    greeting.close();
    // The gap a reconnect reports starts here when the server saw the drop.
    memory.touch(true);
    responses.abort(CALL_CLOSED);
    callController.abort(CALL_CLOSED);
    const endReason = endReasonOf(event.code);
    if (opened) {
      metrics.liveCalls.dec();
      metrics.callsEnded.inc({ reason: endReason });
    }
    callSpan.end(endReason, event.code);
    const summary = tally.summarize(event.code);
    log.flush();
    logCallEnded(log, summary);
    ended.resolve(summary);
    if (responder.onCallEnded !== undefined) {
      void runHook(
        "onCallEnded",
        () => responder.onCallEnded!(summary, call),
        hookOptions,
      );
    }
  }

  const session = {
    __proto__: sessionPrototype,
    callId,
    ended: ended.promise,
    [isResponding]: () => responses.responding() || handle.isSpeaking(),
    async whenIdle() {
      await responses.whenIdle();
      await handle.whenQuiet();
      await untilSent(socket);
    },
  };
  // The literal's type leaves out the getter it inherits.
  return session as typeof session & CallSession;
}

/** Where a session keeps the function its `responding` getter asks. */
const isResponding = Symbol("isResponding");

/**
 * What every session shares: the `responding` getter. On the prototype
 * rather than in each session's literal, which V8 would keep in its slow
 * dictionary mode, a few hundred bytes more per call.
 */
const sessionPrototype = {
  get responding(): boolean {
    return (this as unknown as { [isResponding]: () => boolean })
      [isResponding]();
  },
};

/** The responder's view of a request, with the request's own transcript. */
function toTurn(
  call: CallContext,
  request: ResponseRequiredRequest | ReminderRequiredRequest,
): Turn {
  return {
    call,
    responseId: request.response_id,
    kind: request.interaction_type === "reminder_required"
      ? "reminder"
      : "response",
    transcript: request.transcript,
    transcriptWithToolCalls: request.transcript_with_tool_calls,
  };
}
