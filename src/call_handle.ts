/**
 * The call handle: what a responder, a tool or a hook can do to its call
 * besides answering a request. Speak unasked (`agent_interrupt`), end or
 * transfer the call, change agent settings (`update_agent`) and send
 * `metadata`, each built by the protocol module and sent through the
 * call's sender. Section numbers refer to `PROTOCOL.md`.
 *
 * @module
 */
import type { CallStore } from "./call_store/call_store.ts";
import { describeError, type Logger } from "./log.ts";
import type { CallDetails } from "./protocol/inbound.ts";
import {
  type AgentConfigUpdate,
  type CallAction,
  createAgentInterruptEvent,
  createMetadataEvent,
  createUpdateAgentEvent,
  encodeOutbound,
  type OutboundEvent,
  type ResponseActions,
  withActionFlags,
} from "./protocol/outbound.ts";
import type {
  AgentUpdate,
  CallContext,
  CallHandleResult,
  InterruptOptions,
  InterruptOutcome,
  InterruptReply,
} from "./responder.ts";

/** The actions of the call handle, as {@linkcode CallContext} lists them. */
export type CallActions = Pick<
  CallContext,
  "interrupt" | "end" | "transfer" | "updateAgent" | "setMetadata"
>;

/** Options of {@linkcode createCallHandle}. */
export interface CallHandleOptions {
  /** The call id, for log lines. */
  callId: string;
  /** Where `interrupt_failed` goes. */
  log: Logger;
  /** Sends one event on the call's socket (with its backpressure). */
  send: (event: OutboundEvent) => void;
  /** Aborts when the call ends; an interrupt stops then. */
  signal: AbortSignal;
  /** Ends the response in flight: an interrupt takes the floor (§5.5). */
  takeFloor: () => void;
  /** Longest wait in ms for the next piece of an interrupt's stream. */
  partTimeoutMs: number;
}

/** The call handle, with what the session tells it. */
export interface CallHandle {
  /** The actions, merged into the call's {@linkcode CallContext}. */
  readonly actions: CallActions;
  /** A request from Retell arrived: the interrupt in progress stops (§5.5). */
  requestArrived(): void;
  /**
   * Whether a hang-up or a transfer has gone out on an interrupt. (Methods,
   * not getters: an object literal with getters is kept in V8's slow
   * dictionary mode, a few hundred bytes more per call.)
   */
  isEnding(): boolean;
  /** Whether an interrupt is being streamed now. */
  isSpeaking(): boolean;
  /** Resolves once no interrupt is being streamed. */
  whenQuiet(): Promise<void>;
}

/**
 * Creates a call's handle. Interrupt ids start at 1 and grow with each
 * interrupt, so a newer interrupt discards what an older one had left to
 * say (§4.3).
 *
 * @param options The call, its sender and how to take the floor.
 * @returns The handle; its actions never throw and `interrupt` never rejects.
 */
export function createCallHandle(options: CallHandleOptions): CallHandle {
  const { callId, log, send, signal: callSignal } = options;
  let lastInterruptId = 0;
  let current: AbortController | undefined;
  let ending = false;
  // Interrupts being streamed, so a stopping server waits for them.
  // Made with the first interrupt: most calls have none.
  let streaming: Set<Promise<InterruptOutcome>> | undefined;

  function interrupt(
    reply: InterruptReply,
    interruptOptions: InterruptOptions = {},
  ): Promise<InterruptOutcome> {
    return speak(reply, interruptOptions.noInterruptionAllowed ?? true, {});
  }

  /** Streams one interrupt and logs how it ended (`interrupt_finished`). */
  async function speak(
    reply: InterruptReply,
    noInterruptionAllowed: boolean,
    actions: ResponseActions,
  ): Promise<InterruptOutcome> {
    if (callSignal.aborted) return "closed";
    const id = ++lastInterruptId;
    const running = stream(id, reply, noInterruptionAllowed, actions);
    (streaming ??= new Set()).add(running);
    const outcome = await running;
    streaming.delete(running);
    log.info("interrupt_finished", {
      call_id: callId,
      interrupt_id: id,
      outcome,
    });
    return outcome;
  }

  /** Streams one interrupt under `id`; `actions` ride on its first frame. */
  async function stream(
    id: number,
    reply: InterruptReply,
    noInterruptionAllowed: boolean,
    actions: ResponseActions,
  ): Promise<InterruptOutcome> {
    current?.abort();
    const controller = new AbortController();
    current = controller;
    options.takeFloor();
    const base: ResponseActions = {
      no_interruption_allowed: noInterruptionAllowed,
    };
    let pending = { ...base, ...actions };
    const state = (): InterruptOutcome | "live" =>
      callSignal.aborted
        ? "closed"
        : controller.signal.aborted
        ? "superseded"
        : "live";
    const frame = (content: string, complete: boolean) => {
      if (pending.end_call === true || pending.transfer_number !== undefined) {
        ending = true;
      }
      send(createAgentInterruptEvent({
        interrupt_id: id,
        content,
        content_complete: complete,
        ...pending,
      }));
      pending = base;
    };
    if (typeof reply === "string") {
      frame(reply, true);
      return "spoken";
    }
    const iterator = reply[Symbol.asyncIterator]();
    try {
      while (true) {
        const step = await nextOrStop(
          iterator,
          AbortSignal.any([controller.signal, callSignal]),
          options.partTimeoutMs,
        );
        const now = state();
        if (now !== "live") {
          iterator.return?.().catch(() => {});
          return now;
        }
        if (step.done) break;
        const part = step.value;
        if (typeof part === "string") {
          if (part !== "") frame(part, false);
        } else pending = withActionFlags(pending, part);
      }
      frame("", true);
      return "spoken";
    } catch (error) {
      const now = state();
      if (now !== "live") return now;
      iterator.return?.().catch(() => {});
      log.error("interrupt_failed", {
        call_id: callId,
        interrupt_id: id,
        error: describeError(error),
      });
      pending = base;
      frame("", true);
      return "failed";
    } finally {
      if (current === controller) current = undefined;
    }
  }

  /** Speaks `text` (if any) in one frame carrying `action`, uninterruptible. */
  function interruptWith(
    action: CallAction,
    text: string | undefined,
  ): Promise<InterruptOutcome> {
    if (!callSignal.aborted) ending = true;
    return speak(text ?? "", true, withActionFlags({}, action));
  }

  function updateAgent(update: AgentUpdate): CallHandleResult {
    const checked = agentConfigOf(update);
    if (!checked.ok) return checked;
    return sendChecked(createUpdateAgentEvent(checked.config));
  }

  function setMetadata(metadata: Record<string, unknown>): CallHandleResult {
    if (typeof metadata !== "object" || metadata === null) {
      return {
        ok: false,
        reason: "Cannot send metadata: it is not an object",
      };
    }
    return sendChecked(createMetadataEvent(metadata));
  }

  /** Sends an event that passes the protocol check, or says why not. */
  function sendChecked(event: OutboundEvent): CallHandleResult {
    if (callSignal.aborted) {
      return {
        ok: false,
        reason: `Cannot send ${event.response_type}: the call has ended`,
      };
    }
    const encoded = encodeOutbound(event);
    if (!encoded.ok) return { ok: false, reason: encoded.reason };
    send(event);
    return { ok: true };
  }

  return {
    actions: {
      interrupt,
      end: (text) => interruptWith({ type: "end_call" }, text),
      transfer: (number, text) =>
        interruptWith({ type: "transfer_call", number }, text),
      updateAgent,
      setMetadata,
    },
    requestArrived() {
      current?.abort();
    },
    isEnding() {
      return ending;
    },
    isSpeaking() {
      return streaming !== undefined && streaming.size > 0;
    },
    async whenQuiet() {
      while (streaming !== undefined && streaming.size > 0) {
        await Promise.all(streaming);
      }
    },
  };
}

/** Where a call context finds its call's handle, made on first use. */
export interface CallHandleSource {
  /** The call's handle; the same one on every call. */
  callHandle(): CallHandle;
}

/** The fields of a {@linkcode CallContext} besides its actions. */
export interface CallContextFields {
  /** The call id. */
  callId: string;
  /** The call details, once known. */
  details: CallDetails | undefined;
  /** Aborts when the call ends. */
  signal: AbortSignal;
  /** The call store, when the server has one. */
  store: CallStore | undefined;
}

/** Where a call context keeps its {@linkcode CallHandleSource}. */
const HANDLE_SOURCE = Symbol("handleSource");

/** The actions of the call whose context `context` is. */
function actionsOf(context: object): CallActions {
  return (context as { [HANDLE_SOURCE]: CallHandleSource })[HANDLE_SOURCE]
    .callHandle().actions;
}

/**
 * What every call context shares: its actions, as getters that ask the
 * call for its handle. A call pays for the handle only once a responder,
 * tool or hook reaches for an action, and the actions stay safe to take
 * off the context (`const { end } = call`).
 */
const callContextActions: object = Object.defineProperties(
  {},
  Object.fromEntries(
    (["interrupt", "end", "transfer", "updateAgent", "setMetadata"] as const)
      .map((name) => [name, {
        get(this: object) {
          return actionsOf(this)[name];
        },
      }]),
  ),
);

/**
 * A call's {@linkcode CallContext}: its fields, and the actions of the
 * handle `source` makes when one is first used.
 *
 * @param fields The call id, details, signal and store.
 * @param source Makes the call's handle on first use.
 * @returns The context; `details` stays writable for the session.
 */
export function createCallContext(
  fields: CallContextFields,
  source: CallHandleSource,
): CallContext & { details: CallDetails | undefined } {
  const context = {
    __proto__: callContextActions,
    callId: fields.callId,
    details: fields.details,
    signal: fields.signal,
    store: fields.store,
    [HANDLE_SOURCE]: source,
  };
  return context as unknown as CallContext & {
    details: CallDetails | undefined;
  };
}

/** The next step of `iterator`; rejects when `signal` aborts or after `timeoutMs`. */
function nextOrStop<T>(
  iterator: AsyncIterator<T>,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<IteratorResult<T>> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", stop);
      reject(
        new DOMException(
          `No piece of the interrupt within ${timeoutMs} ms`,
          "TimeoutError",
        ),
      );
    }, timeoutMs);
    if (signal.aborted) return stop();
    signal.addEventListener("abort", stop, { once: true });
    iterator.next().then(
      (step) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", stop);
        resolve(step);
      },
      (error) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", stop);
        reject(error);
      },
    );
  });
}

/** The ranges of `update_agent` (§4.5), checked in the order of the table. */
function agentConfigOf(
  update: AgentUpdate,
):
  | { ok: true; config: AgentConfigUpdate }
  | { ok: false; field: string; reason: string } {
  const config: AgentConfigUpdate = {};
  const fail = (field: string, wanted: string, value: unknown) => ({
    ok: false as const,
    field,
    reason:
      `Cannot update agent: ${field} must be ${wanted}: current value is ${
        JSON.stringify(value)
      }`,
  });
  const { responsiveness, interruptionSensitivity } = update;
  const { reminderTriggerMs, reminderMaxCount } = update;
  if (responsiveness !== undefined) {
    if (!inUnitRange(responsiveness)) {
      return fail("responsiveness", "a number from 0 to 1", responsiveness);
    }
    config.responsiveness = responsiveness;
  }
  if (interruptionSensitivity !== undefined) {
    if (!inUnitRange(interruptionSensitivity)) {
      return fail(
        "interruptionSensitivity",
        "a number from 0 to 1",
        interruptionSensitivity,
      );
    }
    config.interruption_sensitivity = interruptionSensitivity;
  }
  if (reminderTriggerMs !== undefined) {
    if (
      typeof reminderTriggerMs !== "number" ||
      !Number.isFinite(reminderTriggerMs) || reminderTriggerMs <= 0
    ) {
      return fail(
        "reminderTriggerMs",
        "a number of ms above 0",
        reminderTriggerMs,
      );
    }
    config.reminder_trigger_ms = reminderTriggerMs;
  }
  if (reminderMaxCount !== undefined) {
    if (!Number.isSafeInteger(reminderMaxCount) || reminderMaxCount < 0) {
      return fail(
        "reminderMaxCount",
        "a whole number from 0",
        reminderMaxCount,
      );
    }
    config.reminder_max_count = reminderMaxCount;
  }
  if (Object.keys(config).length === 0) {
    return {
      ok: false,
      field: "update",
      reason: "Cannot update agent: no setting given",
    };
  }
  return { ok: true, config };
}

/** Whether `value` is a number from 0 to 1. */
function inUnitRange(value: unknown): boolean {
  return typeof value === "number" && value >= 0 && value <= 1;
}
