/**
 * The in-process call store: the default, for a single process, and what
 * {@linkcode createFallbackCallStore} serves from while a shared backend is
 * down.
 *
 * @module
 */
import type { ToolOutcome } from "../llm/tools.ts";
import type { CallDetails } from "../protocol/inbound.ts";
import type { CallStore, ToolRun } from "./call_store.ts";

/** Options of {@linkcode createMemoryCallStore}. */
export interface MemoryCallStoreOptions {
  /** How long a call's entries live after its last activity, in ms. */
  ttlMs: number;
  /**
   * Most calls kept: past it, the call with the oldest activity is
   * dropped to make room, so a busy process holds a bounded store however
   * long the TTL (ended calls are kept for the TTL, for reconnects).
   *
   * @default {100000}
   */
  maxEntries?: number;
  /**
   * Clock, in ms since the epoch.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

interface MemoryCall {
  greeted: boolean;
  details: CallDetails | undefined;
  lastActivityAt: number;
  /** Made with the call's first tool run: most calls have none. */
  tools: Map<string, ToolRun> | undefined;
}

/**
 * Creates a call store that keeps calls in this process. Expired calls are
 * dropped when read and by a sweep during writes, at most once per TTL, so
 * the store runs no timer; past `maxEntries` calls, a new one drops the
 * one with the oldest activity.
 *
 * @param options The TTL, the bound and the clock.
 * @returns The store.
 *
 * @example Claim a tool run once
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMemoryCallStore } from "./memory.ts";
 *
 * const store = createMemoryCallStore({ ttlMs: 6 * 3_600_000 });
 * assert.deepEqual(await store.claimToolRun("c1", "lookup"), { state: "claimed" });
 * await store.saveToolResult("c1", "lookup", { content: "42", successful: true });
 * assert.deepEqual(await store.claimToolRun("c1", "lookup"), {
 *   state: "done",
 *   result: { content: "42", successful: true },
 * });
 * await store.close();
 * ```
 */
export function createMemoryCallStore(
  options: MemoryCallStoreOptions,
): CallStore {
  const { ttlMs } = options;
  const maxEntries = options.maxEntries ?? 100_000;
  const now = options.now ?? Date.now;
  const calls = new Map<string, MemoryCall>();
  let lastSweepAt = now();

  function live(callId: string, at: number): MemoryCall | undefined {
    const call = calls.get(callId);
    if (call === undefined) return undefined;
    if (at < call.lastActivityAt + ttlMs) return call;
    calls.delete(callId);
    return undefined;
  }

  /** Returns the call for a write, created when absent, with fresh activity. */
  function active(callId: string): MemoryCall {
    const at = now();
    if (at - lastSweepAt >= ttlMs) {
      lastSweepAt = at;
      for (const [id, call] of calls) {
        if (at >= call.lastActivityAt + ttlMs) calls.delete(id);
      }
    }
    let call = live(callId, at);
    if (call !== undefined) {
      // Kept in order of activity, so the oldest is the first.
      calls.delete(callId);
    } else {
      if (calls.size >= maxEntries) calls.delete(calls.keys().next().value!);
      call = {
        greeted: false,
        details: undefined,
        lastActivityAt: at,
        tools: undefined,
      };
    }
    calls.set(callId, call);
    call.lastActivityAt = at;
    return call;
  }

  return {
    get(callId) {
      const call = live(callId, now());
      return Promise.resolve(
        call && {
          greeted: call.greeted,
          details: call.details && structuredClone(call.details),
          lastActivityAt: call.lastActivityAt,
        },
      );
    },
    markGreeted(callId) {
      active(callId).greeted = true;
      return Promise.resolve();
    },
    saveDetails(callId, details: CallDetails) {
      active(callId).details = structuredClone(details);
      return Promise.resolve();
    },
    touch(callId) {
      active(callId);
      return Promise.resolve();
    },
    claimToolRun(callId, key) {
      const call = active(callId);
      call.tools ??= new Map();
      const run = call.tools.get(key);
      if (run !== undefined) return Promise.resolve(structuredClone(run));
      call.tools.set(key, { state: "running", claimedAt: call.lastActivityAt });
      return Promise.resolve({ state: "claimed" });
    },
    getToolRun(callId, key) {
      const run = live(callId, now())?.tools?.get(key);
      return Promise.resolve(run && structuredClone(run));
    },
    saveToolResult(callId, key, result: ToolOutcome) {
      (active(callId).tools ??= new Map()).set(key, {
        state: "done",
        result: structuredClone(result),
      });
      return Promise.resolve();
    },
    close() {
      calls.clear();
      return Promise.resolve();
    },
  };
}
