/**
 * The Redis call store, for a fleet of instances sharing one Redis server.
 * Uses node-redis's core client, `@redis/client`.
 *
 * @module
 */
import { beforeDeadline } from "../deadline.ts";
import { createClient } from "@redis/client";
import type { ToolOutcome } from "../llm/tools.ts";
import type { CallDetails } from "../protocol/inbound.ts";
import type { CallStore, ToolRun } from "./call_store.ts";

/** Options of {@linkcode openRedisCallStore}. */
export interface RedisCallStoreOptions {
  /** The server, as `redis://[user:password@]host[:port][/db]` or `rediss://…` for TLS. */
  url: string;
  /** How long a call's entries live after its last activity, in ms. */
  ttlMs: number;
  /**
   * How long to wait for a connection and for each command, in ms.
   *
   * @default {2000}
   */
  timeoutMs?: number;
  /**
   * Clock for `lastActivityAt` and `claimedAt`, in ms since the epoch.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/** Result of {@linkcode openRedisCallStore}. */
export interface OpenedRedisCallStore {
  /** The store; it reconnects by itself whenever the connection drops. */
  store: CallStore;
  /** Whether the first connection succeeded within the timeout. */
  connected: boolean;
}

/** First part of every key the store writes. */
const KEY_PREFIX = "retell_call:";
/** Longest pause between reconnection attempts, in ms. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * Opens a call store on a Redis server. A call is one hash,
 * `retell_call:{callId}`, with fields `activity`, `greeted`, `details` and
 * `tool:{key}`; every write sets `activity` and the hash's expiry
 * (`PEXPIRE`) in one `MULTI` transaction, and a claim is `HSETNX` on the
 * run's field in the same transaction.
 *
 * Waits for the first connection at most `timeoutMs` and resolves either
 * way; the client keeps reconnecting in the background. Commands fail at
 * once while the connection is down (no offline queue) and after
 * `timeoutMs` when the server does not answer.
 *
 * @param options The server, the TTL and the timeout.
 * @returns The store, and whether it is connected.
 *
 * @example A store for a fleet
 * ```ts ignore
 * import { openRedisCallStore } from "./redis.ts";
 *
 * const { store, connected } = await openRedisCallStore({
 *   url: "redis://127.0.0.1:6379",
 *   ttlMs: 6 * 3_600_000,
 * });
 * ```
 */
export async function openRedisCallStore(
  options: RedisCallStoreOptions,
): Promise<OpenedRedisCallStore> {
  const { ttlMs } = options;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const now = options.now ?? Date.now;
  // The client pauses between reconnection attempts on a timer that
  // `destroy()` does not cancel; `close()` outwaits it.
  let reconnectPauseEndsAt = 0;
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    // Redis Enterprise maintenance notices; off, they read no environment.
    maintNotifications: "disabled",
    commandOptions: { timeout: timeoutMs },
    socket: {
      connectTimeout: timeoutMs,
      reconnectStrategy(retries: number) {
        const pauseMs = Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS);
        reconnectPauseEndsAt = Date.now() + pauseMs;
        return pauseMs;
      },
    },
  });
  // Connection errors come back through the commands that meet them; without
  // a listener the client would throw them as uncaught errors.
  client.on("error", () => {});
  // Whether it connected in time; a failure to connect is not an error here.
  const connected = await beforeDeadline(
    client.connect().then(() => true, () => false),
    timeoutMs,
  ) === true;

  const keyOf = (callId: string) => `${KEY_PREFIX}${callId}`;
  const toolField = (key: string) => `tool:${key}`;

  /** Sets fields of a call with fresh activity and expiry, in one transaction. */
  async function write(
    callId: string,
    fields: Record<string, string>,
  ): Promise<void> {
    const key = keyOf(callId);
    await client.multi()
      .hSet(key, { ...fields, activity: String(now()) })
      .pExpire(key, ttlMs)
      .exec();
  }

  const store: CallStore = {
    async get(callId) {
      const [activity, greeted, details] = await client.hmGet(keyOf(callId), [
        "activity",
        "greeted",
        "details",
      ]);
      if (activity === null || activity === undefined) return undefined;
      return {
        greeted: greeted === "1",
        details: typeof details === "string"
          ? JSON.parse(details) as CallDetails
          : undefined,
        lastActivityAt: Number(activity),
      };
    },
    markGreeted(callId) {
      return write(callId, { greeted: "1" });
    },
    saveDetails(callId, details: CallDetails) {
      return write(callId, { details: JSON.stringify(details) });
    },
    touch(callId) {
      return write(callId, {});
    },
    async claimToolRun(callId, key) {
      const at = now();
      const running: ToolRun = { state: "running", claimedAt: at };
      const redisKey = keyOf(callId);
      const [claimed, stored] = await client.multi()
        .hSetNX(redisKey, toolField(key), JSON.stringify(running))
        .hGet(redisKey, toolField(key))
        .hSet(redisKey, "activity", String(at))
        .pExpire(redisKey, ttlMs)
        .exec();
      if (Number(claimed) === 1) return { state: "claimed" };
      return parseToolRun(stored, callId, key);
    },
    async getToolRun(callId, key) {
      const stored = await client.hGet(keyOf(callId), toolField(key));
      return stored === null ? undefined : parseToolRun(stored, callId, key);
    },
    saveToolResult(callId, key, result: ToolOutcome) {
      const done: ToolRun = { state: "done", result };
      return write(callId, { [toolField(key)]: JSON.stringify(done) });
    },
    async close() {
      if (client.isReady) {
        await client.close();
        return;
      }
      client.destroy();
      const pauseMs = reconnectPauseEndsAt - Date.now();
      if (pauseMs >= 0) {
        await new Promise((resolve) => setTimeout(resolve, pauseMs + 1));
      }
    },
  };
  return { store, connected };
}

/** Reads a stored tool run, checking its shape. */
function parseToolRun(stored: unknown, callId: string, key: string): ToolRun {
  const run: unknown = typeof stored === "string" ? JSON.parse(stored) : null;
  if (isToolRun(run)) return run;
  throw new TypeError(
    `Cannot read tool run "${key}" of call "${callId}" from Redis: the stored value is not a tool run`,
  );
}

function isToolRun(value: unknown): value is ToolRun {
  if (typeof value !== "object" || value === null) return false;
  const run = value as Record<string, unknown>;
  if (run.state === "running") return typeof run.claimedAt === "number";
  if (run.state !== "done") return false;
  const result = run.result as Record<string, unknown> | null | undefined;
  return typeof result?.content === "string" &&
    typeof result.successful === "boolean";
}
