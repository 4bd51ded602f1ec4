import assert from "node:assert/strict";
import type { MonitoredCallStore } from "../../src/call_store/fallback.ts";
import { openCallStore } from "../../src/call_store/from_settings.ts";
import { captureLogs, type LogCapture } from "../_support/logs.ts";
import { freePort, redisMissing, startRedisServer } from "./_redis_server.ts";

const OUTCOME = { content: "booked", successful: true };
/** Short, so a test meets a timeout and a retry quickly. */
const TIMEOUT_MS = 500;
const RETRY_AFTER_MS = 50;

async function openOnRedis(
  url: string,
  logs: LogCapture,
): Promise<MonitoredCallStore> {
  const opened = await openCallStore(
    { backend: "redis", redisUrl: url, ttlHours: 1 },
    { log: logs.log, timeoutMs: TIMEOUT_MS, retryAfterMs: RETRY_AFTER_MS },
  );
  assert(opened.ok, opened.ok ? "" : opened.errors.join("\n"));
  return opened.store;
}

/** Repeats `touch` until the store is no longer degraded, for at most `timeoutMs`. */
async function untilRecovered(
  store: MonitoredCallStore,
  callId: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (store.status().degraded) {
    assert(
      Date.now() < deadline,
      `the store was still degraded after ${timeoutMs} ms`,
    );
    await store.touch(callId);
    if (store.status().degraded) {
      // Gives the client's reconnection time to happen between tries.
      await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS));
    }
  }
}

/** Records unhandled rejections while a test runs. */
function watchRejections(): { reasons: unknown[] } & Disposable {
  const reasons: unknown[] = [];
  const listener = (event: PromiseRejectionEvent) => reasons.push(event.reason);
  globalThis.addEventListener("unhandledrejection", listener);
  return {
    reasons,
    [Symbol.dispose]: () =>
      globalThis.removeEventListener("unhandledrejection", listener),
  };
}

Deno.test({
  name:
    "call store (redis) serves from memory while redis is down, then recovers",
  ignore: redisMissing !== undefined,
  async fn() {
    using rejections = watchRejections();
    const logs = captureLogs();
    const server = await startRedisServer();
    const store = await openOnRedis(server.url, logs);
    try {
      const callId = crypto.randomUUID();
      const other = crypto.randomUUID();
      await store.markGreeted(callId);
      assert.deepEqual(await store.claimToolRun(callId, "before"), {
        state: "claimed",
      });
      assert.equal(store.status().degraded, false);

      await server.stop("SIGKILL");

      await store.saveToolResult(callId, "before", OUTCOME);
      await store.markGreeted(other);
      assert.deepEqual(await store.claimToolRun(callId, "during"), {
        state: "claimed",
      });
      assert.equal(
        (await store.claimToolRun(callId, "during")).state,
        "running",
      );
      assert.equal((await store.get(other))?.greeted, true);
      const status = store.status();
      assert.equal(status.degraded, true);
      assert(status.failures >= 1);
      assert(status.degradedSince !== undefined);
      const degraded = logs.events("call_store_degraded");
      assert.equal(degraded.length, 1);
      assert.equal(degraded[0]!.call_id, callId);
      assert.equal(degraded[0]!.backend, "redis");

      await using restarted = await startRedisServer(server.port);
      await untilRecovered(store, other);
      assert.equal(logs.events("call_store_recovered").length, 1);

      // The new server is empty; what memory learned still holds.
      assert.equal(
        (await store.claimToolRun(callId, "during")).state,
        "running",
      );
      assert.deepEqual(await store.claimToolRun(callId, "before"), {
        state: "done",
        result: OUTCOME,
      });
      assert.equal((await store.get(other))?.greeted, true);
      assert.deepEqual(await store.claimToolRun(callId, "after"), {
        state: "claimed",
      });
      assert.equal(store.status().degraded, false);
      assert.equal(restarted.port, server.port);
    } finally {
      await store.close();
      await server.stop();
    }
    assert.deepEqual(rejections.reasons, []);
  },
});

Deno.test({
  name: "call store (redis) counts a server that stops answering as failed",
  ignore: redisMissing !== undefined,
  async fn() {
    const logs = captureLogs();
    await using server = await startRedisServer();
    const store = await openOnRedis(server.url, logs);
    try {
      const callId = crypto.randomUUID();
      await store.touch(callId);
      server.signal("SIGSTOP");
      const started = Date.now();
      try {
        assert.deepEqual(await store.claimToolRun(callId, "lookup"), {
          state: "claimed",
        });
      } finally {
        server.signal("SIGCONT");
      }
      const waited = Date.now() - started;
      assert(waited >= TIMEOUT_MS, `answered after ${waited} ms`);
      assert.equal(store.status().degraded, true);
      assert.equal(logs.events("call_store_degraded").length, 1);

      await untilRecovered(store, callId);
      assert.equal(
        (await store.claimToolRun(callId, "lookup")).state,
        "running",
      );
    } finally {
      await store.close();
    }
  },
});

Deno.test("call store (redis) opens without a server and serves from memory", async () => {
  const logs = captureLogs();
  const store = await openOnRedis(`redis://127.0.0.1:${freePort()}`, logs);
  try {
    assert.equal(logs.events("call_store_unreachable").length, 1);
    const callId = crypto.randomUUID();
    await store.markGreeted(callId);
    assert.equal((await store.get(callId))?.greeted, true);
    assert.deepEqual(store.status(), {
      backend: "redis",
      degraded: true,
      degradedSince: store.status().degradedSince,
      failures: 1,
    });
    assert.equal(logs.events("call_store_degraded")[0]?.call_id, callId);
  } finally {
    await store.close();
  }
});
