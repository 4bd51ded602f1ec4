/**
 * Opens the call store the settings name: `CALL_STORE` picks the backend,
 * `KV_PATH` and `REDIS_URL` say where it is, `CALL_STORE_TTL_HOURS` how long
 * a call is kept after its last activity.
 *
 * @module
 */
import { DEFAULT_CONFIG } from "../config/defaults.ts";
import { CALL_STORE_BACKENDS } from "../config/settings.ts";
import { describeError, type Logger } from "../log.ts";
import type { CallStore } from "./call_store.ts";
import type { CallStoreStatus, MonitoredCallStore } from "./fallback.ts";
import { createFallbackCallStore } from "./fallback.ts";
import { createKvCallStore } from "./kv.ts";
import { createMemoryCallStore } from "./memory.ts";
import { openRedisCallStore } from "./redis.ts";

/** The call store's settings, as read from the environment. */
export interface CallStoreSettings {
  /**
   * `CALL_STORE`: `memory` (one process), `kv` (Deno KV) or `redis`.
   *
   * @default {"memory"}
   */
  backend?: string | undefined;
  /**
   * `KV_PATH`: a file, a KV Connect URL, or unset for Deno's default (on
   * Deno Deploy, the database attached to the app).
   */
  kvPath?: string | undefined;
  /** `REDIS_URL`: required when `CALL_STORE` is `redis`. */
  redisUrl?: string | undefined;
  /**
   * `CALL_STORE_TTL_HOURS`: how long a call is kept after its last activity.
   *
   * @default {6}
   */
  ttlHours?: number | undefined;
}

/** Options of {@linkcode openCallStore}. */
export interface OpenCallStoreOptions {
  /** Where outages of a shared backend are logged. */
  log: Logger;
  /**
   * Longest wait for the first connection and for each backend operation, in ms.
   *
   * @default {2000}
   */
  timeoutMs?: number;
  /**
   * While degraded, how long operations skip the backend after a failure, in ms.
   *
   * @default {5000}
   */
  retryAfterMs?: number;
}

/** Result of {@linkcode openCallStore}: the store, or one line per problem. */
export type OpenCallStoreResult =
  | {
    /** The store opened. */
    ok: true;
    /** The store; `kv` and `redis` fall back to memory while they fail. */
    store: MonitoredCallStore;
  }
  | {
    /** The store did not open. */
    ok: false;
    /** What is wrong, one line each, naming the variable. */
    errors: readonly string[];
  };

/**
 * Opens the call store the settings name. Settings are checked first, all at
 * once; `kv` and `redis` are wrapped by {@linkcode createFallbackCallStore}.
 * A Redis server that does not answer at startup is logged
 * (`call_store_unreachable`) and does not stop the store from opening: it
 * serves from memory until the server answers.
 *
 * @param settings The settings.
 * @param options Logger and timing.
 * @returns The store, or the problems.
 *
 * @example The default: in-process memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../log.ts";
 * import { openCallStore } from "./from_settings.ts";
 *
 * const opened = await openCallStore({}, { log: createLogger() });
 * assert(opened.ok);
 * assert.equal(opened.store.status().backend, "memory");
 * await opened.store.close();
 * ```
 */
export async function openCallStore(
  settings: CallStoreSettings,
  options: OpenCallStoreOptions,
): Promise<OpenCallStoreResult> {
  const { log } = options;
  const backend = settings.backend ?? DEFAULT_CONFIG.callStore;
  const ttlHours = settings.ttlHours ?? DEFAULT_CONFIG.callStoreTtlHours;
  const errors: string[] = [];
  if (!(CALL_STORE_BACKENDS as readonly string[]).includes(backend)) {
    errors.push(
      `CALL_STORE must be one of ${
        CALL_STORE_BACKENDS.join(", ")
      }: current value is "${backend}"`,
    );
  }
  if (!Number.isFinite(ttlHours) || ttlHours <= 0) {
    errors.push(
      `CALL_STORE_TTL_HOURS must be a number above 0: current value is "${ttlHours}"`,
    );
  }
  if (backend === "redis") {
    const problem = checkRedisUrl(settings.redisUrl);
    if (problem !== undefined) errors.push(problem);
  }
  if (backend === "kv" && typeof Deno.openKv !== "function") {
    errors.push(
      'CALL_STORE is "kv" but Deno KV is not enabled: add "unstable": ["kv"] to deno.json or run with --unstable-kv',
    );
  }
  if (errors.length > 0) return { ok: false, errors };

  const ttlMs = Math.max(1, Math.round(ttlHours * 3_600_000));
  const timing = {
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.retryAfterMs !== undefined &&
      { retryAfterMs: options.retryAfterMs }),
  };
  /** A remote store behind the in-process fallback. */
  const guard = (remote: CallStore) =>
    createFallbackCallStore(remote, { backend, log, ttlMs, ...timing });
  switch (backend) {
    case "kv": {
      let kv: Deno.Kv;
      try {
        kv = await Deno.openKv(settings.kvPath);
      } catch (error) {
        const where = settings.kvPath === undefined
          ? "Deno's default database (KV_PATH is unset)"
          : `KV_PATH "${settings.kvPath}"`;
        return {
          ok: false,
          errors: [`Cannot open Deno KV at ${where}: ${describeError(error)}`],
        };
      }
      return { ok: true, store: guard(createKvCallStore(kv, { ttlMs })) };
    }
    case "redis": {
      const url = settings.redisUrl!;
      const { store, connected } = await openRedisCallStore({
        url,
        ttlMs,
        ...(options.timeoutMs !== undefined &&
          { timeoutMs: options.timeoutMs }),
      });
      if (!connected) {
        log.warn("call_store_unreachable", {
          backend,
          host: new URL(url).host,
        });
      }
      return { ok: true, store: guard(store) };
    }
    default: {
      const memory = createMemoryCallStore({ ttlMs });
      const status: CallStoreStatus = {
        backend,
        degraded: false,
        degradedSince: undefined,
        failures: 0,
      };
      return { ok: true, store: { ...memory, status: () => status } };
    }
  }
}

/** The problem with `REDIS_URL`, if any; the value is not echoed: it may hold a password. */
function checkRedisUrl(url: string | undefined): string | undefined {
  if (url === undefined || url === "") {
    return 'REDIS_URL must be set when CALL_STORE is "redis"';
  }
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return "REDIS_URL must be a URL such as redis://host:6379: the current value does not parse (not shown: it may hold a password)";
  }
  if (protocol !== "redis:" && protocol !== "rediss:") {
    return `REDIS_URL must start with redis:// or rediss://: current scheme is "${protocol}"`;
  }
  return undefined;
}
