/**
 * How a call's socket starts: with the begin message (held for the call
 * details when the responder asks), or, for a call the store knows as
 * greeted, with none. With a store, requests wait until it has answered.
 * Section numbers refer to `PROTOCOL.md`.
 *
 * @module
 */
import type { CallRecord } from "./call_store/call_store.ts";
import type { CallMemory } from "./call_memory.ts";
import type { Logger } from "./log.ts";
import type { ServerMetrics } from "./metrics.ts";
import type {
  CallDetails,
  ReminderRequiredRequest,
  ResponseRequiredRequest,
} from "./protocol/inbound.ts";
import type { CallContext, Responder } from "./responder.ts";
import type { ResponseSlot } from "./response_slot.ts";

/** A request that asks for a turn. */
export type TurnRequest = ResponseRequiredRequest | ReminderRequiredRequest;

/** Options of {@linkcode createGreeting}. */
export interface GreetingOptions {
  /** The call id, for log lines. */
  callId: string;
  /** Where `call_reconnected` goes. */
  log: Logger;
  /** Told about reconnected calls. */
  metrics: ServerMetrics;
  /** The call's view of the store; with a store, requests wait for it. */
  memory: CallMemory;
  /** The call as the responder sees it; saved details fill in its own. */
  call: CallContext & { details: CallDetails | undefined };
  /** Produces the begin message. */
  responder: Responder;
  /** Whether the `config` event asked Retell for the call details. */
  callDetails: boolean;
  /** Longest wait in ms for the call details before the begin message. */
  callDetailsTimeoutMs: number;
  /** Where the begin message runs, as response 0. */
  responses: ResponseSlot;
  /** Starts the turn a request asks for. */
  startTurn: (request: TurnRequest) => void;
  /**
   * Whether the call is being ended or transferred (a hook refused the
   * caller): no begin message then.
   */
  isEnding: () => boolean;
}

/** The start of one call's socket. */
export interface Greeting {
  /** The socket opened and `config` went out: greet, or ask the store first. */
  open(): void;
  /** The call details arrived: a begin message held for them goes out. */
  detailsArrived(): void;
  /**
   * A request arrived: its turn starts now, or once the store has answered
   * (only the newest waits); a begin message not yet sent never will be.
   */
  request(request: TurnRequest): void;
  /** The socket closed: nothing more starts. */
  close(): void;
}

/**
 * Creates the start of a call's socket.
 *
 * @param options The call, its store view and responder, and where turns start.
 * @returns The greeting, driven by the session's socket events.
 */
export function createGreeting(options: GreetingOptions): Greeting {
  const { callId, log, metrics, memory, call, responder, responses } = options;
  let closed = false;
  let begun = false;
  // Requests wait until the store has said whether this is a reconnect.
  let recalled = !memory.remembers;
  let waitingRequest: TurnRequest | undefined;
  // A request arrived: a greeting now would be stale.
  let requested = false;
  let detailsTimer: ReturnType<typeof setTimeout> | undefined;

  /** Asks the store about the call, then greets or continues it. */
  async function recall(): Promise<void> {
    const record = await memory.recall();
    recalled = true;
    if (closed) return;
    // Details Retell sent on this socket win over the saved ones.
    call.details ??= record?.details;
    if (record?.greeted) {
      begun = true;
      noteReconnected(record);
    } else {
      greet();
    }
    const request = waitingRequest;
    waitingRequest = undefined;
    if (request !== undefined) options.startTurn(request);
  }

  /** The call continues from an earlier socket: logged and counted. */
  function noteReconnected(record: CallRecord): void {
    metrics.reconnectedCalls.inc();
    log.info("call_reconnected", {
      call_id: callId,
      gap_ms: Math.max(0, Date.now() - record.lastActivityAt),
      details_restored: record.details !== undefined,
    });
  }

  /** Sends the begin message now, or once the call details arrive. */
  function greet(): void {
    // A details hook may add variables or refuse the caller: the greeting
    // waits for it as for details it uses.
    const waitForDetails = responder.beginAfterCallDetails ||
      responder.onCallDetails !== undefined;
    if (waitForDetails && options.callDetails && call.details === undefined) {
      detailsTimer = setTimeout(begin, options.callDetailsTimeoutMs);
    } else {
      begin();
    }
  }

  function begin(): void {
    clearTimeout(detailsTimer);
    if (begun || closed) return;
    begun = true;
    // A request that came first owns the floor; a greeting now would be
    // stale. A call being ended gets no greeting after its goodbye.
    if (requested || options.isEnding()) return;
    responses.start(
      0,
      "begin",
      (responderOptions) => responder.begin(call, responderOptions),
    );
  }

  return {
    open() {
      if (memory.remembers) void recall();
      else greet();
    },
    detailsArrived() {
      if (!begun && detailsTimer !== undefined) begin();
    },
    request(request) {
      requested = true;
      if (recalled) {
        options.startTurn(request);
        return;
      }
      // Only the newest request waiting for the store matters (§5.1): an
      // older one arriving late must not take its place.
      if (
        waitingRequest === undefined ||
        request.response_id > waitingRequest.response_id
      ) waitingRequest = request;
    },
    close() {
      closed = true;
      clearTimeout(detailsTimer);
    },
  };
}
