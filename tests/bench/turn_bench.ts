/**
 * Micro-benchmarks of one turn's own cost in the server, outside the
 * socket: a whole dummy reply through the call's response slot (run,
 * watchdogs, `turn_finished` record, metrics, tally), and a turn's metric
 * updates alone. `deno bench --no-prompt tests/bench/turn_bench.ts`.
 */
import { createCallTally } from "../../src/call_summary.ts";
import { createLogger } from "../../src/log.ts";
import { createServerMetrics } from "../../src/metrics.ts";
import { createResponseSlot } from "../../src/response_slot.ts";
import { DUMMY_REPLY } from "../../src/responders/dummy.ts";
import { startCallSpan } from "../../src/tracing.ts";

const tally = createCallTally("call_bench");
const slot = createResponseSlot({
  callId: "call_bench",
  // Lines are built as in production and dropped at the sink.
  log: createLogger({ level: "info", sink: () => {} }),
  send: () => {},
  timeoutMs: 8_000,
  stallMs: 5_000,
  fallbackText: "Sorry?",
  isClosed: () => false,
  counts: tally.counts,
  latencies: tally.latencies,
  metrics: createServerMetrics(),
  callSpan: startCallSpan("call_bench"),
});
let responseId = 0;

Deno.bench("a dummy turn through the response slot", async () => {
  if (!slot.start(++responseId, "response_required", () => DUMMY_REPLY)) {
    throw new Error("Cannot start bench turn: the slot refused it");
  }
  await slot.whenIdle();
});

const metrics = createServerMetrics();
Deno.bench("a turn's metric updates", () => {
  metrics.turns.inc({ kind: "response_required", outcome: "completed" });
  metrics.firstFrameSeconds.observe({ kind: "response_required" }, 0.0004);
  metrics.completeSeconds.observe({ kind: "response_required" }, 0.0004);
  metrics.firstSentenceSeconds.observe({ kind: "response_required" }, 0.0004);
});
