import assert from "node:assert/strict";
import { createKvCallStore } from "../../src/call_store/kv.ts";
import type { CallDetails } from "../../src/protocol/inbound.ts";

const TTL_MS = 3_600_000;
const OUTCOME = { content: "booked", successful: true };

Deno.test("call store (kv) in a file continues its calls in a restarted process", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "call_store_" });
  try {
    const path = `${dir}/calls.sqlite`;
    const callId = crypto.randomUUID();
    const details: CallDetails = { call_id: callId, from_number: "+15550100" };

    const before = createKvCallStore(await Deno.openKv(path), {
      ttlMs: TTL_MS,
    });
    await before.markGreeted(callId);
    await before.saveDetails(callId, details);
    await before.claimToolRun(callId, "done");
    await before.saveToolResult(callId, "done", OUTCOME);
    await before.claimToolRun(callId, "running");
    await before.close();

    const child = await new Deno.Command("deno", {
      args: [
        "run",
        "--no-prompt",
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        new URL("./_kv_child.ts", import.meta.url).pathname,
        path,
        callId,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(child.stderr);
    assert(child.success, `the restarted process failed:\n${stderr}`);
    const found = JSON.parse(new TextDecoder().decode(child.stdout));

    assert.equal(found.record.greeted, true);
    assert.deepEqual(found.record.details, details);
    assert.deepEqual(found.done, { state: "done", result: OUTCOME });
    assert.equal(found.running.state, "running");
    assert.deepEqual(found.fresh, { state: "claimed" });

    const after = createKvCallStore(await Deno.openKv(path), { ttlMs: TTL_MS });
    try {
      assert.equal((await after.getToolRun(callId, "fresh"))?.state, "running");
    } finally {
      await after.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
