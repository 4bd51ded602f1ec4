import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../src/config/defaults.ts";
import type { Config } from "../src/config/settings.ts";
import { createServerMetrics } from "../src/metrics.ts";
import type { Responder, Turn } from "../src/responder.ts";
import { ping, responseRequired, said } from "./_support/frames.ts";
import { sampleOf } from "./_support/metrics.ts";
import { openRawSocket } from "./_support/raw_socket.ts";
import { connectAsRetell } from "./_support/retell_client.ts";
import { startTestServer } from "./_support/server.ts";

/** The default settings with some limits changed. */
function limited(limits: Partial<Config>): Config {
  return { ...DEFAULT_CONFIG, ...limits };
}

/** A responder that greets with nothing and keeps every turn it is given. */
function recordingResponder(turns: Turn[]): Responder {
  return {
    begin: () => "Hello.",
    respond(turn) {
      turns.push(turn);
      return "Okay.";
    },
  };
}

function rejected(text: string, kind: string): number | undefined {
  return sampleOf(text, `retell_frames_rejected_total{kind="${kind}"}`);
}

Deno.test("a frame over MAX_FRAME_BYTES is rejected unread, logged once, and the call goes on", async () => {
  const metrics = createServerMetrics();
  const turns: Turn[] = [];
  await using server = startTestServer({
    config: limited({ maxFrameBytes: 2048 }),
    responder: recordingResponder(turns),
    metrics,
  });
  await using retell = await connectAsRetell(server.url("call_big_frame"));
  await retell.untilComplete(0);
  const big = JSON.stringify(
    responseRequired(1, [said("user", "x".repeat(4000))]),
  );
  retell.sendRaw(big);
  retell.sendRaw(big);
  retell.send(responseRequired(2, [said("user", "Hi.")]));
  const frames = await retell.untilComplete(2);

  assert.ok(frames.every((frame) => frame.response_id === 2));
  assert.deepEqual(turns.map((turn) => turn.responseId), [2]);
  assert.equal(rejected(metrics.render(), "too_large"), 2);
  const logged = server.logs.events("frame_rejected");
  assert.equal(logged.length, 1);
  assert.equal(logged[0]!.kind, "too_large");
  assert.match(String(logged[0]!.reason), /over the limit of 2048/);
});

Deno.test("a transcript over MAX_TRANSCRIPT_ITEMS reaches the responder as its newest items", async () => {
  const turns: Turn[] = [];
  await using server = startTestServer({
    config: limited({ maxTranscriptItems: 3 }),
    responder: recordingResponder(turns),
  });
  await using retell = await connectAsRetell(server.url("call_long"));
  await retell.untilComplete(0);
  const transcript = [1, 2, 3, 4, 5].map((n) => said("user", `Line ${n}.`));
  retell.send(responseRequired(1, transcript));
  await retell.untilComplete(1);
  retell.send(responseRequired(2, transcript.slice(0, 2)));
  await retell.untilComplete(2);

  assert.deepEqual(
    turns[0]!.transcript.map((item) => item.content),
    ["Line 3.", "Line 4.", "Line 5."],
  );
  assert.equal(turns[1]!.transcript.length, 2);
  const logged = server.logs.events("transcript_truncated");
  assert.equal(logged.length, 1);
  assert.equal(logged[0]!.items, 5);
  assert.equal(logged[0]!.kept, 3);
});

Deno.test("call details over MAX_CALL_DETAILS_BYTES are rejected and the call goes on without them", async () => {
  const metrics = createServerMetrics();
  const turns: Turn[] = [];
  await using server = startTestServer({
    config: limited({ maxCallDetailsBytes: 2048 }),
    responder: recordingResponder(turns),
    metrics,
  });
  const details = (metadata: string) => ({
    interaction_type: "call_details",
    call: { call_id: "call", metadata: { note: metadata } },
  });

  await using small = await connectAsRetell(server.url("call_small_details"));
  await small.untilComplete(0);
  small.send(details("short"));
  small.send(responseRequired(1));
  await small.untilComplete(1);

  await using large = await connectAsRetell(server.url("call_large_details"));
  await large.untilComplete(0);
  large.send(details("x".repeat(3000)));
  large.send(responseRequired(1));
  await large.untilComplete(1);

  assert.deepEqual(turns[0]!.call.details?.metadata, { note: "short" });
  assert.equal(turns[1]!.call.details, undefined);
  assert.equal(rejected(metrics.render(), "too_large"), 1);
  assert.match(
    String(server.logs.events("frame_rejected")[0]!.reason),
    /Cannot keep call details/,
  );
});

Deno.test("frames over MAX_FRAMES_PER_SECOND are dropped and counted, logged once, and the call goes on", async () => {
  const metrics = createServerMetrics();
  await using server = startTestServer({
    config: limited({ maxFramesPerSecond: 5 }),
    metrics,
  });
  await using retell = await connectAsRetell(server.url("call_flood"));
  await retell.untilComplete(0);
  for (let timestamp = 1; timestamp <= 20; timestamp++) {
    retell.send(ping(timestamp));
  }
  const pongs = await retell.take(5);
  assert.deepEqual(pongs.map((pong) => pong.timestamp), [1, 2, 3, 4, 5]);
  // The other 15 were dropped: nothing else comes back.
  await assert.rejects(retell.next(300));
  assert.equal(rejected(metrics.render(), "rate_limited"), 15);
  const logged = server.logs.events("frame_rejected");
  assert.equal(logged.length, 1);
  assert.equal(logged[0]!.kind, "rate_limited");

  // A fifth of a second later the bucket holds a frame again.
  retell.send(ping(21));
  assert.equal((await retell.next()).timestamp, 21);
});

Deno.test("a call whose peer stops reading is closed with 1008 once its queue stays over SLOW_READER_BYTES", async () => {
  const piece = "y".repeat(16_384);
  const flood: Responder = {
    begin: () => "",
    async *respond(_turn, { signal }) {
      while (!signal.aborted) {
        yield piece;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    },
  };
  await using server = startTestServer({
    config: limited({ slowReaderBytes: 65_536, slowReaderMs: 200 }),
    responder: flood,
  });
  const port = Number(new URL(server.origin).port);
  using raw = await openRawSocket(port, "/llm-websocket/call_not_reading");
  await raw.sendText(JSON.stringify(responseRequired(1)));

  const slow = await server.logs.waitFor("slow_reader", 20_000);
  const ended = await server.logs.waitFor("call_ended");
  assert.equal(slow.call_id, "call_not_reading");
  assert.ok(Number(slow.buffered_bytes) > 65_536);
  // What the server holds for it stops at what was sent within 200 ms.
  assert.ok(Number(slow.buffered_bytes) < 64 * 1024 * 1024);
  assert.equal(ended.close_code, 1008);
  assert.equal(server.retell.calls.size, 0);
  assert.equal(server.logs.events("call_ended").length, 1);
  raw.conn.close();
});
