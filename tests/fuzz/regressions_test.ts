/**
 * The counterexamples the fuzz properties found, shrunk and kept as plain
 * tests so each bug stays fixed whatever seed a later run draws.
 */
import assert from "node:assert/strict";
import type { CallStore } from "../../src/call_store/call_store.ts";
import { createMemoryCallStore } from "../../src/call_store/memory.ts";
import {
  defaultConfig,
  ping,
  pong,
  responseRequired,
  spoken,
} from "../_support/frames.ts";
import { connectAsRetell } from "../_support/retell_client.ts";
import { startTestServer } from "../_support/server.ts";

Deno.test("session answers the newest request that waited for the store, not an older one sent after it", async () => {
  const memory = createMemoryCallStore({ ttlMs: 60_000 });
  const answer = Promise.withResolvers<void>();
  // The store answers only once both requests have arrived.
  const callStore: CallStore = {
    ...memory,
    get: async (callId) => {
      await answer.promise;
      return await memory.get(callId);
    },
  };
  await using server = startTestServer({ callStore });
  await using retell = await connectAsRetell(server.url("late_older_request"));
  retell.send(responseRequired(11));
  retell.send(responseRequired(8));
  // The echo shows the server has read both requests.
  retell.send(ping(1));
  assert.deepStrictEqual(await retell.next(), defaultConfig());
  assert.deepStrictEqual(await retell.next(), pong(1));
  answer.resolve();
  const frames = await retell.untilComplete(11);
  assert.ok(
    !frames.some((frame) => frame.response_id === 8),
    "response 8 was answered although request 11 had arrived",
  );
  assert.equal(spoken(frames, 11), "I am sorry, can you say that again?");
});
