/**
 * A message assembled from fragments beyond V8's longest string (about
 * 512 MiB), sent to a real server process: the process and its other
 * calls live on, and the one socket is closed with 1009.
 *
 * The message cannot be smaller: the failure is V8's string length limit,
 * 2^29 - 24 characters, and each fragment must stay under Deno's 64 MiB
 * frame limit. The server runs in its own process, so that its global
 * guard and its peak memory (1.15 GB measured on Deno 2.9.6: the
 * assembled message and the failed copy into a string) stay out of the
 * test runner; the client writes one 16 MiB buffer 32 times and holds
 * nothing else. The whole test takes about 7 s, 6 of them the grace a
 * silent call gets before it is judged the failed socket.
 */
import assert from "node:assert/strict";
import { ping, responseRequired } from "./_support/frames.ts";
import { openRawSocket, zeroMaskHeader } from "./_support/raw_socket.ts";
import { connectAsRetell } from "./_support/retell_client.ts";
import { spawnServer } from "./_support/server_process.ts";
import { OPCODE } from "../src/simulator/_websocket_frames.ts";

const FRAGMENT_BYTES = 16 * 1024 * 1024;
/**
 * 512 MiB, 24 bytes over V8's longest string (2^29 - 24 characters): the
 * smallest message that fails, in 32 fragments.
 */
const MESSAGE_BYTES = 2 ** 29;

Deno.test({
  name:
    "a message too large to read closes its socket with 1009 and every other call goes on",
  async fn() {
    await using server = spawnServer();
    await server.waitForLog("listening");

    await using healthy = await connectAsRetell(server.url("call_healthy"));
    await healthy.untilComplete(0);
    let timestamp = 0;
    // Retell pings every 2 s; a call that keeps pinging is plainly alive.
    const pinger = setInterval(() => healthy.send(ping(++timestamp)), 1000);
    try {
      using raw = await openRawSocket(server.port, "/llm-websocket/call_huge");
      const payload = new Uint8Array(FRAGMENT_BYTES).fill(0x61);
      for (let sent = 0; sent < MESSAGE_BYTES; sent += FRAGMENT_BYTES) {
        const last = sent + FRAGMENT_BYTES >= MESSAGE_BYTES;
        const opcode = sent === 0 ? OPCODE.text : OPCODE.continuation;
        await raw.write(zeroMaskHeader(opcode, last, FRAGMENT_BYTES));
        await raw.write(payload);
      }

      await server.waitForLog("socket_read_failed", 30_000);
      const ended = await server.waitForLog(
        "call_ended",
        15_000,
        (record) => record.call_id === "call_huge",
      );
      assert.equal(ended.close_code, 1009);
      const rejected = await server.waitForLog("frame_rejected");
      assert.equal(rejected.call_id, "call_huge");
      assert.equal(rejected.kind, "too_large");

      // The process is alive and the other call is answered.
      healthy.send(responseRequired(1));
      const frames = await healthy.untilComplete(1);
      assert.ok(frames.length > 0);
      assert.equal(
        server.logs.filter((record) =>
          record.event === "call_ended" && record.call_id === "call_healthy"
        ).length,
        0,
      );
    } finally {
      clearInterval(pinger);
    }
    const health = await fetch(`${server.origin}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  },
});
