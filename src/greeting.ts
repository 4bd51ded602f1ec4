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
  return new SocketStart(options);
}

// A class, not closures (STYLE.md §9): there is one per call, and with its
// methods on the prototype it costs 841 → 225 bytes per call (measured with
// `_heap_parts.ts`, 10,000 instances, its options included).
class SocketStart implements Greeting {
  readonly #options: GreetingOptions;
  #closed = false;
  #begun = false;
  // Requests wait until the store has said whether this is a reconnect.
  #recalled: boolean;
  #waitingRequest: TurnRequest | undefined;
  // A request arrived: a greeting now would be stale.
  #requested = false;
  #detailsTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: GreetingOptions) {
    this.#options = options;
    this.#recalled = !options.memory.remembers;
  }

  open(): void {
    if (this.#options.memory.remembers) void this.#recall();
    else this.#greet();
  }

  detailsArrived(): void {
    if (!this.#begun && this.#detailsTimer !== undefined) this.#begin();
  }

  request(request: TurnRequest): void {
    this.#requested = true;
    if (this.#recalled) {
      this.#options.startTurn(request);
      return;
    }
    // Only the newest request waiting for the store matters (§5.1): an
    // older one arriving late must not take its place.
    if (
      this.#waitingRequest === undefined ||
      request.response_id > this.#waitingRequest.response_id
    ) this.#waitingRequest = request;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#detailsTimer);
  }

  /** Asks the store about the call, then greets or continues it. */
  async #recall(): Promise<void> {
    const options = this.#options;
    const record = await options.memory.recall();
    this.#recalled = true;
    if (this.#closed) return;
    // Details Retell sent on this socket win over the saved ones.
    options.call.details ??= record?.details;
    if (record?.greeted) {
      this.#begun = true;
      this.#noteReconnected(record);
    } else {
      this.#greet();
    }
    const request = this.#waitingRequest;
    this.#waitingRequest = undefined;
    if (request !== undefined) options.startTurn(request);
  }

  /** The call continues from an earlier socket: logged and counted. */
  #noteReconnected(record: CallRecord): void {
    this.#options.metrics.reconnectedCalls.inc();
    this.#options.log.info("call_reconnected", {
      call_id: this.#options.callId,
      gap_ms: Math.max(0, Date.now() - record.lastActivityAt),
      details_restored: record.details !== undefined,
    });
  }

  /** Sends the begin message now, or once the call details arrive. */
  #greet(): void {
    const { responder, call } = this.#options;
    // A details hook may add variables or refuse the caller: the greeting
    // waits for it as for details it uses.
    const waitForDetails = responder.beginAfterCallDetails ||
      responder.onCallDetails !== undefined;
    if (
      waitForDetails && this.#options.callDetails && call.details === undefined
    ) {
      // The closure is made only for a greeting that waits.
      this.#detailsTimer = setTimeout(
        () => this.#begin(),
        this.#options.callDetailsTimeoutMs,
      );
    } else {
      this.#begin();
    }
  }

  #begin(): void {
    clearTimeout(this.#detailsTimer);
    if (this.#begun || this.#closed) return;
    this.#begun = true;
    const options = this.#options;
    // A request that came first owns the floor; a greeting now would be
    // stale. A call being ended gets no greeting after its goodbye.
    if (this.#requested || options.isEnding()) return;
    const { responder, call } = options;
    options.responses.start(
      0,
      "begin",
      (responderOptions) => responder.begin(call, responderOptions),
    );
  }
}
