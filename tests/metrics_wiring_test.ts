import assert from "node:assert/strict";
import { createFallbackCallStore } from "../src/call_store/fallback.ts";
import { createKvCallStore } from "../src/call_store/kv.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../src/metric_registry.ts";
import type { Responder } from "../src/responder.ts";
import { createDummyResponder } from "../src/responders/dummy.ts";
import { createLlmResponder } from "../src/responders/llm.ts";
import { createRetellServer } from "../src/server.ts";
import { done, ping, pong, responseRequired } from "./_support/frames.ts";
import { startFakeLlm, tokens } from "./_support/llm_server.ts";
import { captureLogs } from "./_support/logs.ts";
import { sampleOf } from "./_support/metrics.ts";
import { slowResponder } from "./_support/responders.ts";
import { connectAsRetell, handshakeStatus } from "./_support/retell_client.ts";
import { startTestServer, type TestServer } from "./_support/server.ts";

const TOKEN = "scrape-token-0123456789";

/** `GET /metrics` from 127.0.0.1; the body and the status. */
async function scrape(
  server: TestServer,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; type: string | null }> {
  const response = await fetch(`${server.origin}/metrics`, { headers });
  return {
    status: response.status,
    text: await response.text(),
    type: response.headers.get("content-type"),
  };
}

/** The metrics handler answering `hostname`, without a socket. */
function metricsFrom(
  server: TestServer,
  hostname: string,
  init: RequestInit = {},
): Response {
  return server.retell.handler(
    new Request("http://example.test/metrics", init),
    {
      remoteAddr: { transport: "tcp", hostname, port: 40000 },
      completed: Promise.resolve(),
    },
  );
}

Deno.test("GET /metrics counts what a scripted call did", async () => {
  await using server = startTestServer({
    responder: slowResponder(new Set([1])),
  });
  const retell = await connectAsRetell(server.url("call_metrics"));
  await retell.untilComplete(0);
  const live = await scrape(server);
  assert.equal(live.status, 200);
  assert.equal(live.type, PROMETHEUS_CONTENT_TYPE);
  assert.equal(sampleOf(live.text, "retell_live_calls"), 1);

  // Turn 1 is held until turn 2 supersedes it; then two bad frames.
  retell.send(responseRequired(1));
  await retell.next();
  retell.send(responseRequired(2));
  await retell.untilComplete(2);
  retell.sendRaw("{not json");
  retell.sendRaw(new Uint8Array([1, 2, 3]));
  retell.send({ interaction_type: "response_required", response_id: "x" });
  // Frames are handled in order: the echo means the three were read.
  retell.send(ping(7));
  assert.deepStrictEqual(await retell.next(), pong(7));
  const [call] = server.retell.calls;
  await retell.close(1000);
  await call!.ended;

  const { text } = await scrape(server);
  const expected: [string, number][] = [
    ["retell_live_calls", 0],
    ['retell_calls_ended_total{reason="normal"}', 1],
    ['retell_calls_ended_total{reason="dropped"}', 0],
    ["retell_reconnected_calls_total", 0],
    ['retell_turns_total{kind="begin",outcome="completed"}', 1],
    ['retell_turns_total{kind="response_required",outcome="superseded"}', 1],
    ['retell_turns_total{kind="response_required",outcome="completed"}', 1],
    ["retell_superseded_responses_total", 1],
    ['retell_turn_first_frame_seconds_count{kind="begin"}', 1],
    ['retell_turn_first_frame_seconds_count{kind="response_required"}', 2],
    ['retell_turn_complete_seconds_count{kind="response_required"}', 1],
    ["retell_model_first_token_seconds_count", 0],
    ['retell_frames_rejected_total{kind="not_json"}', 1],
    ['retell_frames_rejected_total{kind="binary"}', 1],
    ['retell_frames_rejected_total{kind="invalid"}', 1],
    ["retell_turn_stalls_total", 0],
  ];
  for (const [series, value] of expected) {
    assert.equal(sampleOf(text, series), value, series);
  }
});

Deno.test("GET /metrics counts refused connections by reason", async () => {
  await using server = startTestServer();
  const url = server.url("call_refused");

  const refused = server.retell.handler(
    new Request(url.replace("ws:", "http:"), {
      headers: { upgrade: "websocket", connection: "Upgrade" },
    }),
    {
      remoteAddr: { transport: "tcp", hostname: "203.0.113.9", port: 40000 },
      completed: Promise.resolve(),
    },
  );
  assert.equal(refused.status, 403);
  await refused.body?.cancel();

  const broken = await fetch(url.replace("ws:", "http:"), {
    headers: { upgrade: "websocket", connection: "Upgrade" },
  });
  assert.equal(broken.status, 400);
  await broken.body?.cancel();

  assert.deepStrictEqual(await server.retell.drain(0), {
    openCalls: 0,
    responding: 0,
  });
  assert.equal(await handshakeStatus(url), 503);

  const { text } = await scrape(server);
  for (const reason of ["address", "handshake", "draining"]) {
    assert.equal(
      sampleOf(text, `retell_connections_refused_total{reason="${reason}"}`),
      1,
      reason,
    );
  }
});

Deno.test("GET /metrics answers only the allowed addresses and the token", async (t) => {
  await t.step(
    "loopback by default; 404 to others, the body says nothing",
    async () => {
      await using server = startTestServer();
      assert.equal((await scrape(server)).status, 200);
      const outside = metricsFrom(server, "203.0.113.9");
      assert.equal(outside.status, 404);
      assert.doesNotMatch(await outside.text(), /retell_/);
    },
  );

  await t.step(
    "a server allowing only 127.0.0.2, over a real socket",
    async () => {
      await using server = startTestServer({
        metricsAllowedIps: ["127.0.0.2"],
        metricsToken: TOKEN,
      });
      const anonymous = await scrape(server);
      assert.equal(anonymous.status, 404);
      assert.doesNotMatch(anonymous.text, /retell_/);
      const wrong = await scrape(server, {
        authorization: "Bearer scrape-token-0123456780",
      });
      assert.equal(wrong.status, 403);
      assert.doesNotMatch(wrong.text, /retell_/);
      const withToken = await scrape(server, {
        authorization: `Bearer ${TOKEN}`,
      });
      assert.equal(withToken.status, 200);
      assert.equal(sampleOf(withToken.text, "retell_live_calls"), 0);
    },
  );

  await t.step("the token from any address; a wrong one is 403", async () => {
    await using server = startTestServer({ metricsToken: TOKEN });
    const bearer = (token: string) => ({
      headers: { authorization: `Bearer ${token}` },
    });
    const allowed = metricsFrom(server, "203.0.113.9", bearer(TOKEN));
    assert.equal(allowed.status, 200);
    assert.match(await allowed.text(), /^retell_live_calls 0$/m);
    const wrong = metricsFrom(server, "203.0.113.9", bearer("guess"));
    assert.equal(wrong.status, 403);
    assert.doesNotMatch(await wrong.text(), /retell_/);
  });

  await t.step(
    "behind a trusted proxy, the forwarded client counts",
    async () => {
      await using server = startTestServer({ trustProxy: ["127.0.0.1"] });
      const forwarded = await scrape(server, {
        "x-forwarded-for": "203.0.113.9",
      });
      assert.equal(forwarded.status, 404);
      const local = await scrape(server, { "x-forwarded-for": "127.0.0.1" });
      assert.equal(local.status, 200);
    },
  );

  await t.step(
    "other methods are 405 for those allowed, 404 for others",
    async () => {
      await using server = startTestServer();
      const post = await fetch(`${server.origin}/metrics`, { method: "POST" });
      assert.equal(post.status, 405);
      await post.body?.cancel();
      const outside = metricsFrom(server, "203.0.113.9", { method: "POST" });
      assert.equal(outside.status, 404);
      await outside.body?.cancel();
    },
  );
});

Deno.test("GET /metrics reads the call store's status when scraped", async () => {
  const logs = captureLogs();
  const kv = await Deno.openKv(":memory:");
  kv.close();
  const ttlMs = 60_000;
  const store = createFallbackCallStore(createKvCallStore(kv, { ttlMs }), {
    backend: "kv",
    log: logs.log,
    ttlMs,
  });
  await using server = startTestServer({ callStore: store }, logs);
  const before = await scrape(server);
  assert.equal(sampleOf(before.text, "retell_call_store_degraded"), 0);
  assert.equal(sampleOf(before.text, "retell_call_store_errors_total"), 0);

  await store.touch("call_store_down");
  assert.equal(store.status().degraded, true);
  const after = await scrape(server);
  assert.equal(sampleOf(after.text, "retell_call_store_degraded"), 1);
  assert.equal(sampleOf(after.text, "retell_call_store_errors_total"), 1);
  // A second scrape does not count the same failure again.
  const again = await scrape(server);
  assert.equal(sampleOf(again.text, "retell_call_store_errors_total"), 1);
});

Deno.test("a live turn that sends nothing for turnStallMs logs turn_stalled once and counts it", async () => {
  const resume = Promise.withResolvers<void>();
  const responder: Responder = {
    begin: () => "Hi.",
    async *respond() {
      yield "One moment.";
      await resume.promise;
      yield " Done.";
    },
  };
  await using server = startTestServer({ responder, turnStallMs: 50 });
  await using retell = await connectAsRetell(server.url("call_stall"));
  await retell.untilComplete(0);
  retell.send(responseRequired(1));
  const warning = await server.logs.waitFor("turn_stalled");
  assert.deepStrictEqual(
    [warning.level, warning.call_id, warning.response_id, warning.silent_ms],
    ["warn", "call_stall", 1, 50],
  );
  assert.equal(
    sampleOf((await scrape(server)).text, "retell_turn_stalls_total"),
    1,
  );
  // The turn goes on: the watchdog only warns.
  resume.resolve();
  const frames = await retell.untilComplete(1);
  assert.deepStrictEqual(frames.at(-1), done(1, ""));
  assert.equal(server.logs.events("turn_stalled").length, 1);
  assert.equal(
    server.logs.events("turn_finished").find((line) => line.response_id === 1)
      ?.outcome,
    "completed",
  );
});

Deno.test("call_ended carries the call's first-frame and first-token p50 and max", async (t) => {
  await using fake = startFakeLlm({ defaultScript: tokens("Sure", ", done.") });
  const logs = captureLogs();
  const responder = createLlmResponder({
    apiKey: "test-key",
    baseUrl: fake.baseUrl,
    model: "fake-model",
    log: logs.log,
  });
  await using server = startTestServer({ responder }, logs);
  const retell = await connectAsRetell(server.url("call_summary"));
  await retell.untilComplete(0);
  for (const id of [1, 2, 3]) {
    retell.send(responseRequired(id));
    await retell.untilComplete(id);
  }
  fake.enqueue({ status: 503, error: { message: "overloaded" } });
  retell.send(responseRequired(4));
  await retell.untilComplete(4);
  const [call] = server.retell.calls;
  await retell.close(1000);
  const summary = await call!.ended;

  const turns = logs.events("turn_finished").filter((line) =>
    line.response_id !== 0
  );
  const firstFrames = turns.map((line) => line.first_frame_ms as number)
    .toSorted((a, b) => a - b);
  const firstSentences = turns.map((line) => line.first_sentence_ms as number)
    .toSorted((a, b) => a - b);
  const firstTokens = turns.flatMap((line) =>
    line.first_token_ms === undefined ? [] : [line.first_token_ms as number]
  ).toSorted((a, b) => a - b);

  await t.step("over the requests' turns, the greeting left out", () => {
    assert.equal(firstFrames.length, 4, "the failed turn sent its apology");
    assert.equal(firstTokens.length, 3, "the failed turn had no token");
    assert.deepStrictEqual(summary.firstFrame, {
      p50Ms: firstFrames[1],
      maxMs: firstFrames[3],
    });
    assert.deepStrictEqual(summary.firstSentence, {
      p50Ms: firstSentences[1],
      maxMs: firstSentences[3],
    });
    assert.deepStrictEqual(summary.firstToken, {
      p50Ms: firstTokens[1],
      maxMs: firstTokens[2],
    });
  });

  await t.step("in the call_ended line", () => {
    const [line] = logs.events("call_ended");
    assert.equal(line?.first_frame_p50_ms, firstFrames[1]);
    assert.equal(line?.first_frame_max_ms, firstFrames[3]);
    assert.equal(line?.first_sentence_p50_ms, firstSentences[1]);
    assert.equal(line?.first_sentence_max_ms, firstSentences[3]);
    assert.equal(line?.first_token_p50_ms, firstTokens[1]);
    assert.equal(line?.first_token_max_ms, firstTokens[2]);
    assert.equal(line?.errors, 1);
  });

  await t.step(
    "and the model's first tokens and errors in /metrics",
    async () => {
      const { text } = await scrape(server);
      assert.equal(sampleOf(text, "retell_model_first_token_seconds_count"), 3);
      assert.equal(sampleOf(text, 'retell_model_errors_total{kind="http"}'), 1);
      assert.equal(
        sampleOf(
          text,
          'retell_turns_total{kind="response_required",outcome="failed"}',
        ),
        1,
      );
    },
  );
});

Deno.test("call_ended leaves the latency summary out when no turn answered", async () => {
  await using server = startTestServer({ responder: createDummyResponder() });
  const retell = await connectAsRetell(server.url("call_quiet"));
  await retell.untilComplete(0);
  const [call] = server.retell.calls;
  await retell.close(1000);
  const summary = await call!.ended;
  assert.equal(summary.firstFrame, undefined);
  assert.equal(summary.firstToken, undefined);
  const [line] = server.logs.events("call_ended");
  assert.equal(line?.first_frame_p50_ms, undefined);
  assert.equal("first_token_max_ms" in line!, false);
});

Deno.test("createRetellServer() without metrics still serves its own", () => {
  const retell = createRetellServer({
    responder: createDummyResponder(),
    log: captureLogs().log,
  });
  const response = retell.handler(new Request("http://127.0.0.1/metrics"), {
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
    completed: Promise.resolve(),
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
  void response.body?.cancel();
});
