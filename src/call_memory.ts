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
  return new StoreView(options.callId, options.store, options.log);
}

// A class, not closures (STYLE.md §9): there is one per call, and with its
// methods on the prototype it costs 545 → 121 bytes per call (measured with
// `_heap_parts.ts`, 10,000 instances).
class StoreView implements CallMemory {
  readonly #callId: string;
  readonly #store: CallStore | undefined;
  readonly #log: Logger;
  readonly #debug: boolean;
  #greeted = false;
  #touchedAt = -Infinity;

  constructor(callId: string, store: CallStore | undefined, log: Logger) {
    this.#callId = callId;
    this.#store = store;
    this.#log = log;
    this.#debug = log.enabled("debug");
  }

  get remembers(): boolean {
    return this.#store !== undefined;
  }

  async recall(): Promise<CallRecord | undefined> {
    const store = this.#store;
    if (store === undefined) return undefined;
    const callId = this.#callId;
    const record = await this.#attempt("get", () => store.get(callId));
    if (record?.greeted) this.#greeted = true;
    return record;
  }

  markGreeted(): void {
    if (this.#greeted) return;
    this.#greeted = true;
    const callId = this.#callId;
    this.#remember("markGreeted", (store) => store.markGreeted(callId));
  }

  saveDetails(details: CallDetails): void {
    const callId = this.#callId;
    this.#remember(
      "saveDetails",
      (store) => store.saveDetails(callId, details),
    );
  }

  touch(now = false): void {
    if (this.#store === undefined) return;
    // The wall clock costs half of performance.now(); a step back of it
    // touches at once rather than waiting for the clock to catch up.
    const at = Date.now();
    if (
      !now && at >= this.#touchedAt && at - this.#touchedAt < TOUCH_INTERVAL_MS
    ) {
      return;
    }
    this.#touchedAt = at;
    const callId = this.#callId;
    this.#remember("touch", (store) => store.touch(callId));
  }

  /** Runs a store operation; a failure is logged and read as no answer. */
  async #attempt<T>(
    operation: string,
    run: () => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      this.#log.error("call_store_failed", {
        call_id: this.#callId,
        operation,
        error: describeError(error),
      });
      return undefined;
    }
  }

  /** Writes to the store in the background, when there is one. */
  #remember(
    operation: string,
    write: (store: CallStore) => Promise<void>,
  ): void {
    const store = this.#store;
    if (store === undefined) return;
    void this.#attempt(operation, async () => {
      await write(store);
      if (this.#debug) {
        this.#log.debug("call_store_saved", {
          call_id: this.#callId,
          operation,
        });
      }
    });
  }
}
