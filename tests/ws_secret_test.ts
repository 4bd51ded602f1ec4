import assert from "node:assert/strict";
import { createServerMetrics } from "../src/metrics.ts";
import { defaultConfig } from "./_support/frames.ts";
import { sampleOf } from "./_support/metrics.ts";
import { connectAsRetell, handshakeStatus } from "./_support/retell_client.ts";
import { startTestServer } from "./_support/server.ts";

const SECRET = "s3cret-0123456789abcdef";

Deno.test("WS_SECRET: only URLs that carry it are upgraded", async (t) => {
  const metrics = createServerMetrics();
  await using server = startTestServer({ wsSecret: SECRET, metrics });
  const base = server.url("").slice(0, -1);

  await t.step("as the segment before the call id", async () => {
    await using retell = await connectAsRetell(`${base}/${SECRET}/call_path`);
    assert.deepStrictEqual(await retell.next(), defaultConfig());
    assert.equal(
      server.logs.events("call_accepted").at(-1)?.call_id,
      "call_path",
    );
  });

  await t.step("as the token query parameter", async () => {
    await using retell = await connectAsRetell(
      `${base}/call_query?token=${SECRET}`,
    );
    assert.deepStrictEqual(await retell.next(), defaultConfig());
    assert.equal(
      server.logs.events("call_accepted").at(-1)?.call_id,
      "call_query",
    );
  });

  const wrongSameLength = SECRET.slice(0, -1) + "X";
  const refused: Array<[string, string]> = [
    ["missing", `${base}/call_missing`],
    ["wrong in the path, same length", `${base}/${wrongSameLength}/call_w1`],
    ["wrong in the path, shorter", `${base}/${SECRET.slice(0, -1)}/call_w2`],
    ["wrong in the path, longer", `${base}/${SECRET}0/call_w3`],
    ["wrong token, same length", `${base}/call_w4?token=${wrongSameLength}`],
    ["wrong token, different length", `${base}/call_w5?token=guess`],
    ["an empty token", `${base}/call_w6?token=`],
  ];
  for (const [name, url] of refused) {
    await t.step(`refuses it ${name}: 403, no call`, async () => {
      assert.equal(await handshakeStatus(url), 403);
    });
  }

  await t.step("counts the refusals as secret", () => {
    assert.equal(
      sampleOf(
        metrics.render(),
        'retell_connections_refused_total{reason="secret"}',
      ),
      refused.length,
    );
    assert.equal(server.logs.events("call_accepted").length, 2);
  });

  await t.step(
    "logs a refusal without the path or the query: no secret, no guess, no call id",
    () => {
      const lines = server.logs.events("connection_refused");
      assert.ok(lines.length >= 1);
      assert.deepStrictEqual(Object.keys(lines[0]!).sort(), [
        "address",
        "event",
        "level",
        "peer",
        "reason",
        "time",
      ]);
      assert.deepStrictEqual(
        [lines[0]?.reason, lines[0]?.address],
        ["secret", "127.0.0.1"],
      );
      const everything = JSON.stringify(server.logs.records);
      for (const text of [SECRET, wrongSameLength, "guess", "call_w"]) {
        assert.ok(!everything.includes(text), `logged ${text}`);
      }
    },
  );

  await t.step("still 404s a path of more segments", async () => {
    assert.equal(await handshakeStatus(`${base}/a/${SECRET}/call_x`), 404);
  });
});

Deno.test("WS_SECRET: a refused address is refused for its address first", async () => {
  const metrics = createServerMetrics();
  await using server = startTestServer({
    wsSecret: SECRET,
    allowedIps: ["127.0.0.2"],
    allowLoopback: false,
    metrics,
  });
  const base = server.url("").slice(0, -1);
  assert.equal(await handshakeStatus(`${base}/${SECRET}/call_a`), 403);
  assert.equal(
    sampleOf(
      metrics.render(),
      'retell_connections_refused_total{reason="address"}',
    ),
    1,
  );
  assert.equal(server.logs.events("connection_refused")[0]?.reason, "address");
  assert.ok(!JSON.stringify(server.logs.records).includes(SECRET));
});

Deno.test("without WS_SECRET a segment before the call id is not a route", async () => {
  await using server = startTestServer();
  const base = server.url("").slice(0, -1);
  assert.equal(await handshakeStatus(`${base}/${SECRET}/call_x`), 404);
  await using retell = await connectAsRetell(`${base}/call_y?token=anything`);
  assert.deepStrictEqual(await retell.next(), defaultConfig());
});
