/**
 * Keeps live calls going when a shared call store fails: the failing
 * operation is served from in-process memory, the outage is logged once,
 * and the store reports itself degraded until the backend answers again.
 *
 * @module
 */
import { beforeDeadline, TIMED_OUT } from "../deadline.ts";
import { describeError, type Logger } from "../log.ts";
import type { CallRecord, CallStore } from "./call_store.ts";
import { createMemoryCallStore } from "./memory.ts";

/** How a call store is doing, for a metric. */
export interface CallStoreStatus {
  /** The backend: `memory`, `kv` or `redis`. */
  readonly backend: string;
  /** Whether operations are being served from in-process memory because the backend failed. */
  readonly degraded: boolean;
  /** When the current outage began, in ms since the epoch; `undefined` when not degraded. */
  readonly degradedSince: number | undefined;
  /** Backend operations that failed since the store was opened. */
  readonly failures: number;
}

/** A call store that can say how it is doing. */
export interface MonitoredCallStore extends CallStore {
  /** The current status, for a metric such as `call_store_degraded`. */
  status(): CallStoreStatus;
}

/** Options of {@linkcode createFallbackCallStore}. */
export interface FallbackCallStoreOptions {
  /** Names the backend in logs and in the status. */
  backend: string;
  /** Where the outage and the recovery are logged. */
  log: Logger;
  /** TTL of the in-process store that serves during an outage, in ms. */
  ttlMs: number;
  /**
   * Longest wait for one backend operation before it counts as failed, in ms.
   *
   * @default {2000}
   */
  timeoutMs?: number;
  /**
   * While degraded, operations skip the backend for this long after a
   * failure before trying it again, in ms.
   *
   * @default {5000}
   */
  retryAfterMs?: number;
  /**
   * Clock, in ms since the epoch.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/**
 * Wraps a shared call store so that its failures do not break live calls.
 * An operation that fails or times out is served from an in-process store;
 * the first failure of an outage is logged (`call_store_degraded`, with the
 * call id) and the first success after it (`call_store_recovered`).
 *
 * What was written in memory during an outage stays authoritative for this
 * process after recovery: reads merge it with the backend's answer, and a
 * tool run claimed in memory is never claimed again here. Other instances do
 * not see it, so while degraded a tool may run once per instance.
 *
 * @param remote The shared store; closed with this one.
 * @param options Names, logger, TTL and timing.
 * @returns The store, with its status.
 *
 * @example Wrap a Redis store
 * ```ts ignore
 * import { createLogger } from "../log.ts";
 * import { createFallbackCallStore } from "./fallback.ts";
 * import { openRedisCallStore } from "./redis.ts";
 *
 * const ttlMs = 6 * 3_600_000;
 * const { store } = await openRedisCallStore({ url: "redis://127.0.0.1", ttlMs });
 * const calls = createFallbackCallStore(store, {
 *   backend: "redis",
 *   log: createLogger(),
 *   ttlMs,
 * });
 * calls.status(); // { backend: "redis", degraded: false, … }
 * ```
 */
export function createFallbackCallStore(
  remote: CallStore,
  options: FallbackCallStoreOptions,
): MonitoredCallStore {
  const { backend, log, ttlMs } = options;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const retryAfterMs = options.retryAfterMs ?? 5_000;
  const now = options.now ?? Date.now;
  const memory = createMemoryCallStore({ ttlMs, now });
  let degradedSince: number | undefined;
  let lastFailureAt = 0;
  let failures = 0;

  /** Runs a backend operation; `undefined` when it failed or was skipped. */
  async function attempt<T>(
    callId: string,
    operation: string,
    run: () => Promise<T>,
  ): Promise<{ value: T } | undefined> {
    if (degradedSince !== undefined && now() - lastFailureAt < retryAfterMs) {
      return undefined;
    }
    let value: T;
    try {
      value = await withinTimeout(run(), timeoutMs, backend);
    } catch (error) {
      failures++;
      lastFailureAt = now();
      if (degradedSince === undefined) {
        degradedSince = lastFailureAt;
        log.error("call_store_degraded", {
          call_id: callId,
          backend,
          operation,
          error: describeError(error),
        });
      }
      return undefined;
    }
    if (degradedSince !== undefined) {
      log.info("call_store_recovered", {
        call_id: callId,
        backend,
        degraded_ms: now() - degradedSince,
      });
      degradedSince = undefined;
    }
    return { value };
  }

  /** A write: to the backend, else to memory; also to memory when it holds the call. */
  async function write(
    callId: string,
    operation: string,
    run: (store: CallStore) => Promise<void>,
  ): Promise<void> {
    const done = await attempt(callId, operation, () => run(remote));
    if (done === undefined || await memory.get(callId) !== undefined) {
      await run(memory);
    }
  }

  return {
    async get(callId) {
      const shared = await attempt(callId, "get", () => remote.get(callId));
      const local = await memory.get(callId);
      return merge(shared?.value, local);
    },
    markGreeted(callId) {
      return write(callId, "markGreeted", (store) => store.markGreeted(callId));
    },
    saveDetails(callId, details) {
      return write(
        callId,
        "saveDetails",
        (store) => store.saveDetails(callId, details),
      );
    },
    touch(callId) {
      return write(callId, "touch", (store) => store.touch(callId));
    },
    async claimToolRun(callId, key) {
      const local = await memory.getToolRun(callId, key);
      if (local !== undefined) return local;
      const shared = await attempt(
        callId,
        "claimToolRun",
        () => remote.claimToolRun(callId, key),
      );
      return shared?.value ?? await memory.claimToolRun(callId, key);
    },
    async getToolRun(callId, key) {
      const local = await memory.getToolRun(callId, key);
      if (local !== undefined) return local;
      const shared = await attempt(
        callId,
        "getToolRun",
        () => remote.getToolRun(callId, key),
      );
      return shared?.value;
    },
    async saveToolResult(callId, key, result) {
      const held = await memory.getToolRun(callId, key);
      const done = await attempt(
        callId,
        "saveToolResult",
        () => remote.saveToolResult(callId, key, result),
      );
      if (done === undefined || held !== undefined) {
        await memory.saveToolResult(callId, key, result);
      }
    },
    async close() {
      await memory.close();
      try {
        await remote.close();
      } catch (error) {
        log.warn("call_store_close_failed", {
          backend,
          error: describeError(error),
        });
      }
    },
    status() {
      return {
        backend,
        degraded: degradedSince !== undefined,
        degradedSince,
        failures,
      };
    },
  };
}

/** The backend's record with what memory learned during an outage. */
function merge(
  shared: CallRecord | undefined,
  local: CallRecord | undefined,
): CallRecord | undefined {
  if (shared === undefined || local === undefined) return shared ?? local;
  return {
    greeted: shared.greeted || local.greeted,
    details: shared.details ?? local.details,
    lastActivityAt: Math.max(shared.lastActivityAt, local.lastActivityAt),
  };
}

/** Settles like `work`, or rejects after `timeoutMs`; a late rejection is dropped. */
async function withinTimeout<T>(
  work: Promise<T>,
  timeoutMs: number,
  backend: string,
): Promise<T> {
  const result = await beforeDeadline(work, timeoutMs);
  if (result === TIMED_OUT) {
    throw new Error(
      `Cannot reach the call store: ${backend} did not answer within ${timeoutMs} ms`,
    );
  }
  return result;
}
