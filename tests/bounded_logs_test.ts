import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../src/config/defaults.ts";
import { createLogger, LOG_REASON_MAX_CHARS } from "../src/log.ts";
import { createServerMetrics } from "../src/metrics.ts";
import { ping, pong } from "./_support/frames.ts";
import { sampleOf } from "./_support/metrics.ts";
import { connectAsRetell, handshakeStatus } from "./_support/retell_client.ts";
import { startTestServer } from "./_support/server.ts";

/** Longest line a rejected frame may write: the capped reason and a few short fields. */
const MAX_LINE_CHARS = LOG_REASON_MAX_CHARS + 400;

Deno.test("a 56 MB frame of invalid utterances writes one line under the cap", async () => {
  // Above MAX_FRAME_BYTES a frame is refused unread; this one must be parsed.
  await using server = startTestServer({
    config: { ...DEFAULT_CONFIG, maxFrameBytes: 64_000_000 },
  });
  await using retell = await connectAsRetell(server.url("call_huge"));
  await retell.take(2);
  const utterance = '{"role":"nobody","content":1},';
  const count = Math.ceil(56_000_000 / utterance.length);
  const frame = `{"interaction_type":"update_only","transcript":[${
    utterance.repeat(count).slice(0, -1)
  }]}`;
  assert.ok(frame.length >= 56_000_000);
  retell.sendRaw(frame);
  retell.send(ping(7));
  assert.deepStrictEqual(await retell.next(60_000), pong(7));

  const rejected = server.logs.events("frame_rejected");
  assert.equal(rejected.length, 1);
  const line = JSON.stringify(rejected[0]);
  assert.ok(line.length < MAX_LINE_CHARS, `${line.length} chars`);
  assert.match(String(rejected[0]?.reason), /… \(\d+ chars\)$|and \d+ more$/);
  const longest = Math.max(
    ...server.logs.records.map((record) => JSON.stringify(record).length),
  );
  assert.ok(longest < MAX_LINE_CHARS, `longest line ${longest} chars`);
});

Deno.test("100,000 binary frames write a bounded number of lines, and the count", async () => {
  const frames = 100_000;
  // Past MAX_FRAMES_PER_SECOND frames are dropped unread; these must be read.
  await using server = startTestServer({
    config: { ...DEFAULT_CONFIG, maxFramesPerSecond: 1_000_000 },
  });
  const retell = await connectAsRetell(server.url("call_binary"));
  await retell.take(2);
  const bytes = new Uint8Array([1, 2, 3]);
  for (let index = 0; index < frames; index++) retell.sendRaw(bytes);
  retell.send(ping(9));
  assert.deepStrictEqual(await retell.next(60_000), pong(9));
  await retell.close();
  await server.logs.waitFor("call_ended");

  const lines = server.logs.events("frame_rejected");
  assert.equal(lines.length, 11, `${lines.length} frame_rejected lines`);
  const summary = lines.at(-1)!;
  assert.equal(summary.kind, "binary");
  const suppressed = lines.reduce(
    (sum, line) =>
      sum + (typeof line.suppressed === "number" ? line.suppressed : 0),
    0,
  );
  const written = lines.filter((line) => line.suppressed === undefined).length;
  // Every frame is a line of its own or in a count.
  assert.equal(written + suppressed, frames);
  // The count comes before the call's last line.
  const order = server.logs.records.map((record) => record.event);
  assert.ok(
    order.lastIndexOf("frame_rejected") < order.indexOf("call_ended"),
  );
  assert.ok(server.logs.records.length < 30, `${server.logs.records.length}`);
});

Deno.test("a flood of refused connections writes a few lines, and the count when draining", async () => {
  const attempts = 300;
  const metrics = createServerMetrics();
  await using server = startTestServer({
    allowedIps: ["127.0.0.2"],
    allowLoopback: false,
    metrics,
  });
  for (let index = 0; index < attempts; index++) {
    assert.equal(await handshakeStatus(server.url(`call_${index}`)), 403);
  }
  const refused = () => server.logs.events("connection_refused");
  assert.ok(refused().length <= 10, `${refused().length} lines`);
  assert.equal(
    sampleOf(
      metrics.render(),
      'retell_connections_refused_total{reason="address"}',
    ),
    attempts,
  );
  await server.retell.drain(0);
  const summary = refused().at(-1)!;
  assert.equal(summary.address, "127.0.0.1");
  assert.equal(
    refused().filter((line) => line.suppressed === undefined).length +
      Number(summary.suppressed),
    attempts,
  );
});

Deno.test("createLogger cuts a long reason or error and says how long it was", () => {
  const lines: string[] = [];
  const log = createLogger({ sink: (line) => lines.push(line) });
  const long = "x".repeat(LOG_REASON_MAX_CHARS + 1);
  log.warn("frame_rejected", { reason: long, error: long, call_id: "c1" });
  const record = JSON.parse(lines[0]!);
  const cut = `${"x".repeat(LOG_REASON_MAX_CHARS)}… (${long.length} chars)`;
  assert.deepStrictEqual([record.reason, record.error, record.call_id], [
    cut,
    cut,
    "c1",
  ]);
  log.warn("frame_rejected", { reason: "x".repeat(LOG_REASON_MAX_CHARS) });
  assert.equal(JSON.parse(lines[1]!).reason.length, LOG_REASON_MAX_CHARS);
});
