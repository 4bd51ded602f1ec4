/**
 * The Deno KV call store: a local SQLite file (one process per file), the
 * database attached to a Deno Deploy app, or a KV Connect server.
 *
 * @module
 */
import type { ToolOutcome } from "../llm/tools.ts";
import type { CallDetails } from "../protocol/inbound.ts";
import type { CallStore, ToolClaim, ToolRun } from "./call_store.ts";

/** Options of {@linkcode createKvCallStore}. */
export interface KvCallStoreOptions {
  /** How long a call's entries live after its last activity, in ms. */
  ttlMs: number;
  /**
   * Clock, in ms since the epoch.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/** First part of every key the store writes. */
const ROOT = "retell_call";
/** Writes that keep losing to concurrent writes give up after this many tries. */
const MAX_ATTEMPTS = 10;

/** The `activity` entry of a call; the call is live while it is. */
interface Activity {
  /** When the call was last written to. */
  lastActivityAt: number;
  /** When every entry of the call last got a fresh expiry. */
  refreshedAt: number;
}

/** What a write sets, and what it answers. */
interface Plan<T> {
  /** Entries to set besides the call's activity. */
  sets: { key: Deno.KvKey; value: unknown }[];
  /** The write's answer. */
  answer: T;
}

/**
 * Creates a call store on a Deno KV database. A call is one entry per field
 * (`greeted`, `details`, `activity`, one per tool run) under
 * `["retell_call", callId]`; a claim is an atomic commit that checks the
 * run's key is absent.
 *
 * Liveness is read from the `activity` entry, so expiry is exact although a
 * local KV file still returns expired entries until it collects them.
 * Entries get `expireIn` of twice the TTL and are rewritten with a fresh one
 * when a write finds them a TTL old: a call shorter than the TTL never
 * rewrites, and KV's own expiry only collects garbage. A value must stay
 * under Deno KV's 64 KiB limit, and a call under about 95 tool runs (one
 * atomic commit checks at most 100 keys).
 *
 * @param kv An open database; the store closes it on `close()`.
 * @param options The TTL and the clock.
 * @returns The store.
 *
 * @example A store in a local file
 * ```ts ignore
 * import { createKvCallStore } from "./kv.ts";
 *
 * const store = createKvCallStore(await Deno.openKv("./calls.sqlite"), {
 *   ttlMs: 6 * 3_600_000,
 * });
 * ```
 */
export function createKvCallStore(
  kv: Deno.Kv,
  options: KvCallStoreOptions,
): CallStore {
  const { ttlMs } = options;
  const now = options.now ?? Date.now;
  const expireIn = 2 * ttlMs;

  const callKey = (callId: string): Deno.KvKey => [ROOT, callId];
  const fieldKey = (callId: string, field: string): Deno.KvKey => [
    ROOT,
    callId,
    field,
  ];
  const toolKey = (callId: string, key: string): Deno.KvKey => [
    ROOT,
    callId,
    "tool",
    key,
  ];

  function liveActivity(
    activity: Activity | null,
    at: number,
  ): Activity | undefined {
    return activity !== null && at < activity.lastActivityAt + ttlMs
      ? activity
      : undefined;
  }

  /**
   * Commits one write with fresh activity, after reading the call's activity
   * and `watched` (when given) and checking in the commit that neither
   * changed. When the call has expired, its old entries go in the same
   * commit; when they are a TTL old, they get a fresh expiry. Retries when
   * another write got in first.
   */
  async function write<T>(
    callId: string,
    watched: Deno.KvKey | undefined,
    plan: (watched: unknown, at: number) => Plan<T>,
  ): Promise<T> {
    const activityKey = fieldKey(callId, "activity");
    const keys = watched === undefined ? [activityKey] : [activityKey, watched];
    const activityId = JSON.stringify(activityKey);
    const own = new Set(keys.map((key) => JSON.stringify(key)));
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const at = now();
      const entries = await kv.getMany(keys);
      const op = kv.atomic();
      for (const entry of entries) op.check(entry);
      const live = liveActivity(entries[0]!.value as Activity | null, at);
      const { sets, answer } = plan(
        live === undefined ? null : entries[1]?.value ?? null,
        at,
      );
      const changed = new Set(sets.map(({ key }) => JSON.stringify(key)));
      let refreshedAt = live?.refreshedAt ?? at;
      if (live === undefined || at - refreshedAt >= ttlMs) {
        refreshedAt = at;
        for await (const entry of kv.list({ prefix: callKey(callId) })) {
          const id = JSON.stringify(entry.key);
          if (!own.has(id)) op.check(entry);
          if (id === activityId || changed.has(id)) continue;
          if (live === undefined) op.delete(entry.key);
          else op.set(entry.key, entry.value, { expireIn });
        }
      }
      for (const { key, value } of sets) op.set(key, value, { expireIn });
      const activity: Activity = { lastActivityAt: at, refreshedAt };
      op.set(activityKey, activity, { expireIn });
      if ((await op.commit()).ok) return answer;
    }
    throw new Error(
      `Cannot write call "${callId}" to Deno KV: ${MAX_ATTEMPTS} attempts met concurrent writes`,
    );
  }

  return {
    async get(callId) {
      const [activity, greeted, details] = await kv.getMany<
        [Activity, boolean, CallDetails]
      >([
        fieldKey(callId, "activity"),
        fieldKey(callId, "greeted"),
        fieldKey(callId, "details"),
      ]);
      const live = liveActivity(activity.value, now());
      if (live === undefined) return undefined;
      return {
        greeted: greeted.value === true,
        details: details.value ?? undefined,
        lastActivityAt: live.lastActivityAt,
      };
    },
    markGreeted(callId) {
      const key = fieldKey(callId, "greeted");
      return write(callId, undefined, () => ({
        sets: [{ key, value: true }],
        answer: undefined,
      }));
    },
    saveDetails(callId, details: CallDetails) {
      const key = fieldKey(callId, "details");
      return write(callId, undefined, () => ({
        sets: [{ key, value: details }],
        answer: undefined,
      }));
    },
    touch(callId) {
      return write(callId, undefined, () => ({ sets: [], answer: undefined }));
    },
    claimToolRun(callId, key) {
      const runKey = toolKey(callId, key);
      return write<ToolClaim>(callId, runKey, (run, at) => {
        if (run !== null) return { sets: [], answer: run as ToolRun };
        const running: ToolRun = { state: "running", claimedAt: at };
        return {
          sets: [{ key: runKey, value: running }],
          answer: { state: "claimed" },
        };
      });
    },
    async getToolRun(callId, key) {
      const [activity, run] = await kv.getMany<[Activity, ToolRun]>([
        fieldKey(callId, "activity"),
        toolKey(callId, key),
      ]);
      if (liveActivity(activity.value, now()) === undefined) return undefined;
      return run.value ?? undefined;
    },
    saveToolResult(callId, key, result: ToolOutcome) {
      const done: ToolRun = { state: "done", result };
      return write(callId, undefined, () => ({
        sets: [{ key: toolKey(callId, key), value: done }],
        answer: undefined,
      }));
    },
    close() {
      kv.close();
      return Promise.resolve();
    },
  };
}
