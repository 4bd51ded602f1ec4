import assert from "node:assert/strict";
import { createMemoryCallStore } from "../../src/call_store/memory.ts";

Deno.test("memory store keeps at most maxEntries calls, dropping the one with the oldest activity", async () => {
  let clock = 0;
  const store = createMemoryCallStore({
    ttlMs: 3_600_000,
    maxEntries: 2,
    now: () => clock,
  });
  await store.markGreeted("call_a");
  clock++;
  await store.markGreeted("call_b");
  clock++;
  // call_a is active again: call_b now has the oldest activity.
  await store.touch("call_a");
  clock++;
  await store.markGreeted("call_c");

  assert.equal((await store.get("call_a"))?.greeted, true);
  assert.equal(await store.get("call_b"), undefined);
  assert.equal((await store.get("call_c"))?.greeted, true);
});

Deno.test("memory store keeps a call's tool runs after it made room for them", async () => {
  const store = createMemoryCallStore({ ttlMs: 3_600_000 });
  assert.equal(await store.getToolRun("call_t", "k1"), undefined);
  assert.deepEqual(await store.claimToolRun("call_t", "k1"), {
    state: "claimed",
  });
  await store.saveToolResult("call_t", "k2", {
    content: "1",
    successful: true,
  });
  assert.equal((await store.getToolRun("call_t", "k1"))?.state, "running");
  assert.equal((await store.getToolRun("call_t", "k2"))?.state, "done");
});
