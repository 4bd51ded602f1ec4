/**
 * What one call's session tells the call store and asks of it: whether the
 * agent has spoken, the call details, activity. Store operations never break
 * a call: a failure is logged with the call id and read as "no answer", and
 * writes run in the background.
 *
 * @module
 */
import type { CallRecord, CallStore } from "./call_store/call_store.ts";
import { describeError, type Logger } from "./log.ts";
import type { CallDetails } from "./protocol/inbound.ts";

/**
 * Shortest time in ms between two activity writes of one call's turns.
 * Activity keeps a call's entry from expiring (a TTL of hours) and dates
 * the gap a reconnect reports, which the write at the close makes exact;
 * a write per turn would add a store round trip to every turn.
 */
const TOUCH_INTERVAL_MS = 60_000;

/** Options of {@linkcode createCallMemory}. */
export interface CallMemoryOptions {
  /** The call id. */
  callId: string;
  /** The store; without one, every socket is a new call and nothing is written. */
  store: CallStore | undefined;
  /** Where failures (`call_store_failed`) and, at debug, writes go. */
  log: Logger;
}

/** One call's view of the call store. */
export interface CallMemory {
  /** Whether there is a store to ask, so that requests should wait for {@linkcode CallMemory.recall}. */
  readonly remembers: boolean;
  /** What the store knows of the call; undefined when nothing, or when it failed. */
  recall(): Promise<CallRecord | undefined>;
  /** Records, once per call, that the agent has spoken. */
  markGreeted(): void;
  /** Records the call details Retell sent. */
  saveDetails(details: CallDetails): void;
  /**
   * Records activity, which keeps the call's entry from expiring: at most
   * once a minute (`TOUCH_INTERVAL_MS`), or always with `now`.
   */
  touch(now?: boolean): void;
}

/**
 * Creates a call's view of the store.
 *
 * @param options Call id, store and logger.
 * @returns The view; with no store, its writes do nothing and `recall`
 * answers undefined.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallMemory } from "./call_memory.ts";
 * import { createMemoryCallStore } from "./call_store/memory.ts";
 * import { createLogger } from "./log.ts";
 *
 * const store = createMemoryCallStore({ ttlMs: 60_000 });
 * const log = createLogger({ sink: () => {} });
 * createCallMemory({ callId: "c1", store, log }).markGreeted();
 * await new Promise((resolve) => setTimeout(resolve, 0));
 * const record = await createCallMemory({ callId: "c1", store, log }).recall();
 * assert.equal(record?.greeted, true);
 * ```
 */
export function createCallMemory(options: CallMemoryOptions): CallMemory {
  const { callId, store, log } = options;
  const debug = log.enabled("debug");
  let greeted = false;
  let touchedAt = -Infinity;

  /** Runs a store operation; a failure is logged and read as no answer. */
  async function attempt<T>(
    operation: string,
    run: () => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      log.error("call_store_failed", {
        call_id: callId,
        operation,
        error: describeError(error),
      });
      return undefined;
    }
  }

  /** Writes to the store in the background, when there is one. */
  function remember(
    operation: string,
    write: (store: CallStore) => Promise<void>,
  ): void {
    if (store === undefined) return;
    void attempt(operation, async () => {
      await write(store);
      if (debug) log.debug("call_store_saved", { call_id: callId, operation });
    });
  }

  return {
    remembers: store !== undefined,
    async recall() {
      if (store === undefined) return undefined;
      const record = await attempt("get", () => store.get(callId));
      if (record?.greeted) greeted = true;
      return record;
    },
    markGreeted() {
      if (greeted) return;
      greeted = true;
      remember("markGreeted", (store) => store.markGreeted(callId));
    },
    saveDetails(details) {
      remember("saveDetails", (store) => store.saveDetails(callId, details));
    },
    touch(now = false) {
      if (store === undefined) return;
      // The wall clock costs half of performance.now(); a step back of it
      // touches at once rather than waiting for the clock to catch up.
      const at = Date.now();
      if (!now && at >= touchedAt && at - touchedAt < TOUCH_INTERVAL_MS) {
        return;
      }
      touchedAt = at;
      remember("touch", (store) => store.touch(callId));
    },
  };
}
