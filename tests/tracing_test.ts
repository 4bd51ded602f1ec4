import assert from "node:assert/strict";
import { startCallSpan, TRACER_NAME } from "../src/tracing.ts";
import {
  attributesOf,
  type OtlpSpan,
  startOtlpCollector,
  tracedChild,
} from "./_support/otlp_collector.ts";

Deno.test("startCallSpan() hands out shared no-op spans when tracing is off", () => {
  // This process runs without OTEL_DENO, so the API has no tracer provider.
  const call = startCallSpan("call_off");
  assert.equal(call.recording, false);
  assert.equal(startCallSpan("call_other"), call, "one shared call object");
  const turn = call.startTurn(1, "response_required");
  assert.equal(turn.recording, false);
  assert.equal(call.startTurn(2, "reminder_required"), turn);
  const tool = turn.startToolRun("lookup", "tool_call_1");
  assert.equal(tool.recording, false);
  assert.equal(turn.startToolRun("other", "tool_call_2"), tool);
  assert.equal(turn.run(() => 42), 42);
  turn.mark("first_frame", 12);
  tool.end("failed");
  turn.end("failed", "boom");
  call.end("normal", 1000);
});

/** What the child process does with tracing on. */
const CHILD_SCRIPT = (modelUrl: string) => `
import { startCallSpan } from ${
  JSON.stringify(new URL("../src/tracing.ts", import.meta.url).href)
};
const call = startCallSpan("call_abc");
const turn = call.startTurn(3, "response_required");
turn.mark("first_token", 8);
turn.mark("first_frame", 12.5);
await turn.run(() => fetch(${JSON.stringify(modelUrl)}).then((r) => r.text()));
const tool = turn.startToolRun("lookup", "tool_call_1");
tool.end("boom");
turn.end("failed", "model down");
call.startTurn(4, "reminder_required").end("superseded");
call.end("normal", 1000);
console.log(JSON.stringify([call.recording, turn.recording, tool.recording]));
`;

Deno.test("startCallSpan() exports call, turn and tool run spans through Deno's OpenTelemetry when OTEL_DENO=true", async () => {
  // The model request gets the collector's empty answer.
  const collector = startOtlpCollector();
  const { origin } = collector;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), 60_000);
  let output: Deno.CommandOutput;
  try {
    output = await tracedChild(CHILD_SCRIPT(`${origin}/model`), {
      origin,
      serviceName: "retell-tracing-test",
      signal: deadline.signal,
    }).output();
  } finally {
    clearTimeout(timer);
    await collector.shutdown();
  }
  const decoder = new TextDecoder();
  assert.equal(output.code, 0, decoder.decode(output.stderr));
  assert.equal(decoder.decode(output.stdout).trim(), "[true,true,true]");

  const spans = collector.spans();
  const ours = spans.filter(({ scope }) => scope === TRACER_NAME)
    .map(({ span }) => span);
  const named = (name: string, responseId?: number): OtlpSpan => {
    const found = ours.find((span) =>
      span.name === name &&
      (responseId === undefined ||
        attributesOf(span)["retell.response_id"] === responseId)
    );
    assert.ok(found, `a ${name} span in ${JSON.stringify(spans)}`);
    return found;
  };
  assert.deepEqual(ours.map((span) => span.name).sort(), [
    "execute_tool lookup",
    "retell.call",
    "retell.turn",
    "retell.turn",
  ]);

  const call = named("retell.call");
  assert.deepEqual(attributesOf(call), {
    "retell.call_id": "call_abc",
    "retell.call.end_reason": "normal",
    "retell.call.close_code": 1000,
  });

  const turn = named("retell.turn", 3);
  assert.equal(turn.traceId, call.traceId);
  assert.equal(turn.parentSpanId, call.spanId);
  assert.deepEqual(attributesOf(turn), {
    "retell.call_id": "call_abc",
    "retell.response_id": 3,
    "retell.turn.kind": "response_required",
    "retell.turn.first_token_ms": 8,
    "retell.turn.first_frame_ms": 12.5,
    "retell.turn.outcome": "failed",
  });
  assert.deepEqual(turn.events.map((event) => event.name), [
    "first_token",
    "first_frame",
  ]);
  assert.deepEqual(turn.status, { code: 2, message: "model down" });

  const superseded = named("retell.turn", 4);
  assert.equal(superseded.parentSpanId, call.spanId);
  assert.equal(attributesOf(superseded)["retell.turn.outcome"], "superseded");
  assert.equal(superseded.status.code ?? 0, 0, "superseded is not an error");

  const tool = named("execute_tool lookup");
  assert.equal(tool.parentSpanId, turn.spanId);
  assert.deepEqual(attributesOf(tool), {
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.tool.name": "lookup",
    "gen_ai.tool.call.id": "tool_call_1",
  });
  assert.deepEqual(tool.status, { code: 2, message: "boom" });

  // Deno's own span for the model request, started inside turn.run().
  const fetchSpan = spans.find(({ scope, span }) =>
    scope !== TRACER_NAME &&
    attributesOf(span)["url.full"] === `${origin}/model`
  );
  assert.ok(fetchSpan, `a fetch span in ${JSON.stringify(spans)}`);
  assert.equal(fetchSpan.span.parentSpanId, turn.spanId);
});
