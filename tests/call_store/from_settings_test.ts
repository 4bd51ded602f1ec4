import assert from "node:assert/strict";
import { openCallStore } from "../../src/call_store/from_settings.ts";
import { captureLogs } from "../_support/logs.ts";
import { redisMissing, startRedisServer } from "./_redis_server.ts";

const { log } = captureLogs();

Deno.test("openCallStore names every bad variable at once", async () => {
  const opened = await openCallStore(
    { backend: "postgres", ttlHours: 0 },
    { log },
  );
  assert.deepEqual(opened, {
    ok: false,
    errors: [
      'CALL_STORE must be one of memory, kv, redis: current value is "postgres"',
      'CALL_STORE_TTL_HOURS must be a number above 0: current value is "0"',
    ],
  });
});

Deno.test("openCallStore refuses redis without a usable REDIS_URL", async (t) => {
  const cases: [string | undefined, string][] = [
    [undefined, 'REDIS_URL must be set when CALL_STORE is "redis"'],
    ["", 'REDIS_URL must be set when CALL_STORE is "redis"'],
    [
      "http://127.0.0.1:6379",
      'REDIS_URL must start with redis:// or rediss://: current scheme is "http:"',
    ],
    [
      "not a url :secret",
      "REDIS_URL must be a URL such as redis://host:6379: the current value does not parse (not shown: it may hold a password)",
    ],
  ];
  for (const [redisUrl, error] of cases) {
    await t.step(`REDIS_URL=${JSON.stringify(redisUrl)}`, async () => {
      const opened = await openCallStore({ backend: "redis", redisUrl }, {
        log,
      });
      assert.deepEqual(opened, { ok: false, errors: [error] });
    });
  }
});

Deno.test("openCallStore opens memory by default", async () => {
  const opened = await openCallStore({}, { log });
  assert(opened.ok);
  const callId = crypto.randomUUID();
  await opened.store.markGreeted(callId);
  assert.equal((await opened.store.get(callId))?.greeted, true);
  assert.deepEqual(opened.store.status(), {
    backend: "memory",
    degraded: false,
    degradedSince: undefined,
    failures: 0,
  });
  await opened.store.close();
});

Deno.test("openCallStore opens Deno KV at KV_PATH", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "call_store_" });
  try {
    const opened = await openCallStore(
      { backend: "kv", kvPath: `${dir}/calls.sqlite` },
      { log },
    );
    assert(opened.ok);
    const callId = crypto.randomUUID();
    await opened.store.markGreeted(callId);
    assert.equal((await opened.store.get(callId))?.greeted, true);
    assert.equal(opened.store.status().backend, "kv");
    await opened.store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openCallStore reports a KV_PATH it cannot open", async () => {
  const opened = await openCallStore(
    { backend: "kv", kvPath: "/tmp/call_store_missing_dir/none/calls.sqlite" },
    { log },
  );
  assert(!opened.ok);
  assert.equal(opened.errors.length, 1);
  assert.match(
    opened.errors[0]!,
    /^Cannot open Deno KV at KV_PATH "\/tmp\/call_store_missing_dir\/none\/calls.sqlite": /,
  );
});

Deno.test({
  name: "openCallStore opens redis at REDIS_URL",
  ignore: redisMissing !== undefined,
  async fn() {
    await using server = await startRedisServer();
    const logs = captureLogs();
    const opened = await openCallStore(
      { backend: "redis", redisUrl: server.url, ttlHours: 0.5 },
      { log: logs.log },
    );
    assert(opened.ok);
    const callId = crypto.randomUUID();
    await opened.store.markGreeted(callId);
    assert.equal((await opened.store.get(callId))?.greeted, true);
    assert.equal(opened.store.status().degraded, false);
    assert.deepEqual(logs.records, []);
    await opened.store.close();
  },
});
