/**
 * One call: the protocol state of a single Retell socket, from the config
 * and begin message to the summary line when it closes. Section numbers
 * refer to `PROTOCOL.md`.
 *
 * @module
 */
import type { Logger } from "./log.ts";
import {
  type CallDetails,
  parseInbound,
  type ReminderRequiredRequest,
  type ResponseRequiredRequest,
  type Utterance,
} from "./protocol/inbound.ts";
import {
  type CallConfig,
  createConfigEvent,
  createPingPongEvent,
  encodeOutbound,
  type OutboundEvent,
} from "./protocol/outbound.ts";
import { runReply } from "./reply.ts";
import type {
  CallContext,
  Reply,
  Responder,
  ResponderOptions,
  Turn,
} from "./responder.ts";

/** What the agent says when the responder fails or times out mid-turn. */
export const DEFAULT_FALLBACK_TEXT =
  "I am sorry, I ran into a problem. Could you say that again?";

/** Options of {@linkcode startCallSession}. */
export interface CallSessionOptions {
  /** The call id from the socket URL. */
  callId: string;
  /** Decides what the agent says. */
  responder: Responder;
  /** Where log lines go. */
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
}

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
}

/** A running call. */
export interface CallSession {
  /** The call id. */
  readonly callId: string;
  /** Resolves with the call's counters once the socket has closed. */
  readonly ended: Promise<CallSummary>;
}

/** The response being produced, if any. */
interface ResponseRun {
  readonly id: number;
  readonly controller: AbortController;
}

/**
 * Runs the Retell protocol on an upgraded socket: sends `config` and the
 * begin message, echoes keepalives, answers requests with the responder's
 * reply, abandons a reply the moment a newer `response_id` arrives, and
 * logs bad frames without closing the call.
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
  const { callId, responder, log } = options;
  const callConfig = options.callConfig ??
    { auto_reconnect: true, call_details: true };
  const timeoutMs = options.responderTimeoutMs ?? 30_000;
  const fallbackText = options.fallbackText ?? DEFAULT_FALLBACK_TEXT;
  const debug = log.enabled("debug");
  const startedAt = performance.now();

  const callController = new AbortController();
  const call: CallContext & { details: CallDetails | undefined } = {
    callId,
    details: undefined,
    signal: callController.signal,
  };
  let transcript: readonly Utterance[] = [];
  let latestId = -1;
  let current: ResponseRun | undefined;
  let closed = false;
  let begun = false;
  let detailsTimer: ReturnType<typeof setTimeout> | undefined;
  const counts = { turns: 0, superseded: 0, errors: 0, rejectedFrames: 0 };
  const ended = Promise.withResolvers<CallSummary>();

  socket.addEventListener("open", onOpen);
  socket.addEventListener("message", onMessage);
  socket.addEventListener("close", onClose);
  socket.addEventListener("error", onError);

  function onOpen(): void {
    log.info("call_started", { call_id: callId });
    // config goes first, before the begin message (§2).
    send(createConfigEvent(callConfig));
    if (responder.beginAfterCallDetails && callConfig.call_details) {
      detailsTimer = setTimeout(begin, options.callDetailsTimeoutMs ?? 3_000);
    } else {
      begin();
    }
  }

  function begin(): void {
    clearTimeout(detailsTimer);
    if (begun || closed) return;
    begun = true;
    // A request that came first owns the floor; a greeting now would be stale.
    if (latestId >= 0) return;
    latestId = 0;
    void runResponse(
      0,
      (responderOptions) => responder.begin(call, responderOptions),
    );
  }

  function onMessage(event: MessageEvent): void {
    const data: unknown = event.data;
    if (typeof data !== "string") {
      // Retell never sends binary frames (§1.4); closing would end the call (§5.8).
      reject(
        "binary",
        "Cannot read frame: binary frames are not part of the protocol",
      );
      return;
    }
    const result = parseInbound(data);
    if (!result.ok) {
      if (result.kind === "unknown_type") {
        log.info("frame_ignored", { call_id: callId, reason: result.reason });
      } else {
        reject(result.kind, result.reason);
      }
      return;
    }
    const inbound = result.event;
    if (debug) {
      log.debug("frame_received", {
        call_id: callId,
        interaction_type: inbound.interaction_type,
      });
    }
    switch (inbound.interaction_type) {
      case "ping_pong":
        // Echo Retell's own timestamp at once (§4.4).
        send(createPingPongEvent(inbound.timestamp));
        return;
      case "call_details":
        call.details = inbound.call;
        if (!begun && detailsTimer !== undefined) begin();
        return;
      case "update_only":
        // Keeps the transcript current; never cancels a response (§3.3, §5.1).
        transcript = inbound.transcript;
        return;
      case "response_required":
      case "reminder_required":
        transcript = inbound.transcript;
        startTurn(inbound);
        return;
    }
  }

  function reject(kind: string, reason: string): void {
    counts.rejectedFrames++;
    log.warn("frame_rejected", { call_id: callId, kind, reason });
  }

  function startTurn(
    request: ResponseRequiredRequest | ReminderRequiredRequest,
  ): void {
    const id = request.response_id;
    if (id <= latestId) {
      log.warn("request_out_of_order", {
        call_id: callId,
        response_id: id,
        latest_response_id: latestId,
      });
      return;
    }
    latestId = id;
    if (current !== undefined) {
      // Only the newest id is spoken; stop the old one's work now (§5.1).
      counts.superseded++;
      log.info("response_superseded", {
        call_id: callId,
        response_id: current.id,
        by: id,
      });
      current.controller.abort(
        new DOMException(`Superseded by response ${id}`, "AbortError"),
      );
    }
    counts.turns++;
    const turn: Turn = {
      call,
      responseId: id,
      kind: request.interaction_type === "reminder_required"
        ? "reminder"
        : "response",
      transcript,
      transcriptWithToolCalls: request.transcript_with_tool_calls,
    };
    void runResponse(
      id,
      (responderOptions) => responder.respond(turn, responderOptions),
    );
  }

  /**
   * Runs one reply under `id` (see `reply.ts`) as the current response, so
   * a newer request or the close can abort it.
   */
  async function runResponse(
    id: number,
    produce: (options: ResponderOptions) => Reply | Promise<Reply>,
  ): Promise<void> {
    const run: ResponseRun = { id, controller: new AbortController() };
    current = run;
    const { outcome } = await runReply({
      callId,
      responseId: id,
      produce,
      signal: run.controller.signal,
      liveness: () =>
        closed ? "closed" : latestId === id ? "live" : "superseded",
      send,
      timeoutMs,
      fallbackText,
      log,
    });
    if (current === run) current = undefined;
    if (outcome === "failed") counts.errors++;
  }

  function send(event: OutboundEvent): void {
    const encoded = encodeOutbound(event);
    if (!encoded.ok) {
      // Our bug: Retell would drop it silently (§4.0), so say so loudly.
      log.error("outbound_invalid", {
        call_id: callId,
        reason: encoded.reason,
      });
      return;
    }
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(encoded.text);
    if (debug) {
      log.debug("frame_sent", { call_id: callId, frame: encoded.text });
    }
  }

  function onError(event: Event): void {
    const message = event instanceof ErrorEvent ? event.message : event.type;
    log.warn("socket_error", { call_id: callId, error: message });
  }

  function onClose(event: CloseEvent): void {
    closed = true;
    clearTimeout(detailsTimer);
    const reason = new DOMException("Call closed", "AbortError");
    current?.controller.abort(reason);
    callController.abort(reason);
    const summary: CallSummary = {
      callId,
      durationMs: Math.round(performance.now() - startedAt),
      ...counts,
      closeCode: event.code,
    };
    log.info("call_ended", {
      call_id: callId,
      duration_ms: summary.durationMs,
      turns: summary.turns,
      superseded: summary.superseded,
      errors: summary.errors,
      rejected_frames: summary.rejectedFrames,
      close_code: summary.closeCode,
    });
    ended.resolve(summary);
  }

  return { callId, ended: ended.promise };
}
