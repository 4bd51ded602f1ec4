import assert from "node:assert/strict";
import type { CallStore } from "../../src/call_store/call_store.ts";
import { createKvCallStore } from "../../src/call_store/kv.ts";
import { createMemoryCallStore } from "../../src/call_store/memory.ts";
import { openRedisCallStore } from "../../src/call_store/redis.ts";
import type { CallDetails } from "../../src/protocol/inbound.ts";
import {
  redisMissing,
  type RedisServer,
  startRedisServer,
} from "./_redis_server.ts";

/** Long enough that nothing expires during a step. */
const LONG_TTL_MS = 3_600_000;

/** Stores on one backend's data, as separate instances where it allows. */
interface Stores extends AsyncDisposable {
  /** One or more stores sharing the same data. */
  readonly all: readonly [CallStore, ...CallStore[]];
}

/** How the suite reaches one backend. */
interface Backend {
  readonly name: string;
  readonly ignore: boolean;
  /** Sets up what the backend needs for the whole suite. */
  setUp(): Promise<AsyncDisposable & { open(ttlMs: number): Promise<Stores> }>;
}

function storesOf(...all: [CallStore, ...CallStore[]]): Stores {
  return {
    all,
    async [Symbol.asyncDispose]() {
      for (const store of all) await store.close();
    },
  };
}

const backends: Backend[] = [
  {
    name: "memory",
    ignore: false,
    setUp: () =>
      Promise.resolve({
        open: (ttlMs) =>
          Promise.resolve(storesOf(createMemoryCallStore({ ttlMs }))),
        [Symbol.asyncDispose]: () => Promise.resolve(),
      }),
  },
  {
    // One process per file (two handles on one file get "database is
    // locked"), so one instance; concurrent claims still race in its commits.
    name: "kv",
    ignore: false,
    async setUp() {
      const dir = await Deno.makeTempDir({
        dir: "/tmp",
        prefix: "call_store_",
      });
      let files = 0;
      return {
        async open(ttlMs) {
          const kv = await Deno.openKv(`${dir}/calls_${files++}.sqlite`);
          return storesOf(createKvCallStore(kv, { ttlMs }));
        },
        [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
      };
    },
  },
  {
    name: "redis",
    ignore: redisMissing !== undefined,
    async setUp() {
      const server: RedisServer = await startRedisServer();
      return {
        async open(ttlMs) {
          const first = await openRedisCallStore({ url: server.url, ttlMs });
          const second = await openRedisCallStore({ url: server.url, ttlMs });
          assert(first.connected && second.connected);
          return storesOf(first.store, second.store);
        },
        [Symbol.asyncDispose]: () => server.stop(),
      };
    },
  },
];

const DETAILS: CallDetails = {
  call_id: "ignored",
  agent_id: "agent_1",
  from_number: "+15550100",
  retell_llm_dynamic_variables: { name: "Ada" },
  metadata: { order: [1, 2, 3] },
};

const OUTCOME = { content: '{"slots":["9:00"]}', successful: true };

/** Waits for time to pass: what a TTL test is about, not synchronisation. */
function delayUntil(time: number): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, time - Date.now()))
  );
}

for (const backend of backends) {
  Deno.test({
    name: `call store (${backend.name}) keeps what a reconnecting socket needs`,
    ignore: backend.ignore,
    async fn(t) {
      await using setup = await backend.setUp();

      await t.step(
        "get answers undefined for a call never written",
        async () => {
          await using stores = await setup.open(LONG_TTL_MS);
          assert.equal(await stores.all[0].get(crypto.randomUUID()), undefined);
          assert.equal(
            await stores.all[0].getToolRun(crypto.randomUUID(), "lookup"),
            undefined,
          );
        },
      );

      await t.step(
        "get returns the greeting and details written, on every instance",
        async () => {
          await using stores = await setup.open(LONG_TTL_MS);
          const [store] = stores.all;
          const callId = crypto.randomUUID();
          const before = Date.now();
          await store.markGreeted(callId);
          await store.saveDetails(callId, DETAILS);
          const after = Date.now();
          for (const other of stores.all) {
            const record = await other.get(callId);
            assert(record !== undefined);
            assert.equal(record.greeted, true);
            assert.deepEqual(record.details, DETAILS);
            assert(
              record.lastActivityAt >= before && record.lastActivityAt <= after,
              `lastActivityAt ${record.lastActivityAt} is not within [${before}, ${after}]`,
            );
          }
        },
      );

      await t.step(
        "touch starts a record with nothing spoken and moves its activity on",
        async () => {
          await using stores = await setup.open(LONG_TTL_MS);
          const [store] = stores.all;
          const callId = crypto.randomUUID();
          await store.touch(callId);
          const first = await store.get(callId);
          assert.deepEqual(first && { ...first, lastActivityAt: 0 }, {
            greeted: false,
            details: undefined,
            lastActivityAt: 0,
          });
          await store.touch(callId);
          const second = await store.get(callId);
          assert(
            second !== undefined &&
              second.lastActivityAt >= first!.lastActivityAt,
          );
        },
      );

      await t.step(
        "a tool run is claimed once, then reported running, then done",
        async () => {
          await using stores = await setup.open(LONG_TTL_MS);
          const first = stores.all[0];
          const second = stores.all.at(-1)!;
          const callId = crypto.randomUUID();
          const before = Date.now();
          assert.deepEqual(await first.claimToolRun(callId, "lookup"), {
            state: "claimed",
          });
          const running = await second.claimToolRun(callId, "lookup");
          assert.equal(running.state, "running");
          assert(
            running.state === "running" && running.claimedAt >= before &&
              running.claimedAt <= Date.now(),
          );
          assert.deepEqual(await second.getToolRun(callId, "lookup"), running);

          await first.saveToolResult(callId, "lookup", OUTCOME);
          const done = { state: "done", result: OUTCOME };
          for (const store of stores.all) {
            assert.deepEqual(await store.claimToolRun(callId, "lookup"), done);
            assert.deepEqual(await store.getToolRun(callId, "lookup"), done);
          }
          assert.deepEqual(await second.claimToolRun(callId, "other"), {
            state: "claimed",
          });
          assert.deepEqual(
            await second.claimToolRun(crypto.randomUUID(), "lookup"),
            { state: "claimed" },
          );
        },
      );

      await t.step(
        "saveToolResult without a claim marks the run done",
        async () => {
          await using stores = await setup.open(LONG_TTL_MS);
          const [store] = stores.all;
          const callId = crypto.randomUUID();
          await store.saveToolResult(callId, "lookup", OUTCOME);
          assert.deepEqual(await store.claimToolRun(callId, "lookup"), {
            state: "done",
            result: OUTCOME,
          });
        },
      );

      await t.step(
        "of concurrent claims of one key, exactly one wins",
        async () => {
          await using stores = await setup.open(LONG_TTL_MS);
          for (let round = 0; round < 5; round++) {
            const callId = crypto.randomUUID();
            await stores.all[0].touch(callId);
            const claims = await Promise.all(
              Array.from(
                { length: 8 },
                (_, i) =>
                  stores.all[i % stores.all.length]!.claimToolRun(
                    callId,
                    "book",
                  ),
              ),
            );
            const states = claims.map((claim) => claim.state).sort();
            assert.deepEqual(states, ["claimed", ...Array(7).fill("running")]);
          }
        },
      );

      await t.step(
        "a call expires a TTL after its last activity; touch keeps it",
        async () => {
          const ttlMs = 1_500;
          await using stores = await setup.open(ttlMs);
          const [store] = stores.all;
          const idle = crypto.randomUUID();
          const kept = crypto.randomUUID();
          await store.saveDetails(idle, DETAILS);
          await store.claimToolRun(idle, "lookup");
          await store.markGreeted(kept);
          const start = Date.now();
          assert.notEqual(await store.get(idle), undefined);

          await delayUntil(start + 700);
          await store.touch(kept);
          const touchedAt = Date.now();
          await delayUntil(start + ttlMs + 100);

          assert.equal((await store.get(kept))?.greeted, true);
          const checkedAt = Date.now();
          assert(
            checkedAt < touchedAt + ttlMs,
            `the machine was too slow to check the touched call in time (${
              checkedAt - touchedAt
            } ms after the touch)`,
          );
          assert.equal(await store.get(idle), undefined);
          assert.equal(await store.getToolRun(idle, "lookup"), undefined);

          assert.deepEqual(await store.claimToolRun(idle, "lookup"), {
            state: "claimed",
          });
          assert.deepEqual(
            await store.get(idle).then((r) => r?.details),
            undefined,
          );
        },
      );
    },
  });
}
