import assert from "node:assert/strict";
import { createMetadataEvent } from "../../src/protocol/outbound.ts";
import { mock } from "node:test";
import type { Responder } from "../../src/responder.ts";
import {
  type SimulatedCall,
  type SimulatedCallOptions,
  SimulatorConnectError,
  startSimulatedCall,
} from "../../src/simulator/call.ts";
import { buildCallUrl } from "../../src/simulator/call_url.ts";
import type { SimulatorEvent } from "../../src/simulator/simulator_event.ts";
import { startTestServer } from "../_support/server.ts";
import { waitUntil } from "../_support/wait.ts";
import { slowResponder } from "../_support/responders.ts";
import { chunk, done, toolCallRecord } from "../_support/frames.ts";
import { startScriptedServer } from "../_support/scripted_server.ts";

const GREETING = "How may I help you?";
const REPLY = "I am sorry, can you say that again?";

/** Every event of a call, and bounded waits for the next one of a type. */
function recordEvents() {
  const events: SimulatorEvent[] = [];
  const waiters = new Set<() => void>();
  return {
    events,
    onEvent(event: SimulatorEvent) {
      events.push(event);
      for (const waiter of [...waiters]) waiter();
    },
    of<T extends SimulatorEvent["type"]>(type: T) {
      return events.filter((event) => event.type === type) as Extract<
        SimulatorEvent,
        { type: T }
      >[];
    },
    /** Resolves once `count` events of `type` have happened. */
    until(type: SimulatorEvent["type"], count = 1, timeoutMs = 3000) {
      const enough = () =>
        events.filter((event) => event.type === type).length >= count;
      return waitUntil(
        enough,
        waiters,
        timeoutMs,
        () => `No ${count} ${type} event(s) within ${timeoutMs} ms`,
      );
    },
  };
}

async function call(
  options: SimulatedCallOptions,
): Promise<SimulatedCall> {
  return await startSimulatedCall(options);
}

Deno.test("buildCallUrl() appends the call id as Retell does", () => {
  assert.equal(
    buildCallUrl("ws://127.0.0.1:8080/llm-websocket", "c1"),
    "ws://127.0.0.1:8080/llm-websocket/c1",
  );
  assert.equal(
    buildCallUrl("http://localhost:8080/llm-websocket/", "c 2"),
    "ws://localhost:8080/llm-websocket/c%202",
  );
  assert.equal(
    buildCallUrl("wss://bot.example.com/ws?tenant=a#x", "c3"),
    "wss://bot.example.com/ws/c3?tenant=a",
  );
  assert.throws(
    () => buildCallUrl("ftp://host/x", "c"),
    TypeError,
    'Cannot use server URL "ftp://host/x": the scheme must be ws, wss, http or https, not "ftp"',
  );
  assert.throws(() => buildCallUrl("not a url", "c"), /is not a URL/);
});

Deno.test("startSimulatedCall() opens a call as Retell does", async (t) => {
  await using server = startTestServer();
  const recorder = recordEvents();
  await using simulated = await call({
    url: server.url("").slice(0, -1),
    callId: "sim_test_open",
    variables: { customer_name: "Dana" },
    onEvent: recorder.onEvent,
  });

  await t.step("dials the URL with the call id appended", () => {
    assert.equal(
      simulated.url,
      server.url("sim_test_open"),
    );
    assert.deepStrictEqual(recorder.events[0], {
      type: "open",
      at: 0,
      callId: "sim_test_open",
      url: simulated.url,
    });
  });

  await t.step("hears the begin message with its latency", async () => {
    const begin = await simulated.waitForCompletion(0, 3000);
    assert.equal(begin.status, "complete");
    assert.equal(begin.kind, "begin");
    assert.equal(begin.text, GREETING);
    assert.equal(begin.frames, 1);
    assert.ok(begin.firstFrameMs !== undefined && begin.firstFrameMs >= 0);
    assert.equal(begin.completeMs, begin.firstFrameMs);
    assert.deepStrictEqual(simulated.transcript, [
      { role: "agent", content: GREETING },
    ]);
  });

  await t.step(
    "sends call_details with the variables when the config asks",
    () => {
      assert.deepStrictEqual(simulated.config, {
        auto_reconnect: true,
        call_details: true,
      });
      const [details] = recorder.of("call_details");
      assert.deepStrictEqual(details?.call, {
        call_id: "sim_test_open",
        agent_id: "simulator",
        call_type: "web_call",
        call_status: "registered",
        metadata: {},
        retell_llm_dynamic_variables: { customer_name: "Dana" },
      });
    },
  );

  await t.step("answers, reminds, and records the transcript", async () => {
    const id = simulated.say("What time is it?");
    assert.equal(id, 1);
    const reply = await simulated.waitForCompletion(id, 3000);
    assert.equal(reply.text, REPLY);
    assert.equal(reply.said, "What time is it?");
    const reminder = await simulated.waitForCompletion(
      simulated.remind(),
      3000,
    );
    assert.equal(reminder.kind, "reminder");
    assert.equal(reminder.responseId, 2);
    assert.deepStrictEqual(simulated.transcript, [
      { role: "agent", content: GREETING },
      { role: "user", content: "What time is it?" },
      { role: "agent", content: REPLY },
      { role: "agent", content: REPLY },
    ]);
    assert.deepStrictEqual(simulated.violations, []);
  });

  await t.step("hangs up with code 1000", async () => {
    const closed = await simulated.close();
    assert.equal(closed.code, 1000);
    assert.equal(closed.byServer, false);
    assert.equal(simulated.isClosed, true);
    assert.throws(() => simulated.say("Hello?"), /the call has ended/);
    assert.deepStrictEqual(
      server.logs.events("call_ended").map((record) => record.call_id),
      ["sim_test_open"],
    );
  });
});

Deno.test("say() sends the growing transcript, then response_required", async () => {
  await using server = startScriptedServer({
    answer(frame, peer) {
      if (frame.interaction_type === "response_required") {
        peer.send(done(frame.response_id as number, "Sure."));
      }
    },
  });
  await using simulated = await call({ url: server.url });
  await simulated.waitForCompletion(0, 3000);
  const id = simulated.say("I need to move my cleaning");
  await simulated.waitForCompletion(id, 3000);
  simulated.say("Friday");
  await simulated.waitForCompletion(2, 3000);
  const greeting = { role: "agent", content: "Hi." };
  const first = { role: "user", content: "I need to move my cleaning" };
  const sure = { role: "agent", content: "Sure." };
  assert.deepStrictEqual(server.received, [
    {
      interaction_type: "update_only",
      transcript: [greeting, { role: "user", content: "I need to" }],
      turntaking: "user_turn",
    },
    { interaction_type: "update_only", transcript: [greeting, first] },
    {
      interaction_type: "response_required",
      response_id: 1,
      transcript: [greeting, first],
    },
    {
      interaction_type: "update_only",
      transcript: [greeting, first, sure, { role: "user", content: "Friday" }],
      turntaking: "user_turn",
    },
    {
      interaction_type: "response_required",
      response_id: 2,
      transcript: [greeting, first, sure, { role: "user", content: "Friday" }],
    },
  ]);
});

Deno.test("a simulated call measures a streamed reply and barges in", async (t) => {
  await using server = startTestServer({
    responder: slowResponder(new Set([1])),
  });
  const recorder = recordEvents();
  await using simulated = await call({
    url: server.url("").slice(0, -1),
    onEvent: recorder.onEvent,
  });
  await simulated.waitForCompletion(0, 3000);

  await t.step("reports the first frame while the reply streams", async () => {
    const id = simulated.say("Can you check Friday?");
    const first = await simulated.waitForFirstFrame(id, 3000);
    assert.equal(first.status, "streaming");
    assert.equal(first.text, "Let me see. ");
    assert.ok(first.firstFrameMs !== undefined);
    assert.equal(first.completeMs, undefined);
    assert.deepStrictEqual(
      recorder.of("agent_text").map((
        event,
      ) => [event.responseId, event.content]),
      [[0, "Hello, slow here."], [1, "Let me see. "]],
    );
  });

  await t.step("a new line supersedes the reply still streaming", async () => {
    const id = simulated.say("Actually, make it Monday.");
    assert.equal(id, 2);
    const [interrupted] = recorder.of("response_interrupted");
    assert.equal(interrupted?.responseId, 1);
    assert.equal(interrupted?.by, 2);
    assert.equal(interrupted?.text, "Let me see. ");
    assert.equal(simulated.response(1)?.status, "superseded");
    const reply = await simulated.waitForCompletion(id, 3000);
    assert.equal(reply.status, "complete");
    assert.equal(reply.text, "Let me see. Done.");
    assert.equal(reply.frames, 3);
    assert.ok(reply.completeMs! >= reply.firstFrameMs!);
  });

  await t.step("keeps the cut reply in the transcript as spoken so far", () => {
    assert.deepStrictEqual(simulated.transcript, [
      { role: "agent", content: "Hello, slow here." },
      { role: "user", content: "Can you check Friday?" },
      { role: "agent", content: "Let me see. " },
      { role: "user", content: "Actually, make it Monday." },
      { role: "agent", content: "Let me see. Done." },
    ]);
    assert.deepStrictEqual(simulated.violations, []);
  });
});

Deno.test("a simulated call pings every interval when the config asks", async () => {
  await using server = startTestServer();
  const recorder = recordEvents();
  await using simulated = await call({
    url: server.url("").slice(0, -1),
    onEvent: recorder.onEvent,
    pingIntervalMs: 20,
  });
  await recorder.until("ping_echo", 2);
  const echoes = recorder.of("ping_echo");
  assert.ok(echoes[1]!.timestamp > echoes[0]!.timestamp);
  assert.ok(echoes.every((echo) => echo.rttMs >= 0));
  await simulated.close();
  assert.deepStrictEqual(simulated.violations, []);
});

Deno.test("a simulated call sends no pings or call details unless asked", async () => {
  await using server = startScriptedServer();
  // Fake intervals: the test moves the keepalive clock itself.
  mock.timers.enable({ apis: ["setInterval"] });
  try {
    await using simulated = await call({ url: server.url, pingIntervalMs: 20 });
    // The begin message follows the config, so the config has been read.
    await simulated.waitForCompletion(0, 3000);
    mock.timers.tick(50);
    simulated.say("Hello");
    // Frames arrive in order: any ping sent in those two intervals is first.
    await server.until((received) =>
      received.some((frame) => frame.interaction_type === "response_required")
    );
    assert.deepStrictEqual(
      server.received.map((frame) => frame.interaction_type),
      ["update_only", "response_required"],
    );
  } finally {
    mock.timers.reset();
  }
});

Deno.test("a simulated call hangs up after a reply with end_call", async () => {
  const responder: Responder = {
    begin: () => "Hi.",
    async *respond() {
      yield "Goodbye!";
      yield { type: "end_call" };
    },
  };
  await using server = startTestServer({ responder });
  const recorder = recordEvents();
  await using simulated = await call({
    url: server.url("").slice(0, -1),
    onEvent: recorder.onEvent,
  });
  const id = simulated.say("That's all, bye.");
  const closed = await simulated.closed;
  assert.equal(closed.code, 1000);
  assert.equal(closed.byServer, false);
  assert.deepStrictEqual(simulated.response(id)?.action, { type: "end_call" });
  assert.deepStrictEqual(recorder.of("action").map((event) => event.action), [
    { type: "end_call" },
  ]);
  assert.deepStrictEqual(
    recorder.events.slice(-3).map((event) => event.type),
    ["response_complete", "action", "closed"],
  );
});

Deno.test("drop() ends a simulated call without a close frame, as a failed network does", async () => {
  await using server = startTestServer();
  const simulated = await call({ url: server.url("").slice(0, -1) });
  await simulated.waitForCompletion(0, 3000);
  const closed = await simulated.drop();
  assert.deepStrictEqual(
    { code: closed.code, byServer: closed.byServer },
    { code: 1006, byServer: false },
  );
  const ended = await server.logs.waitFor("call_ended");
  // Deno reports a connection dropped without a close frame as code 0.
  assert.notEqual(ended.close_code, 1000, "not a hang-up");
  assert.deepStrictEqual(simulated.violations, []);
});

Deno.test("a simulated call reports every kind of server event", async () => {
  await using server = startScriptedServer({
    answer(frame, peer) {
      if (frame.interaction_type !== "response_required") return;
      const id = frame.response_id as number;
      if (id === 1) {
        peer.send({
          response_type: "update_agent",
          agent_config: { reminder_trigger_ms: 5000 },
        });
        peer.send(chunk(id, "One moment. "));
        toolCallRecord().forEach(peer.send);
        peer.send(createMetadataEvent({ step: 2 }));
        peer.send(done(id, "Nine works.", { digit_to_press: "1" }));
      } else if (id === 2) {
        peer.send(
          chunk(id, "Transferring.", { transfer_number: "+14155550123" }),
        );
        peer.send(done(id, "", { digit_to_press: "9" }));
      } else {
        peer.send({
          response_type: "agent_interrupt",
          interrupt_id: 1,
          content: "Sorry to cut in: ",
          content_complete: false,
        });
        peer.send({
          response_type: "agent_interrupt",
          interrupt_id: 1,
          content: "goodbye.",
          content_complete: true,
          end_call: true,
        });
      }
    },
  });
  const recorder = recordEvents();
  await using simulated = await call({
    url: server.url,
    onEvent: recorder.onEvent,
  });
  await simulated.waitForCompletion(simulated.say("Is Friday free?"), 3000);
  await simulated.waitForCompletion(simulated.say("Get me a person."), 3000);
  simulated.say("Hello?");
  await simulated.closed;
  // Timings vary; everything else is exact.
  const seen = recorder.events
    .filter((event) => !["open", "config", "request"].includes(event.type))
    .map((event) => {
      const plain = JSON.parse(JSON.stringify(event));
      delete plain.at;
      delete plain.firstFrameMs;
      delete plain.completeMs;
      return plain;
    });
  assert.deepStrictEqual(seen, [
    { type: "agent_text", responseId: 0, content: "Hi." },
    {
      type: "response_complete",
      responseId: 0,
      kind: "begin",
      text: "Hi.",
      frames: 1,
      status: "complete",
    },
    { type: "update_agent", agentConfig: { reminder_trigger_ms: 5000 } },
    { type: "agent_text", responseId: 1, content: "One moment. " },
    {
      type: "tool_call_invocation",
      toolCallId: "tc_1",
      name: "check_availability",
      arguments: '{"day":"Friday"}',
    },
    {
      type: "tool_call_result",
      toolCallId: "tc_1",
      content: '{"slots":["09:00"]}',
      successful: true,
    },
    { type: "metadata", metadata: { step: 2 } },
    { type: "agent_text", responseId: 1, content: "Nine works." },
    {
      type: "response_complete",
      responseId: 1,
      kind: "response",
      said: "Is Friday free?",
      text: "One moment. Nine works.",
      frames: 2,
      status: "complete",
      action: { type: "press_digit", digits: "1" },
    },
    {
      type: "action",
      responseId: 1,
      action: { type: "press_digit", digits: "1" },
    },
    { type: "agent_text", responseId: 2, content: "Transferring." },
    {
      type: "response_complete",
      responseId: 2,
      kind: "response",
      said: "Get me a person.",
      text: "Transferring.",
      frames: 2,
      status: "complete",
      action: { type: "transfer_call", number: "+14155550123" },
    },
    {
      type: "action",
      responseId: 2,
      action: { type: "transfer_call", number: "+14155550123" },
    },
    {
      type: "response_interrupted",
      responseId: 3,
      kind: "response",
      said: "Hello?",
      text: "",
      frames: 0,
      status: "superseded",
      by: "agent_interrupt",
    },
    {
      type: "agent_interrupt",
      interruptId: 1,
      content: "Sorry to cut in: ",
      complete: false,
    },
    {
      type: "agent_interrupt",
      interruptId: 1,
      content: "goodbye.",
      complete: true,
    },
    { type: "action", action: { type: "end_call" } },
    { type: "closed", code: 1000, reason: "", byServer: false },
  ]);
  assert.deepStrictEqual(simulated.violations, []);
});

Deno.test("a simulated call forgives frames already in flight when it sends a newer request", async (t) => {
  /** On request 2: `interleave` sends a frame for 2 before the old id's frame. */
  function server(interleave: boolean) {
    return startScriptedServer({
      answer(frame, peer) {
        const id = frame.response_id;
        if (id === 1) peer.send(chunk(1, "Let me "));
        if (id !== 2) return;
        if (interleave) peer.send(chunk(2, "Sure, "));
        peer.send(chunk(1, "check."));
        peer.send(done(2, "done."));
      },
    });
  }

  await t.step("not stale before the server answers the newer id", async () => {
    await using raw = server(false);
    await using simulated = await call({ url: raw.url });
    await simulated.waitForFirstFrame(simulated.say("One"), 3000);
    const reply = await simulated.waitForCompletion(
      simulated.say("Two"),
      3000,
    );
    assert.equal(reply.text, "done.");
    await simulated.close();
    assert.deepStrictEqual(simulated.violations, []);
  });

  await t.step("stale once the server has answered the newer id", async () => {
    await using raw = server(true);
    await using simulated = await call({ url: raw.url });
    await simulated.waitForFirstFrame(simulated.say("One"), 3000);
    const reply = await simulated.waitForCompletion(
      simulated.say("Two"),
      3000,
    );
    assert.equal(reply.text, "Sure, done.");
    await simulated.close();
    assert.deepStrictEqual(
      simulated.violations.map((violation) => [
        violation.code,
        violation.responseId,
      ]),
      [["stale_response", 1]],
    );
  });
});

Deno.test("startSimulatedCall() explains why it cannot connect", async (t) => {
  await t.step("when nothing listens", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    await assert.rejects(
      () => startSimulatedCall({ url: `ws://127.0.0.1:${port}/llm-websocket` }),
      (error: unknown) => {
        assert.ok(error instanceof SimulatorConnectError);
        assert.equal(error.status, undefined);
        assert.match(
          error.message,
          /^Cannot connect to "ws:.*": connection refused/,
        );
        return true;
      },
    );
  });

  await t.step("when the server refuses the address", async () => {
    await using server = startTestServer({ allowLoopback: false });
    await assert.rejects(
      () => startSimulatedCall({ url: server.url("").slice(0, -1) }),
      (error: unknown) => {
        assert.ok(error instanceof SimulatorConnectError);
        assert.equal(error.status, 403);
        assert.match(error.message, /refused the upgrade with HTTP 403/);
        return true;
      },
    );
  });

  await t.step("when the URL is not usable", async () => {
    await assert.rejects(
      () => startSimulatedCall({ url: "mailto:someone@example.com" }),
      TypeError,
    );
  });
});
