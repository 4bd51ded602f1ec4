import assert from "node:assert/strict";
import { TRACER_NAME } from "../src/tracing.ts";
import { responseRequired, said } from "./_support/frames.ts";
import { startFakeLlm, tokens } from "./_support/llm_server.ts";
import {
  attributesOf,
  type OtlpSpan,
  startOtlpCollector,
  tracedChild,
} from "./_support/otlp_collector.ts";
import { connectAsRetell } from "./_support/retell_client.ts";

const src = (path: string) =>
  JSON.stringify(new URL(`../src/${path}`, import.meta.url).href);

/**
 * The child: a real server with the LLM responder and one tool that makes
 * its own request, printing its port, and stopping after its first call.
 */
const CHILD_SCRIPT = (modelUrl: string, toolUrl: string) => `
import { z } from "zod";
import { defineTool } from ${src("llm/tools.ts")};
import { createLogger } from ${src("log.ts")};
import { createLlmResponder } from ${src("responders/llm.ts")};
import { createRetellServer } from ${src("server.ts")};

const ended = Promise.withResolvers();
const log = createLogger({
  sink(line) {
    if (JSON.parse(line).event === "call_ended") ended.resolve();
  },
});
const lookup = defineTool({
  name: "lookup",
  description: "The weather in a city.",
  parameters: z.object({ city: z.string() }),
  handler: () => fetch(${JSON.stringify(toolUrl)}).then((r) => r.text()),
});
const retell = createRetellServer({
  responder: createLlmResponder({
    apiKey: "test-key",
    baseUrl: ${JSON.stringify(modelUrl)},
    model: "fake-model",
    log,
    tools: [lookup],
  }),
  log,
  allowedIps: [],
  allowLoopback: true,
});
const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(port),
}, retell.handler);
await ended.promise;
await server.shutdown();
`;

/** The first line the child prints. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    const end = text.indexOf("\n");
    if (end >= 0) return text.slice(0, end);
  }
  throw new Error(`Cannot read the child's port: it printed ${text}`);
}

Deno.test("a real call exports call, turn and tool run spans when OTEL_DENO=true", async () => {
  await using fake = startFakeLlm();
  fake.enqueue(
    {
      steps: [{
        toolCall: { id: "tc_1", name: "lookup", arguments: '{"city":"Oslo"}' },
      }],
    },
    tokens("It is ", "sunny."),
  );
  const collector = startOtlpCollector({
    "/tool": () => new Response("Sunny, 21 degrees"),
  });
  const { origin } = collector;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), 60_000);
  let status: Deno.CommandStatus;
  let stderr: string;
  try {
    const child = tracedChild(CHILD_SCRIPT(fake.baseUrl, `${origin}/tool`), {
      origin,
      serviceName: "retell-tracing-wiring-test",
      signal: deadline.signal,
    }).spawn();
    const errors = new Response(child.stderr).text();
    const port = await firstLine(child.stdout);
    const retell = await connectAsRetell(
      `ws://127.0.0.1:${port}/llm-websocket/call_traced`,
    );
    await retell.untilComplete(0);
    retell.send(responseRequired(1, [said("user", "Weather in Oslo?")]));
    await retell.untilComplete(1);
    await retell.close(1000);
    status = await child.status;
    stderr = await errors;
  } finally {
    clearTimeout(timer);
    await collector.shutdown();
  }
  assert.equal(status.code, 0, stderr);

  const spans = collector.spans();
  const ours = spans.filter(({ scope }) => scope === TRACER_NAME)
    .map(({ span }) => span);
  assert.deepEqual(ours.map((span) => span.name).sort(), [
    "execute_tool lookup",
    "retell.call",
    "retell.turn",
    "retell.turn",
  ]);
  const turnOf = (responseId: number): OtlpSpan => {
    const found = ours.find((span) =>
      span.name === "retell.turn" &&
      attributesOf(span)["retell.response_id"] === responseId
    );
    assert.ok(found, `turn ${responseId} in ${JSON.stringify(ours)}`);
    return found;
  };
  const call = ours.find((span) => span.name === "retell.call")!;
  const greeting = turnOf(0);
  const answer = turnOf(1);
  const tool = ours.find((span) => span.name === "execute_tool lookup")!;

  assert.deepEqual(attributesOf(call), {
    "retell.call_id": "call_traced",
    "retell.call.end_reason": "normal",
    "retell.call.close_code": 1000,
  });
  for (const span of [greeting, answer, tool]) {
    assert.equal(
      span.traceId,
      call.traceId,
      `${span.name} in the call's trace`,
    );
  }
  assert.equal(greeting.parentSpanId, call.spanId);
  assert.equal(attributesOf(greeting)["retell.turn.kind"], "begin");
  assert.equal(attributesOf(greeting)["retell.turn.outcome"], "completed");

  assert.equal(answer.parentSpanId, call.spanId);
  const answered = attributesOf(answer);
  assert.equal(answered["retell.call_id"], "call_traced");
  assert.equal(answered["retell.turn.kind"], "response_required");
  assert.equal(answered["retell.turn.outcome"], "completed");
  assert.equal(typeof answered["retell.turn.first_frame_ms"], "number");
  assert.equal(typeof answered["retell.turn.first_token_ms"], "number");
  assert.deepEqual(
    answer.events.map((event) => event.name).sort(),
    ["first_frame", "first_sentence", "first_token"],
  );

  assert.equal(tool.parentSpanId, answer.spanId);
  assert.equal(attributesOf(tool)["gen_ai.tool.call.id"], "tc_1");
  assert.equal(tool.status.code ?? 0, 0, "the tool run succeeded");

  // Deno's own fetch spans: both model requests under the turn, the tool's
  // request under the tool run.
  const fetches = (url: string) =>
    spans.filter(({ scope, span }) =>
      scope !== TRACER_NAME && attributesOf(span)["url.full"] === url
    ).map(({ span }) => span);
  const modelRequests = fetches(`${fake.baseUrl}/chat/completions`);
  assert.equal(modelRequests.length, 2, JSON.stringify(spans));
  for (const request of modelRequests) {
    assert.equal(request.parentSpanId, answer.spanId);
  }
  const [toolRequest] = fetches(`${origin}/tool`);
  assert.equal(toolRequest?.parentSpanId, tool.spanId);
});
