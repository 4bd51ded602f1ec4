/**
 * One simulated call: {@linkcode startSimulatedCall} opens a socket to a
 * server the way Retell does, plays Retell's side of the protocol (requests,
 * reminders, keepalives, call details), keeps the transcript, referees every
 * frame the server sends with a {@linkcode ConformanceChecker}, and reports
 * what happens as typed {@linkcode SimulatorEvent}s. Section numbers refer to
 * `PROTOCOL.md`.
 *
 * @module
 */
import type { CallDetails, Utterance } from "../protocol/inbound.ts";
import {
  actionOfFlags,
  type CallAction,
  type CallConfig,
  type ResponseActions,
  withActionFlags,
} from "../protocol/outbound.ts";
import {
  type ClientSocket,
  openWebSocket,
  SimulatorConnectError,
  type SocketClose,
} from "./_websocket_client.ts";
import {
  type ConformanceChecker,
  type ConformanceOptions,
  createConformanceChecker,
  type Violation,
} from "./conformance.ts";
import { buildCallUrl, randomCallId } from "./call_url.ts";
import type { ResponseRecord } from "./response_record.ts";
import type {
  ClosedEvent,
  RequestSentEvent,
  SimulatorEvent,
  ToolCallResultReceivedEvent,
} from "./simulator_event.ts";

/** Options of {@linkcode startSimulatedCall}. */
export interface SimulatedCallOptions {
  /**
   * The server's socket URL without the call id, as configured in Retell
   * (`ws://127.0.0.1:8080/llm-websocket`). `http:` and `https:` are dialled
   * as `ws:` and `wss:`; a query string is kept after the call id.
   */
  url: string;
  /**
   * The call id appended to the URL.
   *
   * @default {`sim_` and 12 random hex digits}
   */
  callId?: string;
  /**
   * Dynamic variables of the call, sent in `call_details` as
   * `retell_llm_dynamic_variables` when the server's config asks for it.
   *
   * @default {{}}
   */
  variables?: Readonly<Record<string, string>>;
  /** Receives every {@linkcode SimulatorEvent} as it happens. */
  onEvent?: (event: SimulatorEvent) => void;
  /** Deadlines of the protocol referee. */
  conformance?: ConformanceOptions;
  /**
   * Keepalive period when the server's config turns on `auto_reconnect` (§3.1).
   *
   * @default {2000}
   */
  pingIntervalMs?: number;
  /**
   * How often the time-based rules (late echoes, missing begin, responses
   * left open) are checked.
   *
   * @default {250}
   */
  checkIntervalMs?: number;
  /**
   * Frames under an older id that arrive right after the simulator sent a
   * newer request were already on their way, and Retell would drop them
   * without blaming the server. They count as stale only once the server
   * has sent a frame under the newer id, or this long after the request.
   *
   * @default {500}
   */
  inFlightGraceMs?: number;
  /**
   * Longest wait for the server to accept the socket; Retell waits 7 s per
   * attempt (§1.5).
   *
   * @default {7000}
   */
  connectTimeoutMs?: number;
}

/** A call in progress; see {@linkcode startSimulatedCall}. */
export interface SimulatedCall extends AsyncDisposable {
  /** The call id appended to the URL. */
  readonly callId: string;
  /** The full URL dialled. */
  readonly url: string;
  /** The server's config, once it has sent one. */
  readonly config: CallConfig | undefined;
  /** The transcript as Retell would send it: agent text as accepted, caller lines as said. */
  readonly transcript: readonly Utterance[];
  /** Every violation so far, in order. */
  readonly violations: readonly Violation[];
  /** The newest response id requested (0: the begin message). */
  readonly latestResponseId: number;
  /** Whether requests can be sent: false once either side has begun to close. */
  readonly isOpen: boolean;
  /** Whether the socket has closed. */
  readonly isClosed: boolean;
  /** Resolves with the close event's details once the socket has closed. */
  readonly closed: Promise<ClosedEvent>;
  /**
   * A snapshot of one response.
   *
   * @param responseId The id.
   * @returns The response, or undefined when it was never requested.
   */
  response(responseId: number): ResponseRecord | undefined;
  /**
   * Says a caller's line as Retell would: `update_only` with the first half
   * of the words (`turntaking: "user_turn"`), `update_only` with the whole
   * line, then `response_required` under the next id. A response still
   * streaming is superseded, as when a caller barges in.
   *
   * @param text The caller's words.
   * @returns The id the reply must come under.
   * @throws {Error} When the call has ended.
   */
  say(text: string): number;
  /**
   * Sends `reminder_required` under the next id, as Retell does after the
   * caller stayed silent (§5.4).
   *
   * @returns The id the reply must come under.
   * @throws {Error} When the call has ended.
   */
  remind(): number;
  /**
   * Waits until a response is complete, superseded or cut by the close, or
   * `timeoutMs` passes. Never rejects.
   *
   * @param responseId The id.
   * @param timeoutMs Longest wait.
   * @returns A snapshot of the response; `status` tells which happened.
   */
  waitForCompletion(
    responseId: number,
    timeoutMs: number,
  ): Promise<ResponseRecord>;
  /**
   * Waits until a response's first frame arrives, or it ends without one, or
   * `timeoutMs` passes. Never rejects.
   *
   * @param responseId The id.
   * @param timeoutMs Longest wait.
   * @returns A snapshot of the response.
   */
  waitForFirstFrame(
    responseId: number,
    timeoutMs: number,
  ): Promise<ResponseRecord>;
  /**
   * Hangs up: closes the socket with code 1000 and waits for the close.
   *
   * @returns The close event's details.
   */
  close(): Promise<ClosedEvent>;
}

export { SimulatorConnectError };

/** Internal state of one response. */
interface ResponseState extends ResponseRecord {
  /** When it was requested (performance.now), or when the socket opened. */
  requestedAt: number;
  /** Index of its agent utterance in the transcript, once it has text. */
  utterance: number | undefined;
  /** Action flags seen on its frames. */
  flags: ResponseActions;
}

/** A pending wait for a response. */
interface Waiter {
  responseId: number;
  until: "first_frame" | "complete";
  resolve: (record: ResponseRecord) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Opens a call to a server as Retell does and plays Retell's side of it.
 *
 * Once open, the simulator waits for the server's frames: each is checked by
 * the protocol referee; `config` turns on keepalives (`ping_pong` every
 * `pingIntervalMs`) and `call_details` when asked; response text is
 * accepted only under the latest request and until it completes, as Retell
 * does (§5.1). A completed response carrying `end_call` hangs up, as Retell
 * would after speaking it.
 *
 * @param options The server's URL and how to play the call.
 * @returns The call, once the socket is open.
 * @throws {TypeError} When the URL is not usable.
 * @throws {SimulatorConnectError} When the socket cannot be opened.
 *
 * @example Usage against a running server
 * ```ts ignore
 * import { startSimulatedCall } from "./call.ts";
 *
 * await using call = await startSimulatedCall({
 *   url: "ws://127.0.0.1:8080/llm-websocket",
 * });
 * const begin = await call.waitForCompletion(0, 5000);
 * const id = call.say("What time is it?");
 * const reply = await call.waitForCompletion(id, 5000);
 * console.log(begin.text, reply.text, reply.firstFrameMs, call.violations);
 * ```
 */
export async function startSimulatedCall(
  options: SimulatedCallOptions,
): Promise<SimulatedCall> {
  const callId = options.callId ?? randomCallId();
  const url = buildCallUrl(options.url, callId);
  const emit = options.onEvent ?? (() => {});
  const pingIntervalMs = options.pingIntervalMs ?? 2000;
  const checkIntervalMs = options.checkIntervalMs ?? 250;
  const graceMs = options.inFlightGraceMs ?? 500;
  const connectTimeoutMs = options.connectTimeoutMs ?? 7000;

  const socket: ClientSocket = await openWebSocket(url, connectTimeoutMs);

  const openedAt = performance.now();
  const checker: ConformanceChecker = createConformanceChecker(
    options.conformance,
  );
  const transcript: Utterance[] = [];
  const responses = new Map<number, ResponseState>();
  const waiters = new Set<Waiter>();
  const violations: Violation[] = [];
  /** Responses an `agent_interrupt` cancelled. */
  const cancelled = new Set<number>();
  /** Sent ping timestamps → performance.now at sending. */
  const pings = new Map<number, number>();
  const interrupts: {
    id: number;
    text: string;
    utterance: number;
    flags: ResponseActions;
  } = { id: -1, text: "", utterance: -1, flags: {} };
  const closed = Promise.withResolvers<ClosedEvent>();
  let config: CallConfig | undefined;
  let latestId = 0;
  let lastPing = 0;
  let detailsSent = false;
  let closing = false;
  let isClosed = false;
  let pingTimer: ReturnType<typeof setInterval> | undefined;
  /** A request the referee has not been told of yet, while frames may still be in flight. */
  let pending: { id: number; timer: ReturnType<typeof setTimeout> } | undefined;

  responses.set(0, newResponse(0, "begin", openedAt));
  const checkTimer = setInterval(() => {
    for (const violation of checker.check()) report(violation);
  }, checkIntervalMs);

  emit({ type: "open", at: 0, callId, url });
  socket.listen({ message: onMessage, close: onClose });

  function since(time = performance.now()): number {
    return Math.round((time - openedAt) * 10) / 10;
  }

  function newResponse(
    responseId: number,
    kind: ResponseRecord["kind"],
    requestedAt: number,
    said?: string,
  ): ResponseState {
    const state: ResponseState = {
      responseId,
      kind,
      text: "",
      frames: 0,
      firstFrameMs: undefined,
      completeMs: undefined,
      status: "waiting",
      action: undefined,
      requestedAt,
      utterance: undefined,
      flags: {},
    };
    if (said !== undefined) state.said = said;
    return state;
  }

  function snapshot(state: ResponseState): ResponseRecord {
    const record: ResponseRecord = {
      responseId: state.responseId,
      kind: state.kind,
      text: state.text,
      frames: state.frames,
      firstFrameMs: state.firstFrameMs,
      completeMs: state.completeMs,
      status: state.status,
      action: state.action,
    };
    if (state.said !== undefined) record.said = state.said;
    return record;
  }

  function report(violation: Violation): void {
    if (
      violation.code === "never_completed" &&
      violation.responseId !== undefined && cancelled.has(violation.responseId)
    ) return;
    violations.push(violation);
    emit({ type: "violation", at: since(), violation });
  }

  function send(frame: Record<string, unknown>): void {
    socket.send(JSON.stringify(frame));
  }

  /** Tells the referee of the newest request, ending the in-flight window. */
  function flushPending(): void {
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    checker.requested(pending.id);
    pending = undefined;
  }

  function request(
    kind: "response" | "reminder",
    said: string | undefined,
  ): number {
    if (isClosed || closing || !socket.isOpen) {
      throw new Error(
        `Cannot ${kind === "reminder" ? "remind" : "say"}: the call has ended`,
      );
    }
    const id = latestId + 1;
    const previous = responses.get(latestId);
    latestId = id;
    const now = performance.now();
    if (
      previous !== undefined &&
      (previous.status === "waiting" || previous.status === "streaming")
    ) {
      previous.status = "superseded";
      previous.utterance = undefined;
      emit({
        type: "response_interrupted",
        at: since(now),
        ...snapshot(previous),
        by: id,
      });
      settleWaiters();
    }
    if (said !== undefined) {
      const words = said.trim().split(/\s+/);
      const half = Math.floor(words.length / 2);
      const partial = half > 0 ? words.slice(0, half).join(" ") : undefined;
      if (partial !== undefined) {
        send({
          interaction_type: "update_only",
          transcript: [...transcript, { role: "user", content: partial }],
          turntaking: "user_turn",
        });
      }
      transcript.push({ role: "user", content: said });
      send({
        interaction_type: "update_only",
        transcript,
        ...(partial === undefined && { turntaking: "user_turn" }),
      });
    }
    responses.set(id, newResponse(id, kind, now, said));
    send({
      interaction_type: kind === "reminder"
        ? "reminder_required"
        : "response_required",
      response_id: id,
      transcript,
    });
    // Frames under the old id may already be on their way: they are not
    // stale until the server shows it has seen this request.
    flushPending();
    pending = { id, timer: setTimeout(flushPending, graceMs) };
    const event: RequestSentEvent = {
      type: "request",
      at: since(now),
      responseId: id,
      kind,
    };
    if (said !== undefined) event.said = said;
    emit(event);
    return id;
  }

  function sendPing(): void {
    const timestamp = Math.max(Date.now(), lastPing + 1);
    lastPing = timestamp;
    pings.set(timestamp, performance.now());
    checker.pinged(timestamp);
    send({ interaction_type: "ping_pong", timestamp });
  }

  function sendCallDetails(): void {
    detailsSent = true;
    const call: CallDetails = {
      call_id: callId,
      agent_id: "simulator",
      call_type: "web_call",
      call_status: "registered",
      metadata: {},
      retell_llm_dynamic_variables: { ...options.variables },
    };
    send({ interaction_type: "call_details", call });
    emit({ type: "call_details", at: since(), call });
  }

  function onMessage(data: string | Uint8Array): void {
    if (pending !== undefined && typeof data === "string") {
      // A frame under the pending id proves the server has seen the request.
      if (responseIdOf(data) === pending.id) flushPending();
    }
    const result = checker.receive(data);
    for (const violation of result.violations) report(violation);
    const event = result.event;
    if (event === undefined) return;
    const at = since();
    switch (event.response_type) {
      case "config":
        config = event.config;
        emit({ type: "config", at, config: event.config });
        if (event.config.auto_reconnect && pingTimer === undefined) {
          pingTimer = setInterval(sendPing, pingIntervalMs);
        }
        if (event.config.call_details && !detailsSent) sendCallDetails();
        return;
      case "response":
        onResponse(
          event.response_id,
          event.content,
          event.content_complete,
          event,
        );
        return;
      case "agent_interrupt":
        onInterrupt(
          event.interrupt_id,
          event.content,
          event.content_complete,
          event,
        );
        return;
      case "ping_pong": {
        const sentAt = pings.get(event.timestamp);
        if (sentAt === undefined) return;
        pings.delete(event.timestamp);
        emit({
          type: "ping_echo",
          at,
          timestamp: event.timestamp,
          rttMs: Math.round((performance.now() - sentAt) * 10) / 10,
        });
        return;
      }
      case "update_agent":
        emit({ type: "update_agent", at, agentConfig: event.agent_config });
        return;
      case "tool_call_invocation":
        emit({
          type: "tool_call_invocation",
          at,
          toolCallId: event.tool_call_id,
          name: event.name,
          arguments: event.arguments,
        });
        return;
      case "tool_call_result": {
        const result: ToolCallResultReceivedEvent = {
          type: "tool_call_result",
          at,
          toolCallId: event.tool_call_id,
          content: event.content,
        };
        if (event.successful !== undefined) {
          result.successful = event.successful;
        }
        emit(result);
        return;
      }
      case "metadata":
        emit({ type: "metadata", at, metadata: event.metadata });
        return;
    }
  }

  function onResponse(
    id: number,
    content: string,
    complete: boolean,
    flags: ResponseActions,
  ): void {
    const state = responses.get(id);
    // Retell speaks only the latest request, and only until it completes (§5.1).
    if (
      state === undefined || id !== latestId ||
      (state.status !== "waiting" && state.status !== "streaming")
    ) return;
    const now = performance.now();
    state.frames++;
    state.firstFrameMs ??= Math.round((now - state.requestedAt) * 10) / 10;
    state.status = "streaming";
    const frameAction = actionOfFlags(flags);
    if (frameAction !== undefined) {
      state.flags = withActionFlags(state.flags, frameAction);
    }
    if (content !== "") {
      state.text += content;
      if (state.utterance === undefined) {
        state.utterance = transcript.push({ role: "agent", content: "" }) - 1;
      }
      const utterance = transcript[state.utterance];
      if (utterance !== undefined) utterance.content = state.text;
      emit({ type: "agent_text", at: since(now), responseId: id, content });
    }
    if (!complete) {
      settleWaiters();
      return;
    }
    state.status = "complete";
    state.completeMs = Math.round((now - state.requestedAt) * 10) / 10;
    state.action = actionOfFlags(state.flags);
    state.utterance = undefined;
    emit({ type: "response_complete", at: since(now), ...snapshot(state) });
    settleWaiters();
    if (state.action !== undefined) runAction(id, state.action);
  }

  function onInterrupt(
    interruptId: number,
    content: string,
    complete: boolean,
    flags: ResponseActions,
  ): void {
    // An interrupt cancels the response in flight (§4.3): it no longer owes
    // a completion.
    const current = responses.get(latestId);
    if (current?.status === "waiting" || current?.status === "streaming") {
      current.status = "superseded";
      current.utterance = undefined;
      cancelled.add(latestId);
      emit({
        type: "response_interrupted",
        at: since(),
        ...snapshot(current),
        by: "agent_interrupt",
      });
      settleWaiters();
    }
    if (interruptId !== interrupts.id) {
      // A new interrupt id discards earlier interrupt content (§4.3).
      interrupts.id = interruptId;
      interrupts.text = "";
      interrupts.utterance = -1;
      interrupts.flags = {};
    }
    const frameAction = actionOfFlags(flags);
    if (frameAction !== undefined) {
      interrupts.flags = withActionFlags(interrupts.flags, frameAction);
    }
    if (content !== "") {
      interrupts.text += content;
      if (interrupts.utterance < 0) {
        interrupts.utterance = transcript.push({ role: "agent", content: "" }) -
          1;
      }
      const utterance = transcript[interrupts.utterance];
      if (utterance !== undefined) utterance.content = interrupts.text;
    }
    emit({
      type: "agent_interrupt",
      at: since(),
      interruptId,
      content,
      complete,
    });
    if (complete) {
      const action = actionOfFlags(interrupts.flags);
      interrupts.flags = {};
      if (action !== undefined) runAction(undefined, action);
    }
  }

  function runAction(responseId: number | undefined, action: CallAction) {
    emit({ type: "action", at: since(), responseId, action });
    // Retell hangs up once the goodbye has been spoken, and closes the socket.
    if (action.type === "end_call") void close();
  }

  function settleWaiters(): void {
    for (const waiter of waiters) {
      const state = responses.get(waiter.responseId);
      if (state === undefined || !isSettled(state, waiter.until)) continue;
      finishWaiter(waiter, state);
    }
  }

  function finishWaiter(waiter: Waiter, state: ResponseState | undefined) {
    clearTimeout(waiter.timer);
    waiters.delete(waiter);
    waiter.resolve(
      state === undefined ? unknownRecord(waiter.responseId) : snapshot(state),
    );
  }

  /** What a wait for an id never requested returns. */
  function unknownRecord(responseId: number): ResponseRecord {
    return {
      ...snapshot(newResponse(responseId, "response", 0)),
      status: isClosed ? "closed" : "waiting",
    };
  }

  function waitFor(
    responseId: number,
    until: Waiter["until"],
    timeoutMs: number,
  ): Promise<ResponseRecord> {
    const state = responses.get(responseId);
    if (state === undefined || isSettled(state, until) || isClosed) {
      return Promise.resolve(
        state === undefined ? unknownRecord(responseId) : snapshot(state),
      );
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        responseId,
        until,
        resolve,
        timer: setTimeout(
          () => finishWaiter(waiter, responses.get(responseId)),
          timeoutMs,
        ),
      };
      waiters.add(waiter);
    });
  }

  function onClose(event: SocketClose): void {
    isClosed = true;
    clearInterval(checkTimer);
    clearInterval(pingTimer);
    flushPending();
    const byServer = event.byServer;
    for (const violation of checker.closed(event.code, byServer)) {
      report(violation);
    }
    for (const state of responses.values()) {
      if (state.status === "waiting" || state.status === "streaming") {
        state.status = "closed";
      }
    }
    for (const waiter of waiters) {
      finishWaiter(waiter, responses.get(waiter.responseId));
    }
    const closedEvent: ClosedEvent = {
      type: "closed",
      at: since(),
      code: event.code,
      reason: event.reason,
      byServer,
    };
    emit(closedEvent);
    closed.resolve(closedEvent);
  }

  function close(): Promise<ClosedEvent> {
    if (!isClosed && !closing) {
      closing = true;
      socket.close(1000);
    }
    return closed.promise;
  }

  return {
    callId,
    url,
    get config() {
      return config;
    },
    get transcript() {
      return transcript;
    },
    get violations() {
      return violations;
    },
    get latestResponseId() {
      return latestId;
    },
    get isOpen() {
      return !isClosed && !closing && socket.isOpen;
    },
    get isClosed() {
      return isClosed;
    },
    closed: closed.promise,
    response(responseId) {
      const state = responses.get(responseId);
      return state === undefined ? undefined : snapshot(state);
    },
    say(text) {
      return request("response", text);
    },
    remind() {
      return request("reminder", undefined);
    },
    waitForCompletion: (responseId, timeoutMs) =>
      waitFor(responseId, "complete", timeoutMs),
    waitForFirstFrame: (responseId, timeoutMs) =>
      waitFor(responseId, "first_frame", timeoutMs),
    close,
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}

/** The response id of a frame, when it reads as a response (with or without response_type). */
function responseIdOf(text: string): number | undefined {
  try {
    const frame: unknown = JSON.parse(text);
    if (typeof frame !== "object" || frame === null) return undefined;
    const { response_type: type, response_id: id } = frame as Record<
      string,
      unknown
    >;
    if (type !== undefined && type !== "response") return undefined;
    return typeof id === "number" ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a wait `until` is over for this response. */
function isSettled(state: ResponseState, until: Waiter["until"]): boolean {
  if (state.status === "complete" || state.status === "superseded") return true;
  if (state.status === "closed") return true;
  return until === "first_frame" && state.frames > 0;
}
