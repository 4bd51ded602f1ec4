/**
 * One simulated call: {@linkcode startSimulatedCall} opens a socket to a
 * server the way Retell does, plays Retell's side of the protocol (requests,
 * reminders, keepalives, call details), keeps the transcript, and reports
 * what happens as typed {@linkcode SimulatorEvent}s. Every event it sends
 * and every frame it receives goes through a {@linkcode ConformanceChecker},
 * which owns the protocol state of the call: the call reads from it where
 * each response stands. Section numbers refer to `PROTOCOL.md`.
 *
 * @module
 */
import type {
  CallDetails,
  InboundEvent,
  Utterance,
} from "../protocol/inbound.ts";
import type {
  CallAction,
  CallConfig,
  OutboundEvent,
} from "../protocol/outbound.ts";
import { createResponseWaits, type ResponseWaits } from "./_response_waits.ts";
import {
  type ClientSocket,
  openWebSocket,
  SimulatorConnectError,
  type SocketClose,
} from "./_websocket_client.ts";
import { buildCallUrl, randomCallId } from "./call_url.ts";
import {
  type ConformanceChecker,
  type ConformanceOptions,
  createConformanceChecker,
  type FrameOutcome,
} from "./conformance.ts";
import type { ResponseRecord } from "./response_record.ts";
import type { Violation } from "./violation.ts";
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
  /**
   * The call continues from an earlier socket that dropped, as when Retell
   * reconnects (§5.7): give the same `callId`, and the transcript and the
   * newest response id of the earlier socket. Requests carry on from that
   * id and transcript, and the referee expects no begin message (one that
   * comes is the violation `begin_repeated`).
   */
  resume?: {
    /** The transcript so far. */
    transcript: readonly Utterance[];
    /** The newest response id requested on the earlier socket. */
    latestResponseId: number;
  };
  /** Receives every {@linkcode SimulatorEvent} as it happens. */
  onEvent?: (event: SimulatorEvent) => void;
  /** Deadlines of the protocol referee, and its grace for frames in flight. */
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
  /**
   * Drops the connection without a close frame, as a failed network does:
   * the server sees an abnormal close (1006), after which Retell reconnects
   * with the same call id (§5.7).
   *
   * @returns The close event's details.
   */
  drop(): Promise<ClosedEvent>;
}

export { SimulatorConnectError };

/** One call as its functions drive it. */
interface Driver {
  readonly callId: string;
  readonly variables: Readonly<Record<string, string>>;
  readonly pingIntervalMs: number;
  readonly socket: ClientSocket;
  /** The protocol state: requests, responses, pings, the interrupt. */
  readonly checker: ConformanceChecker;
  readonly waits: ResponseWaits;
  readonly emit: (event: SimulatorEvent) => void;
  /** performance.now when the socket opened. */
  readonly openedAt: number;
  /** The transcript Retell would send: caller lines as said, agent text as spoken. */
  readonly transcript: Utterance[];
  /** The newest response id of the earlier sockets of a resumed call, else 0. */
  readonly resumedFrom: number;
  /** The agent utterance of each response still speaking. */
  readonly speaking: Map<number, Utterance>;
  /** The interrupt being spoken, and its utterance once it has text. */
  interrupt: { id: number; utterance: Utterance | undefined };
  readonly closed: PromiseWithResolvers<ClosedEvent>;
  config: CallConfig | undefined;
  lastPing: number;
  detailsSent: boolean;
  closing: boolean;
  isClosed: boolean;
  pingTimer: ReturnType<typeof setInterval> | undefined;
  checkTimer: ReturnType<typeof setInterval> | undefined;
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
  const socket = await openWebSocket(url, options.connectTimeoutMs ?? 7000);
  const checker = createConformanceChecker({
    ...options.conformance,
    ...(options.resume !== undefined && { reconnected: true }),
  });
  const call: Driver = {
    callId,
    variables: options.variables ?? {},
    pingIntervalMs: options.pingIntervalMs ?? 2000,
    socket,
    checker,
    waits: createResponseWaits(
      (responseId) => checker.response(responseId),
      () => call.isClosed,
    ),
    emit: options.onEvent ?? (() => {}),
    openedAt: performance.now(),
    transcript: options.resume === undefined
      ? []
      : options.resume.transcript.map((utterance) => ({ ...utterance })),
    resumedFrom: options.resume?.latestResponseId ?? 0,
    speaking: new Map(),
    interrupt: { id: -1, utterance: undefined },
    closed: Promise.withResolvers<ClosedEvent>(),
    config: undefined,
    lastPing: 0,
    detailsSent: false,
    closing: false,
    isClosed: false,
    pingTimer: undefined,
    checkTimer: undefined,
  };
  call.checkTimer = setInterval(() => {
    for (const violation of checker.check()) reportViolation(call, violation);
  }, options.checkIntervalMs ?? 250);
  call.emit({ type: "open", at: 0, callId, url });
  socket.listen({
    message: (data) => onMessage(call, data),
    close: (event) => onClose(call, event),
  });
  return {
    callId,
    url,
    get config() {
      return call.config;
    },
    get transcript() {
      return call.transcript;
    },
    get violations() {
      return checker.violations;
    },
    get latestResponseId() {
      return latestResponseId(call);
    },
    get isOpen() {
      return !call.isClosed && !call.closing && socket.isOpen;
    },
    get isClosed() {
      return call.isClosed;
    },
    closed: call.closed.promise,
    response: (responseId) => checker.response(responseId),
    say: (text) => request(call, "response", text),
    remind: () => request(call, "reminder", undefined),
    waitForCompletion: (responseId, timeoutMs) =>
      call.waits.wait(responseId, "complete", timeoutMs),
    waitForFirstFrame: (responseId, timeoutMs) =>
      call.waits.wait(responseId, "first_frame", timeoutMs),
    close: () => close(call),
    drop: () => drop(call),
    async [Symbol.asyncDispose]() {
      await close(call);
    },
  };
}

/** The newest response id requested, on this socket or an earlier one of the call. */
function latestResponseId(call: Driver): number {
  return Math.max(call.checker.latestResponseId, call.resumedFrom);
}

/** Ms since the socket opened, to a tenth. */
function since(call: Driver): number {
  return Math.round((performance.now() - call.openedAt) * 10) / 10;
}

/** Sends an event as Retell, and tells the checker. */
function send(call: Driver, event: InboundEvent): ResponseRecord | undefined {
  call.socket.send(JSON.stringify(event));
  return call.checker.sent(event);
}

function reportViolation(call: Driver, violation: Violation): void {
  call.emit({ type: "violation", at: since(call), violation });
}

function request(
  call: Driver,
  kind: "response" | "reminder",
  said: string | undefined,
): number {
  if (call.isClosed || call.closing || !call.socket.isOpen) {
    throw new Error(
      `Cannot ${kind === "reminder" ? "remind" : "say"}: the call has ended`,
    );
  }
  const id = latestResponseId(call) + 1;
  if (said !== undefined) sayLine(call, said);
  const superseded = send(call, {
    interaction_type: kind === "reminder"
      ? "reminder_required"
      : "response_required",
    response_id: id,
    transcript: call.transcript,
  });
  if (superseded !== undefined) interrupted(call, superseded, id);
  const event: RequestSentEvent = {
    type: "request",
    at: since(call),
    responseId: id,
    kind,
  };
  if (said !== undefined) event.said = said;
  call.emit(event);
  return id;
}

/** The caller's line as Retell streams it: half of the words, then all of them. */
function sayLine(call: Driver, said: string): void {
  const words = said.trim().split(/\s+/);
  const half = Math.floor(words.length / 2);
  if (half > 0) {
    send(call, {
      interaction_type: "update_only",
      transcript: [
        ...call.transcript,
        { role: "user", content: words.slice(0, half).join(" ") },
      ],
      turntaking: "user_turn",
    });
  }
  call.transcript.push({ role: "user", content: said });
  send(call, {
    interaction_type: "update_only",
    transcript: call.transcript,
    ...(half === 0 && { turntaking: "user_turn" as const }),
  });
}

function sendPing(call: Driver): void {
  const timestamp = Math.max(Date.now(), call.lastPing + 1);
  call.lastPing = timestamp;
  send(call, { interaction_type: "ping_pong", timestamp });
}

function sendCallDetails(call: Driver): void {
  call.detailsSent = true;
  const details: CallDetails = {
    call_id: call.callId,
    agent_id: "simulator",
    call_type: "web_call",
    call_status: "registered",
    metadata: {},
    retell_llm_dynamic_variables: { ...call.variables },
  };
  send(call, { interaction_type: "call_details", call: details });
  call.emit({ type: "call_details", at: since(call), call: details });
}

function onMessage(call: Driver, data: string | Uint8Array): void {
  const result = call.checker.receive(data);
  for (const violation of result.violations) reportViolation(call, violation);
  if (result.outcome !== undefined) onOutcome(call, result.outcome);
  else if (result.event !== undefined) onServerEvent(call, result.event);
}

/** What Retell does with a response, an interrupt or an echo. */
function onOutcome(call: Driver, outcome: FrameOutcome): void {
  switch (outcome.type) {
    case "spoken":
      return onSpoken(call, outcome.content, outcome.response);
    case "interrupt":
      return onInterrupt(call, outcome);
    case "echo":
      call.emit({
        type: "ping_echo",
        at: since(call),
        timestamp: outcome.timestamp,
        rttMs: outcome.rttMs,
      });
  }
}

/** The other events: the config, and what the server reports for the transcript. */
function onServerEvent(call: Driver, event: OutboundEvent): void {
  const at = since(call);
  switch (event.response_type) {
    case "config":
      call.config = event.config;
      call.emit({ type: "config", at, config: event.config });
      if (event.config.auto_reconnect && call.pingTimer === undefined) {
        call.pingTimer = setInterval(() => sendPing(call), call.pingIntervalMs);
      }
      if (event.config.call_details && !call.detailsSent) {
        sendCallDetails(call);
      }
      return;
    case "update_agent":
      call.emit({ type: "update_agent", at, agentConfig: event.agent_config });
      return;
    case "tool_call_invocation":
      call.emit({
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
      if (event.successful !== undefined) result.successful = event.successful;
      call.emit(result);
      return;
    }
    case "metadata":
      call.emit({ type: "metadata", at, metadata: event.metadata });
      return;
  }
}

/** A frame Retell speaks: the transcript grows, and a complete response runs its action. */
function onSpoken(
  call: Driver,
  content: string,
  response: ResponseRecord,
): void {
  const id = response.responseId;
  const at = since(call);
  if (content !== "") {
    let utterance = call.speaking.get(id);
    if (utterance === undefined) {
      utterance = { role: "agent", content: "" };
      call.transcript.push(utterance);
      call.speaking.set(id, utterance);
    }
    utterance.content = response.text;
    call.emit({ type: "agent_text", at, responseId: id, content });
  }
  if (response.status !== "complete") {
    call.waits.settle();
    return;
  }
  call.speaking.delete(id);
  call.emit({ type: "response_complete", at, ...response });
  call.waits.settle();
  if (response.action !== undefined) runAction(call, id, response.action);
}

function onInterrupt(
  call: Driver,
  outcome: Extract<FrameOutcome, { type: "interrupt" }>,
): void {
  if (outcome.cancelled !== undefined) {
    interrupted(call, outcome.cancelled, "agent_interrupt");
  }
  if (outcome.interruptId !== call.interrupt.id) {
    call.interrupt = { id: outcome.interruptId, utterance: undefined };
  }
  if (outcome.content !== "") {
    if (call.interrupt.utterance === undefined) {
      call.interrupt.utterance = { role: "agent", content: "" };
      call.transcript.push(call.interrupt.utterance);
    }
    call.interrupt.utterance.content = outcome.text;
  }
  call.emit({
    type: "agent_interrupt",
    at: since(call),
    interruptId: outcome.interruptId,
    content: outcome.content,
    complete: outcome.complete,
  });
  if (outcome.action !== undefined) {
    runAction(call, undefined, outcome.action);
  }
}

/** A response was cut short: by a newer request, or by the server's interrupt. */
function interrupted(
  call: Driver,
  response: ResponseRecord,
  by: number | "agent_interrupt",
): void {
  call.speaking.delete(response.responseId);
  call.emit({ type: "response_interrupted", at: since(call), ...response, by });
  call.waits.settle();
}

function runAction(
  call: Driver,
  responseId: number | undefined,
  action: CallAction,
): void {
  call.emit({ type: "action", at: since(call), responseId, action });
  // Retell hangs up once the goodbye has been spoken, and closes the socket.
  if (action.type === "end_call") void close(call);
}

function onClose(call: Driver, event: SocketClose): void {
  call.isClosed = true;
  clearInterval(call.checkTimer);
  clearInterval(call.pingTimer);
  for (const violation of call.checker.closed(event.code, event.byServer)) {
    reportViolation(call, violation);
  }
  call.waits.finishAll();
  const closedEvent: ClosedEvent = {
    type: "closed",
    at: since(call),
    code: event.code,
    reason: event.reason,
    byServer: event.byServer,
  };
  call.emit(closedEvent);
  call.closed.resolve(closedEvent);
}

function close(call: Driver): Promise<ClosedEvent> {
  if (!call.isClosed && !call.closing) {
    call.closing = true;
    call.socket.close(1000);
  }
  return call.closed.promise;
}

function drop(call: Driver): Promise<ClosedEvent> {
  if (!call.isClosed) {
    call.closing = true;
    call.socket.drop();
  }
  return call.closed.promise;
}
