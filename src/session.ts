/**
 * One call: the protocol state of a single Retell socket, from the config
 * and begin message (or, on a socket Retell reconnected, the config alone)
 * to the summary line when it closes. Section numbers refer to
 * `PROTOCOL.md`.
 *
 * @module
 */
import type { CallStore } from "./call_store/call_store.ts";
import {
  type CallHandle,
  createCallContext,
  createCallHandle,
} from "./call_handle.ts";
import { DEFAULT_HOOK_TIMEOUT_MS, runHook } from "./call_hooks.ts";
import { type CallMemory, createCallMemory } from "./call_memory.ts";
import { createSender, untilSent } from "./call_sender.ts";
import {
  type CallSummary,
  type CallTally,
  createCallTally,
  endReasonOf,
  logCallEnded,
} from "./call_summary.ts";
import { DEFAULT_CONFIG } from "./config/defaults.ts";
import { createGreeting, type Greeting, type TurnRequest } from "./greeting.ts";
import type { Logger } from "./log.ts";
import {
  createRepeatLimitedLogger,
  type RepeatLimitedLogger,
} from "./repeat_limited_log.ts";
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
import { createResponseSlot, type ResponseSlot } from "./response_slot.ts";
import { type InputLimits, inputLimitsOf } from "./limits.ts";
import {
  type ReadFailureWatch,
  watchReadFailures,
} from "./read_failure_watch.ts";
import { createInboundGuard, type InboundGuard } from "./inbound_guard.ts";
import { type CallSpan, startCallSpan } from "./tracing.ts";

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
  return new CallRun(socket, options);
}

/**
 * One call's state and what it does with its socket's events. A class
 * (STYLE.md §9: it earns its place in memory): its methods are shared by
 * every call, so a call costs its fields alone. With its parts done the
 * same way, an opened session went from 10,416 to 4,902 bytes of heap
 * (10,000 sessions on a fake socket, `gc()` before and after). It is its
 * socket's listener for all four events (`handleEvent`), which saves a
 * function per event.
 */
class CallRun implements CallSession, EventListenerObject {
  readonly callId: string;
  readonly ended: Promise<CallSummary>;
  readonly #socket: WebSocket;
  readonly #responder: Responder;
  readonly #log: RepeatLimitedLogger;
  readonly #metrics: ServerMetrics;
  readonly #callSpan: CallSpan;
  readonly #callConfig: CallConfig;
  readonly #tally: CallTally;
  readonly #limits: InputLimits;
  readonly #send: (event: OutboundEvent) => void;
  readonly #sendResponse: (event: OutboundEvent) => void;
  readonly #inbound: InboundGuard;
  readonly #callController = new AbortController();
  readonly #responderTimeoutMs: number;
  readonly #hookTimeoutMs: number;
  readonly #call: CallContext & { details: CallDetails | undefined };
  readonly #memory: CallMemory;
  readonly #responses: ResponseSlot;
  readonly #greeting: Greeting;
  readonly #resolveEnded: (summary: CallSummary) => void;
  /** Made when a responder, tool or hook first uses the call's actions. */
  #handle: CallHandle | undefined;
  #readFailures: ReadFailureWatch | undefined;
  #opened = false;
  #closed = false;

  constructor(socket: WebSocket, options: CallSessionOptions) {
    const { callId, responder, store } = options;
    this.callId = callId;
    this.#socket = socket;
    this.#responder = responder;
    // One call's repeated warnings are counted, and the count written by
    // the time the call ends.
    const log = createRepeatLimitedLogger(options.log);
    this.#log = log;
    const metrics = options.metrics ?? createServerMetrics();
    this.#metrics = metrics;
    this.#callSpan = startCallSpan(callId);
    this.#callConfig = options.callConfig ?? {
      auto_reconnect: DEFAULT_CONFIG.autoReconnect,
      call_details: DEFAULT_CONFIG.callDetails,
    };
    const tally = createCallTally(callId);
    this.#tally = tally;
    const limits = options.limits ?? inputLimitsOf(DEFAULT_CONFIG);
    this.#limits = limits;
    this.#send = createSender(socket, {
      callId,
      log,
      limits,
      onStuckReader: (bufferedBytes) => this.#onStuckReader(bufferedBytes),
    });
    this.#sendResponse = (event) => this.#sendResponseEvent(event);
    this.#inbound = createInboundGuard({
      callId,
      log,
      metrics,
      counts: tally.counts,
      limits,
    });
    this.#responderTimeoutMs = options.responderTimeoutMs ??
      DEFAULT_CONFIG.responderTimeoutMs;
    this.#hookTimeoutMs = options.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
    this.#call = createCallContext({
      callId,
      details: undefined,
      signal: this.#callController.signal,
      store,
    }, this);
    this.#memory = createCallMemory({ callId, store, log });
    const ended = Promise.withResolvers<CallSummary>();
    this.ended = ended.promise;
    this.#resolveEnded = ended.resolve;
    this.#responses = createResponseSlot({
      callId,
      log,
      send: this.#sendResponse,
      timeoutMs: this.#responderTimeoutMs,
      stallMs: options.turnStallMs ?? DEFAULT_CONFIG.turnStallMs,
      fallbackText: options.fallbackText ?? DEFAULT_FALLBACK_TEXT,
      isClosed: () => this.#closed,
      counts: tally.counts,
      latencies: tally.latencies,
      metrics,
      callSpan: this.#callSpan,
    });
    this.#greeting = createGreeting({
      callId,
      log,
      metrics,
      memory: this.#memory,
      call: this.#call,
      responder,
      callDetails: this.#callConfig.call_details ?? false,
      callDetailsTimeoutMs: options.callDetailsTimeoutMs ?? 3_000,
      responses: this.#responses,
      startTurn: (request) => this.#startTurn(request),
      isEnding: () => this.#handle?.isEnding() ?? false,
    });
    socket.addEventListener("open", this);
    socket.addEventListener("message", this);
    socket.addEventListener("close", this);
    socket.addEventListener("error", this);
  }

  /** Whether a response or an interrupt is being produced now. */
  get responding(): boolean {
    return this.#responses.responding() ||
      (this.#handle?.isSpeaking() ?? false);
  }

  /** See {@linkcode CallSession.whenIdle}. */
  async whenIdle(): Promise<void> {
    await this.#responses.whenIdle();
    await this.#handle?.whenQuiet();
    await untilSent(this.#socket);
  }

  /**
   * The call's handle, made on first use: most calls never interrupt,
   * transfer or update the agent.
   */
  callHandle(): CallHandle {
    this.#handle ??= createCallHandle({
      callId: this.callId,
      log: this.#log,
      send: this.#sendResponse,
      signal: this.#callController.signal,
      takeFloor: () => this.#responses.interrupt(),
      partTimeoutMs: this.#responderTimeoutMs,
    });
    return this.#handle;
  }

  /** The socket's events, all four through this one listener. */
  handleEvent(event: Event): void {
    switch (event.type) {
      case "message":
        return this.#onMessage(event as MessageEvent);
      case "open":
        return this.#onOpen();
      case "close":
        return this.#onClose(event as CloseEvent);
      case "error":
        return this.#onError(event);
    }
  }

  #onOpen(): void {
    this.#socket.removeEventListener("open", this);
    this.#opened = true;
    this.#metrics.liveCalls.inc();
    this.#log.info("call_started", { call_id: this.callId });
    // Retell pings a call with auto_reconnect every 2 s (§4.4), so such a
    // call that hears nothing after a read failure is the failed socket.
    if (this.#callConfig.auto_reconnect) {
      this.#readFailures = watchReadFailures(() => {
        this.#inbound.reject(
          "too_large",
          "Cannot read message: it is longer than the longest string",
        );
        this.#closeCall(MESSAGE_TOO_BIG, "Message too big");
      });
    }
    // config goes first, before the begin message (§2), and again on every
    // socket of a reconnected call (§11).
    this.#send(createConfigEvent(this.#callConfig));
    this.#greeting.open();
  }

  /**
   * Sends a reply's or the handle's event; the first response or
   * interrupt frame marks the call greeted.
   */
  #sendResponseEvent(event: OutboundEvent): void {
    this.#send(event);
    if (
      event.response_type === "response" ||
      event.response_type === "agent_interrupt"
    ) this.#memory.markGreeted();
  }

  #onMessage(event: MessageEvent): void {
    this.#readFailures?.heard();
    const frame = this.#inbound.read(event.data);
    if (frame === undefined) return;
    switch (frame.interaction_type) {
      case "ping_pong":
        // Echo Retell's own timestamp at once (§4.4).
        this.#send(createPingPongEvent(frame.timestamp));
        return;
      case "call_details":
        if (this.#responder.onCallDetails === undefined) {
          this.#takeDetails(frame.call);
        } else void this.#detailsHook(frame.call);
        return;
      case "update_only":
        // Checked when read, never kept: a turn takes its own request's
        // transcript, and an update never cancels a response (§3.3, §5.1).
        return;
      case "response_required":
      case "reminder_required":
        this.#greeting.request(this.#inbound.request(frame));
        return;
    }
  }

  /** The call's details are known: saved, and a held greeting goes out. */
  #takeDetails(details: CallDetails): void {
    this.#call.details = details;
    this.#memory.saveDetails(details);
    this.#greeting.detailsArrived();
  }

  /** Options of the responder's hooks. */
  #hookOptions() {
    return {
      callId: this.callId,
      log: this.#log,
      timeoutMs: this.#hookTimeoutMs,
    };
  }

  /**
   * Runs `onCallDetails` before the details count as known, so the begin
   * message and later turns see the variables it adds.
   */
  async #detailsHook(details: CallDetails): Promise<void> {
    const result = await runHook(
      "onCallDetails",
      () => this.#responder.onCallDetails!(details, this.#call),
      this.#hookOptions(),
    );
    if (this.#closed) return;
    const added = result?.dynamicVariables;
    this.#takeDetails(
      added === undefined ? details : {
        ...details,
        retell_llm_dynamic_variables: {
          ...details.retell_llm_dynamic_variables,
          ...added,
        },
      },
    );
  }

  #onStuckReader(bufferedBytes: number): void {
    this.#log.warn("slow_reader", {
      call_id: this.callId,
      buffered_bytes: bufferedBytes,
      limit_bytes: this.#limits.slowReaderBytes,
      limit_ms: this.#limits.slowReaderMs,
    });
    this.#closeCall(POLICY_VIOLATION, "Peer is not reading");
  }

  /**
   * Closes the socket and ends the call now: a peer that does not read,
   * or a socket that no longer does, may never fire `close`.
   */
  #closeCall(code: number, reason: string): void {
    if (this.#closed) return;
    this.#socket.close(code, reason);
    this.#onClose(new CloseEvent("close", { code, reason }));
  }

  #startTurn(request: TurnRequest): void {
    const turn = toTurn(this.#call, request);
    const responder = this.#responder;
    const started = this.#responses.start(
      turn.responseId,
      request.interaction_type,
      (responderOptions) => responder.respond(turn, responderOptions),
    );
    if (started) {
      this.#handle?.requestArrived();
      this.#tally.counts.turns++;
      this.#memory.touch();
    }
  }

  #onError(event: Event): void {
    const message = event instanceof ErrorEvent ? event.message : event.type;
    this.#log.warn("socket_error", { call_id: this.callId, error: message });
  }

  #onClose(event: CloseEvent): void {
    // Deno fires close twice when its ping goes unanswered (1001 for the
    // timeout, then 1005), and a call the server closed ends at once while
    // its socket may close later: the first is the call's end, reported once.
    if (this.#closed) return;
    this.#closed = true;
    this.#readFailures?.stop();
    this.#greeting.close();
    // The gap a reconnect reports starts here when the server saw the drop.
    this.#memory.touch(true);
    this.#responses.abort(CALL_CLOSED);
    this.#callController.abort(CALL_CLOSED);
    const endReason = endReasonOf(event.code);
    if (this.#opened) {
      this.#metrics.liveCalls.dec();
      this.#metrics.callsEnded.inc({ reason: endReason });
    }
    this.#callSpan.end(endReason, event.code);
    const summary = this.#tally.summarize(event.code);
    this.#log.flush();
    logCallEnded(this.#log, summary);
    this.#resolveEnded(summary);
    const responder = this.#responder;
    if (responder.onCallEnded !== undefined) {
      const call = this.#call;
      void runHook(
        "onCallEnded",
        () => responder.onCallEnded!(summary, call),
        this.#hookOptions(),
      );
    }
  }
}

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
