import assert from "node:assert/strict";
import { responseRequired } from "./_support/frames.ts";
import { sampleOf } from "./_support/metrics.ts";
import { connectAsRetell } from "./_support/retell_client.ts";
import { startServerProcess } from "./_support/server_process.ts";
import { connectFrom, type SourcedSocket } from "./_support/source_address.ts";
import { waitUntil } from "./_support/wait.ts";

/** How often the canary takes a turn during the flood. */
const CANARY_EVERY_MS = 200;

Deno.test({
  name:
    "serveRetell keeps live calls answered through a descriptor flood and serves again after it",
  // node:net keeps internal handles of its own past the sockets' close.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await startServerProcess({
      fileLimit: 256,
      env: { ALLOWED_IPS: "127.0.0.1", ALLOW_LOOPBACK: "false" },
    });
    await using canary = await connectAsRetell(server.url("canary"));
    await canary.take(2);

    // The canary takes a turn every 200 ms throughout; each must complete
    // within 2 s, or the loop (and the test) fails.
    let turns = 0;
    let stop = false;
    const turnTaken = new Set<() => void>();
    const canaryLoop = (async () => {
      for (let id = 1; !stop; id++) {
        const started = performance.now();
        canary.send(responseRequired(id));
        const frames = await canary.untilComplete(id, 2000);
        assert.equal(frames.at(-1)?.content_complete, true);
        turns++;
        turnTaken.forEach((check) => check());
        const left = CANARY_EVERY_MS - (performance.now() - started);
        if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
      }
    })();
    const afterTurns = (count: number) =>
      waitUntil(
        () => turns >= count,
        turnTaken,
        5000,
        () => `The canary took ${turns} of ${count} turns`,
      );

    // 400 silent connections from 127.0.0.2, an address that is not
    // allowed: more than the 256 descriptors the server has.
    const flood: SourcedSocket[] = [];
    const opening = Array.from(
      { length: 400 },
      () =>
        connectFrom("127.0.0.2", server.port).then(
          (socket) => flood.push(socket),
          () => {},
        ),
    );
    await server.waitForLog("accept_failed", 10_000);
    await Promise.all(opening);
    // A second of turns with the flood held.
    await afterTurns(turns + 5);

    await Promise.all(flood.map((socket) => socket[Symbol.asyncDispose]()));
    await server.waitForLog("listening_again", 5_000);
    const health = await fetch(`${server.origin}/healthz`);
    assert.equal(health.status, 200);
    assert.deepStrictEqual(await health.json(), {
      status: "ok",
      live_calls: 1,
    });
    await using late = await connectAsRetell(server.url("after_flood"));
    await late.take(2);
    const metrics = await (await fetch(`${server.origin}/metrics`)).text();
    assert.ok((sampleOf(metrics, "retell_accept_restarts_total") ?? 0) >= 1);
    await afterTurns(turns + 2);

    stop = true;
    await canaryLoop;
    assert.deepStrictEqual(
      server.stderrText.filter((line) => line.includes("Uncaught")),
      [],
    );
  },
});
