import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "../../src/llm/tools.ts";
import {
  createLlmResponder,
  type LlmResponderOptions,
} from "../../src/responders/llm.ts";
import { DEFAULT_FALLBACK_TEXT } from "../../src/session.ts";
import {
  chunk,
  done,
  ping,
  pong,
  reminderRequired,
  responseRequired,
  said,
  spoken,
} from "../_support/frames.ts";
import { type FakeLlm, startFakeLlm, tokens } from "../_support/llm_server.ts";
import { captureLogs, type LogCapture } from "../_support/logs.ts";
import { offlineCall } from "../_support/call.ts";
import { recordUnhandledRejections } from "../_support/unhandled.ts";
import {
  connectAsRetell,
  type RetellClient,
} from "../_support/retell_client.ts";
import { startTestServer, type TestServer } from "../_support/server.ts";

const API_KEY = "sk-test-key-1234567890";

/** A fake model, a server whose responder calls it, and Retell connected to it. */
/** The responder under test, against the fake model, with the shared prompt. */
function responderFor(
  llm: FakeLlm,
  logs: LogCapture,
  options: Partial<LlmResponderOptions>,
) {
  return createLlmResponder({
    apiKey: API_KEY,
    baseUrl: llm.baseUrl,
    model: "test-model",
    log: logs.log,
    prompt: "You help callers of {{clinic}}.",
    ...options,
  });
}

async function setUp(
  options: Partial<LlmResponderOptions> = {},
  callId = "call_llm",
): Promise<
  & { llm: FakeLlm; server: TestServer; retell: RetellClient; logs: LogCapture }
  & AsyncDisposable
> {
  const llm = startFakeLlm();
  const logs = captureLogs();
  const responder = responderFor(llm, logs, {
    beginMessage: "Hi, this is {{clinic}}.",
    ...options,
  });
  const server = startTestServer({
    responder,
    callConfig: { call_details: false },
  }, logs);
  const retell = await connectAsRetell(server.url(callId));
  await retell.take(2);
  return {
    llm,
    server,
    retell,
    logs,
    async [Symbol.asyncDispose]() {
      await retell.close();
      await server[Symbol.asyncDispose]();
      await llm[Symbol.asyncDispose]();
    },
  };
}

Deno.test("llm responder streams the model's tokens as they arrive", async (t) => {
  await using env = await setUp();
  const { llm, retell } = env;
  const release = Promise.withResolvers<void>();
  llm.enqueue({
    steps: [{ text: "Sure, " }, { waitFor: release.promise }, {
      text: "Tuesday ",
    }, { text: "works." }],
  });
  retell.send(
    responseRequired(1, [
      said("agent", "Hi."),
      said("user", "Can I come Tuesday?"),
    ]),
  );

  await t.step(
    "sends the first token before the model has finished",
    async () => {
      assert.deepStrictEqual(await retell.next(), chunk(1, "Sure, "));
      release.resolve();
    },
  );

  await t.step("sends the rest in order, then completes", async () => {
    assert.deepStrictEqual(await retell.untilComplete(1), [
      chunk(1, "Tuesday "),
      chunk(1, "works."),
      done(1),
    ]);
  });

  await t.step(
    "sends model, stream flag, messages, tools and the key",
    async () => {
      const request = await llm.waitForRequest(0);
      assert.equal(request.headers.get("authorization"), `Bearer ${API_KEY}`);
      assert.equal(request.body.model, "test-model");
      assert.equal(request.body.stream, true);
      assert.deepStrictEqual(request.body.messages, [
        { role: "system", content: "You help callers of." },
        { role: "assistant", content: "Hi." },
        { role: "user", content: "Can I come Tuesday?" },
      ]);
      const tools = request.body.tools as Array<{ function: { name: string } }>;
      assert.deepStrictEqual(tools.map((tool) => tool.function.name), [
        "end_call",
      ]);
      assert.equal("temperature" in request.body, false);
      assert.equal("max_tokens" in request.body, false);
      assert.equal(await request.outcome, "completed");
    },
  );

  await t.step("logs the first token in the turn's latency record", () => {
    const record = env.logs.events("turn_finished").find((line) =>
      line.response_id === 1
    );
    assert.equal(record?.outcome, "completed");
    assert.equal(typeof record?.first_token_ms, "number");
    assert.ok(
      (record?.first_token_ms as number) <= (record?.first_frame_ms as number),
    );
  });
});

Deno.test("llm responder maps the call into the request", async (t) => {
  await t.step(
    "fills dynamic variables into prompt and greeting, waiting for call_details",
    async () => {
      const llm = startFakeLlm();
      const logs = captureLogs();
      const responder = responderFor(llm, logs, {
        beginMessage: "Hi {{customer_name}}, this is {{clinic}}.",
        temperature: 0.3,
        maxTokens: 120,
        transferNumber: "+14155550123",
      });
      await using server = startTestServer({ responder }, logs);
      await using retell = await connectAsRetell(server.url("call_vars"));
      await retell.next();
      retell.send({
        interaction_type: "call_details",
        call: {
          call_id: "call_vars",
          retell_llm_dynamic_variables: {
            customer_name: "Dana",
            clinic: "Harbor Dental",
          },
        },
      });
      assert.deepStrictEqual(
        await retell.next(),
        done(0, "Hi Dana, this is Harbor Dental."),
      );

      llm.enqueue(tokens("Of course."));
      retell.send(reminderRequired(1, [said("agent", "Anything else?")]));
      await retell.untilComplete(1);
      const { body } = await llm.waitForRequest(0);
      const messages = body.messages as Array<
        { role: string; content: string }
      >;
      assert.match(
        messages[0]!.content,
        /^You help callers of Harbor Dental\.\n\n.*silent/s,
      );
      assert.deepStrictEqual(messages.slice(1), [{
        role: "assistant",
        content: "Anything else?",
      }]);
      assert.equal(body.temperature, 0.3);
      assert.equal(body.max_tokens, 120);
      const tools = body.tools as Array<{ function: { name: string } }>;
      assert.deepStrictEqual(tools.map((tool) => tool.function.name), [
        "end_call",
        "transfer_call",
      ]);
      await retell.close();
      await llm[Symbol.asyncDispose]();
    },
  );
});

Deno.test("llm responder never speaks an unfilled placeholder and warns once per call", async (t) => {
  const llm = startFakeLlm({ defaultScript: tokens("Sure.") });
  const logs = captureLogs();
  const responder = responderFor(llm, logs, {
    beginMessage:
      "Hi {{customer_name|there}}, {{clinic_greeting}}! How can I help?",
  });
  await using server = startTestServer({ responder }, logs);
  await using retell = await connectAsRetell(server.url("call_unfilled"));
  await retell.next();
  retell.send({
    interaction_type: "call_details",
    call: { call_id: "call_unfilled", retell_llm_dynamic_variables: {} },
  });

  await t.step(
    "the default fills in, the unfilled one is left out",
    async () => {
      assert.deepStrictEqual(
        await retell.next(),
        done(0, "Hi there! How can I help?"),
      );
    },
  );

  await t.step("the prompt is filled the same way on every turn", async () => {
    for (const id of [1, 2]) {
      retell.send(responseRequired(id));
      await retell.untilComplete(id);
      const { body } = await llm.waitForRequest(id - 1);
      const messages = body.messages as Array<{ content: string }>;
      assert.equal(messages[0]!.content, "You help callers of.");
    }
  });

  await t.step("each name is logged once for the call", () => {
    const lines = logs.events("placeholder_unfilled");
    assert.deepStrictEqual(
      lines.map((line) => [line.level, line.call_id, line.placeholder]),
      [
        ["warn", "call_unfilled", "clinic_greeting"],
        ["warn", "call_unfilled", "clinic"],
      ],
    );
  });
  await retell.close();
  await llm[Symbol.asyncDispose]();
});

Deno.test("llm responder cancels the model request when Retell moves on", async (t) => {
  await using env = await setUp();
  const { llm, retell } = env;

  await t.step(
    "a newer response_id aborts the upstream request, every time",
    async () => {
      const rounds = 10;
      for (let i = 0; i < rounds; i++) {
        const id = i + 1;
        llm.enqueue({ steps: [{ text: `Answer ${id} ` }, { hang: true }] });
        retell.send(responseRequired(id));
        assert.deepStrictEqual(await retell.next(), chunk(id, `Answer ${id} `));
      }
      llm.enqueue(tokens("Final."));
      retell.send(responseRequired(rounds + 1));
      const frames = await retell.untilComplete(rounds + 1);
      assert.deepStrictEqual(frames, [
        chunk(rounds + 1, "Final."),
        done(rounds + 1),
      ]);
      const outcomes = await Promise.all(
        llm.requests.slice(0, rounds).map((request) => request.outcome),
      );
      assert.deepStrictEqual(outcomes, Array(rounds).fill("aborted"));
    },
  );

  await t.step(
    "no frame of a superseded id follows the newer request",
    async () => {
      const release = Promise.withResolvers<void>();
      llm.enqueue({
        steps: [{ text: "Old start. " }, { waitFor: release.promise }, {
          text: "Old end.",
        }],
      });
      retell.send(responseRequired(20));
      assert.deepStrictEqual(await retell.next(), chunk(20, "Old start. "));
      llm.enqueue(tokens("New."));
      retell.send(responseRequired(21));
      release.resolve();
      const frames = await retell.untilComplete(21);
      assert.equal(
        frames.filter((frame) => frame.response_id === 20).length,
        0,
      );
      assert.equal(spoken(frames, 21), "New.");
    },
  );

  await t.step("closing the socket aborts the upstream request", async () => {
    llm.enqueue({ steps: [{ text: "Let me think " }, { hang: true }] });
    retell.send(responseRequired(30));
    assert.deepStrictEqual(await retell.next(), chunk(30, "Let me think "));
    const request = llm.requests.at(-1)!;
    await retell.close();
    assert.equal(await request.outcome, "aborted");
  });
});

Deno.test("llm responder ends a failed turn with an apology and keeps the call", async (t) => {
  await using env = await setUp({
    firstTokenTimeoutMs: 60,
    stallTimeoutMs: 60,
  });
  const { llm, retell, logs } = env;
  let id = 0;

  async function failedTurn(
    script: Parameters<FakeLlm["enqueue"]>[0],
    expectedSpoken: string,
  ) {
    id++;
    llm.enqueue(script);
    retell.send(responseRequired(id));
    const frames = await retell.untilComplete(id);
    assert.equal(spoken(frames, id), expectedSpoken);
    const failure = logs.events("llm_failed").at(-1)!;
    assert.equal(failure.response_id, id);
    assert.equal(failure.call_id, "call_llm");
    return failure;
  }

  await t.step(
    "on an HTTP error, logging the provider's status and message",
    async () => {
      const failure = await failedTurn(
        {
          status: 429,
          error: {
            message: "Rate limit reached for test-model",
            type: "rate_limit",
          },
        },
        DEFAULT_FALLBACK_TEXT,
      );
      assert.equal(failure.kind, "http");
      assert.equal(failure.status, 429);
      assert.match(String(failure.error), /Rate limit reached for test-model/);
    },
  );

  await t.step("on a server error", async () => {
    const failure = await failedTurn({
      status: 500,
      error: { message: "boom" },
    }, DEFAULT_FALLBACK_TEXT);
    assert.equal(failure.status, 500);
  });

  await t.step("on a connection cut mid-stream", async () => {
    const failure = await failedTurn(
      { dropConnection: true, afterSteps: [{ text: "Half an " }] },
      `Half an ${DEFAULT_FALLBACK_TEXT}`,
    );
    assert.notEqual(failure.kind, "http");
  });

  await t.step("when no first token arrives in time", async () => {
    const failure = await failedTurn(
      { steps: [{ hang: true }] },
      DEFAULT_FALLBACK_TEXT,
    );
    assert.equal(failure.kind, "first_token_timeout");
    assert.equal(await llm.requests.at(-1)!.outcome, "aborted");
  });

  await t.step("when the stream stalls", async () => {
    const failure = await failedTurn({
      steps: [{ text: "Well, " }, { hang: true }],
    }, `Well, ${DEFAULT_FALLBACK_TEXT}`);
    assert.equal(failure.kind, "stall");
    assert.equal(await llm.requests.at(-1)!.outcome, "aborted");
  });

  await t.step("and the call goes on", async () => {
    llm.enqueue(tokens("All good now."));
    retell.send(responseRequired(++id));
    assert.equal(spoken(await retell.untilComplete(id), id), "All good now.");
    retell.send(ping(5));
    assert.deepStrictEqual(await retell.next(), pong(5));
  });

  await t.step("never logging the API key", () => {
    const everything = JSON.stringify(logs.records);
    assert.equal(everything.includes(API_KEY), false);
  });
});

Deno.test("llm responder removes markdown from the spoken text", async () => {
  await using env = await setUp();
  const { llm, retell } = env;
  llm.enqueue(
    tokens(
      "**Sure!**",
      " Options:\n",
      "- Monday",
      "\n- Tues",
      "day\n",
      "## Done",
    ),
  );
  retell.send(responseRequired(1));
  assert.equal(
    spoken(await retell.untilComplete(1), 1),
    "Sure! Options:\nMonday\nTuesday\nDone",
  );
});

Deno.test("llm responder carries out end_call and transfer_call", async (t) => {
  await using env = await setUp({ transferNumber: "+14155550123" });
  const { llm, retell } = env;

  await t.step("end_call speaks the goodbye, then hangs up", async () => {
    llm.enqueue({
      steps: [{
        toolCall: {
          id: "call_end",
          name: "end_call",
          arguments: '{"message":"Goodbye, Dana!"}',
        },
        split: 3,
      }],
    });
    retell.send(responseRequired(1, [said("user", "That's all, bye!")]));
    assert.deepStrictEqual(await retell.untilComplete(1), [
      chunk(1, "Goodbye, Dana!"),
      done(1, "", { end_call: true }),
    ]);
  });

  await t.step("transfer_call speaks its line, then transfers", async () => {
    llm.enqueue({
      steps: [
        { text: "Sure." },
        {
          toolCall: {
            id: "call_tr",
            name: "transfer_call",
            arguments: '{"message":"Transferring you now."}',
          },
        },
      ],
    });
    retell.send(responseRequired(2, [said("user", "Can I talk to a person?")]));
    assert.deepStrictEqual(await retell.untilComplete(2), [
      chunk(2, "Sure."),
      chunk(2, " Transferring you now."),
      done(2, "", { transfer_number: "+14155550123" }),
    ]);
  });
});

Deno.test("llm responder runs user tools and continues the answer", async (t) => {
  let runs = 0;
  const releaseTool = Promise.withResolvers<void>();
  let gate: Promise<void> = Promise.resolve();
  const checkAvailability = defineTool({
    name: "check_availability",
    description: "Free slots of a doctor on a date.",
    parameters: z.object({ doctor: z.string(), date: z.string() }),
    holdingLine: "One moment while I check.",
    handler: async ({ doctor }, { call, toolCallId }) => {
      runs++;
      await gate;
      return {
        doctor,
        slots: ["09:00", "13:30"],
        call: call.callId,
        id: toolCallId,
      };
    },
  });
  await using env = await setUp({ tools: [checkAvailability] });
  const { llm, retell } = env;
  const toolCall = {
    toolCall: {
      id: "tc_1",
      name: "check_availability",
      arguments: '{"doctor":"Lee","date":"2026-01-05"}',
    },
    split: 2,
  };

  await t.step(
    "holding line, invocation, result, then the answer under the same id",
    async () => {
      llm.enqueue(
        { steps: [toolCall] },
        tokens("Dr. Lee has 9 AM or 1:30 PM."),
      );
      retell.send(
        responseRequired(1, [said("user", "Is Dr. Lee free Monday?")]),
      );
      const frames = await retell.untilComplete(1);
      assert.deepStrictEqual(frames, [
        chunk(1, "One moment while I check."),
        {
          response_type: "tool_call_invocation",
          tool_call_id: "tc_1",
          name: "check_availability",
          arguments: '{"doctor":"Lee","date":"2026-01-05"}',
        },
        {
          response_type: "tool_call_result",
          tool_call_id: "tc_1",
          content:
            '{"doctor":"Lee","slots":["09:00","13:30"],"call":"call_llm","id":"tc_1"}',
          successful: true,
        },
        chunk(1, " Dr. Lee has 9 AM or 1:30 PM."),
        done(1),
      ]);
      const second = (await llm.waitForRequest(1)).body.messages as Array<
        Record<string, unknown>
      >;
      assert.deepStrictEqual(second.slice(-2), [
        {
          role: "assistant",
          content: null,
          tool_calls: [{
            id: "tc_1",
            type: "function",
            function: {
              name: "check_availability",
              arguments: '{"doctor":"Lee","date":"2026-01-05"}',
            },
          }],
        },
        {
          role: "tool",
          tool_call_id: "tc_1",
          content:
            '{"doctor":"Lee","slots":["09:00","13:30"],"call":"call_llm","id":"tc_1"}',
        },
      ]);
      assert.equal(runs, 1);
    },
  );

  await t.step(
    "runs a tool at most once per call when Retell re-asks",
    async () => {
      gate = releaseTool.promise;
      // The same question again, but with the arguments in another order.
      const reordered = {
        toolCall: {
          id: "tc_2",
          name: "check_availability",
          arguments: '{"date":"2026-01-06","doctor":"Kim"}',
        },
      };
      llm.enqueue({ steps: [reordered] });
      retell.send(responseRequired(2));
      await retell.take(2); // holding line and invocation; the tool is now running
      llm.enqueue(
        {
          steps: [{
            toolCall: {
              id: "tc_3",
              name: "check_availability",
              arguments: '{"doctor":"Kim","date":"2026-01-06"}',
            },
          }],
        },
        tokens("Dr. Kim is free at nine."),
      );
      retell.send(responseRequired(3));
      // Release the tool only once the server has taken id 3 (its model
      // request arrived): the test shares the server's event loop.
      await llm.waitForRequest(3);
      releaseTool.resolve();
      const frames = await retell.untilComplete(3);
      assert.equal(frames.filter((frame) => frame.response_id === 2).length, 0);
      assert.deepStrictEqual(
        frames
          .filter((frame) => frame.response_type === "tool_call_result")
          .map((frame) => frame.tool_call_id),
        ["tc_3"],
        "the superseded turn's result is not sent",
      );
      assert.equal(
        spoken(frames, 3),
        "One moment while I check. Dr. Kim is free at nine.",
      );
      assert.equal(
        runs,
        2,
        "once for Lee, once for Kim: the re-asked turn reused the result",
      );
      assert.equal(env.logs.events("tool_reused").length, 1);
    },
  );

  await t.step(
    "reports invalid arguments to the model instead of running the tool",
    async () => {
      llm.enqueue(
        {
          steps: [{
            toolCall: {
              id: "tc_bad",
              name: "check_availability",
              arguments: '{"doctor":7}',
            },
          }],
        },
        tokens("Which doctor did you mean?"),
      );
      retell.send(responseRequired(4));
      const frames = await retell.untilComplete(4);
      assert.equal(spoken(frames, 4), "Which doctor did you mean?");
      assert.equal(runs, 2);
      const messages = (llm.requests.at(-1)!.body.messages) as Array<
        { role: string; content: string }
      >;
      const report = messages.at(-1)!;
      assert.equal(report.role, "tool");
      assert.match(
        report.content,
        /^Cannot call tool "check_availability" with these arguments: doctor/,
      );
      assert.equal(env.logs.events("tool_arguments_invalid").length, 1);
    },
  );

  await t.step(
    "tells the model when it calls a tool that does not exist",
    async () => {
      llm.enqueue(
        {
          steps: [{
            toolCall: { id: "tc_none", name: "book_flight", arguments: "{}" },
          }],
        },
        tokens("I cannot book flights."),
      );
      retell.send(responseRequired(5));
      const frames = await retell.untilComplete(5);
      assert.equal(spoken(frames, 5), "I cannot book flights.");
      const messages = (llm.requests.at(-1)!.body.messages) as Array<
        { role: string; content: string }
      >;
      assert.deepStrictEqual(
        [messages.at(-1)!.role, messages.at(-1)!.content],
        ["tool", 'Cannot call tool "book_flight": there is no such tool'],
      );
      assert.deepStrictEqual(
        env.logs.events("tool_unknown").map((line) => line.tool),
        ["book_flight"],
      );
    },
  );
});

Deno.test("llm responder says one progress line while a tool runs long", async (t) => {
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const lookUp = defineTool({
    name: "look_up_order",
    description: "Status of an order.",
    parameters: z.object({ order: z.string() }),
    holdingLine: "Let me look that up.",
    handler: async ({ order }) => {
      started.resolve();
      await release.promise;
      return { order, status: "shipped" };
    },
  });
  await using env = await setUp({ tools: [lookUp], toolProgressMs: 40 });
  const { llm, retell, logs } = env;
  const call = (id: string) => ({
    toolCall: { id, name: "look_up_order", arguments: '{"order":"A1"}' },
  });

  await t.step(
    "in the same response, between invocation and result",
    async () => {
      llm.enqueue({ steps: [call("tc_a")] }, tokens("It has shipped."));
      retell.send(responseRequired(1, [said("user", "Where is order A1?")]));
      assert.deepStrictEqual(await retell.take(3), [
        chunk(1, "Let me look that up."),
        {
          response_type: "tool_call_invocation",
          tool_call_id: "tc_a",
          name: "look_up_order",
          arguments: '{"order":"A1"}',
        },
        chunk(1, " Still working on it, thank you for waiting."),
      ]);
      await started.promise;
      release.resolve();
      const rest = await retell.untilComplete(1);
      assert.deepStrictEqual(rest, [
        {
          response_type: "tool_call_result",
          tool_call_id: "tc_a",
          content: '{"order":"A1","status":"shipped"}',
          successful: true,
        },
        chunk(1, " It has shipped."),
        done(1),
      ]);
      const progress = logs.events("tool_progress");
      assert.equal(progress.length, 1);
      assert.equal(progress[0]!.tool, "look_up_order");
    },
  );

  await t.step("0 turns it off", async () => {
    const hold = Promise.withResolvers<void>();
    const slow = defineTool({
      name: "slow",
      description: "Slow.",
      parameters: z.object({}),
      handler: async () => {
        await hold.promise;
        return "done";
      },
    });
    await using quiet = await setUp(
      { tools: [slow], toolProgressMs: 0 },
      "call_quiet",
    );
    quiet.llm.enqueue(
      { steps: [{ toolCall: { id: "tc_s", name: "slow", arguments: "{}" } }] },
      tokens("Done."),
    );
    quiet.retell.send(responseRequired(1, [said("user", "Go")]));
    const invocation = await quiet.retell.next();
    assert.equal(invocation.response_type, "tool_call_invocation");
    // Longer than a progress delay would be, without a frame.
    await assert.rejects(quiet.retell.next(150), /No frame/);
    hold.resolve();
    assert.deepStrictEqual(
      (await quiet.retell.untilComplete(1)).at(-2),
      chunk(1, "Done."),
    );
  });
});

Deno.test("llm responder sends the model request before its reply is read, and a reply never read is cleaned up", async (t) => {
  await using llm = startFakeLlm();
  const logs = captureLogs();
  const responder = createLlmResponder({
    apiKey: API_KEY,
    baseUrl: llm.baseUrl,
    model: "test-model",
    log: logs.log,
  });
  const call = offlineCall({ callId: "call_early" });
  const turn = {
    call,
    responseId: 1,
    kind: "response" as const,
    transcript: [{ role: "user" as const, content: "Hello?" }],
    transcriptWithToolCalls: undefined,
  };

  await t.step(
    "the request leaves on respond(), and the reply reads as usual",
    async () => {
      llm.enqueue(tokens("Hi ", "there."));
      const reply = responder.respond(turn, {
        signal: new AbortController().signal,
        mark: () => {},
      });
      await llm.waitForRequest(0);
      assert.equal(typeof reply, "object");
      const parts = await Array.fromAsync(reply as AsyncIterable<unknown>);
      assert.deepEqual(parts, ["Hi ", "there."]);
    },
  );

  await t.step(
    "a reply whose turn stops before it is read closes its request",
    async () => {
      using unhandled = recordUnhandledRejections();
      llm.enqueue({ steps: [{ text: "Never heard" }, { hang: true }] });
      const stop = new AbortController();
      responder.respond(turn, { signal: stop.signal, mark: () => {} });
      const request = await llm.waitForRequest(1);
      stop.abort(new DOMException("Superseded", "AbortError"));
      assert.equal(await request.outcome, "aborted");
      await unhandled.settle();
      assert.deepEqual(unhandled.reasons, []);
    },
  );
});
