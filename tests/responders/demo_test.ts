import assert from "node:assert/strict";
import { loadConfig } from "../../src/config/load.ts";
import {
  createDemoResponder,
  DEMO_REMINDER,
  DEMO_WORD_MS,
} from "../../src/responders/demo.ts";
import { createResponderFromConfig } from "../../src/responders/from_config.ts";
import { parseScenario } from "../../src/simulator/scenario.ts";
import { runScenario } from "../../src/simulator/scenario_runner.ts";
import {
  reminderRequired,
  responseRequired,
  said,
  spoken,
} from "../_support/frames.ts";
import { offlineCall } from "../_support/call.ts";
import { captureLogs } from "../_support/logs.ts";
import { connectAsRetell } from "../_support/retell_client.ts";
import { startTestServer } from "../_support/server.ts";

Deno.test("demo responder passes its shipped scenario", async () => {
  const logs = captureLogs();
  await using server = startTestServer({
    responder: createDemoResponder({ log: logs.log, wordMs: 5 }),
  }, logs);
  const parsed = parseScenario(
    await Deno.readTextFile("tests/scenarios/demo.json"),
  );
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.reason);
  const report = await runScenario(parsed.scenario, {
    url: server.url("").slice(0, -1),
  });
  assert.deepStrictEqual(report.violations, []);
  assert.deepStrictEqual(report.failures, []);
  assert.equal(report.ok, true);
  assert.deepStrictEqual(logs.events("placeholder_unfilled"), []);
});

Deno.test("demo responder streams word by word at its pace and echoes the caller", async (t) => {
  const wordMs = 40;
  const logs = captureLogs();
  await using server = startTestServer({
    responder: createDemoResponder({ log: logs.log, wordMs }),
    callConfig: { call_details: false },
  }, logs);
  await using retell = await connectAsRetell(server.url("call_demo"));
  await retell.next();

  await t.step("the greeting, its placeholder defaulted", async () => {
    const frames = await retell.untilComplete(0);
    assert.match(spoken(frames, 0), /^Hi there! This is the demo agent\./);
  });

  await t.step("one frame per word, no faster than the pace", async () => {
    retell.send(responseRequired(1, [said("user", "Hello over there")]));
    const startedAt = performance.now();
    const first = await retell.next();
    const firstAt = performance.now();
    const rest = await retell.untilComplete(1);
    const elapsed = performance.now() - firstAt;
    const text = spoken([first, ...rest], 1);
    assert.match(text, /^You said: Hello over there\. I am the demo agent/);
    const words = text.split(" ").length;
    // One frame per word, then the empty complete frame.
    assert.equal(rest.length, words);
    assert.ok(firstAt - startedAt < 1_000, "the first word comes at once");
    assert.ok(elapsed >= (words - 1) * wordMs * 0.9, `${elapsed} ms`);
  });

  await t.step(
    "the longest reply is spoken within 15 s at the default pace",
    async () => {
      const long =
        "one two three four five six seven eight nine ten eleven twelve thirteen";
      retell.send(responseRequired(3, [said("user", long)]));
      const words = spoken(await retell.untilComplete(3), 3).split(" ").length;
      // The simulator and the playground call a response that stays open past
      // 15 s "never completed" (§5.2); the demo must never trip it.
      assert.ok(words * DEMO_WORD_MS < 13_000, `${words} words`);
    },
  );

  await t.step("a reminder checks in", async () => {
    retell.send(reminderRequired(4));
    assert.equal(spoken(await retell.untilComplete(4), 4), DEMO_REMINDER);
  });
});

Deno.test("demo responder stops at once when its turn is superseded", async (t) => {
  // A pace no test waits out: only the abort can end a reply.
  const wordMs = 60_000;

  await t.step("its stream ends as soon as the signal aborts", async () => {
    const responder = createDemoResponder({ log: captureLogs().log, wordMs });
    const controller = new AbortController();
    const call = offlineCall({ callId: "c1", signal: controller.signal });
    const turn = {
      call,
      responseId: 1,
      kind: "response" as const,
      transcript: [said("user", "Hi")],
      transcriptWithToolCalls: undefined,
    };
    const reply = await responder.respond(turn, {
      signal: controller.signal,
      mark: () => {},
    });
    const iterator = (reply as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    assert.deepStrictEqual(await iterator.next(), {
      done: false,
      value: "You",
    });
    const next = iterator.next();
    const abortedAt = performance.now();
    controller.abort();
    assert.deepStrictEqual(await next, { done: true, value: undefined });
    assert.ok(performance.now() - abortedAt < 1_000);
  });

  await t.step("over a socket, a newer request takes over", async () => {
    const logs = captureLogs();
    const server = startTestServer({
      responder: createDemoResponder({ log: logs.log, wordMs }),
      callConfig: { call_details: false },
    }, logs);
    const retell = await connectAsRetell(server.url("call_demo_abort"));
    await retell.next();
    await retell.next();
    retell.send(responseRequired(1, [said("user", "First")]));
    assert.equal((await retell.next()).content, "You");
    retell.send(responseRequired(2, [said("user", "Second")]));
    const frame = await retell.next();
    assert.deepStrictEqual([frame.response_id, frame.content], [2, "You"]);
    await retell.close();
    await server[Symbol.asyncDispose]();
    const outcomes = logs.events("turn_finished").map((line) => [
      line.response_id,
      line.outcome,
    ]);
    assert.deepStrictEqual(outcomes.slice(1), [[1, "superseded"], [
      2,
      "closed",
    ]]);
  });
});

Deno.test("RESPONDER=demo creates the demo responder", async () => {
  const logs = captureLogs();
  const config = loadConfig(new Map([["RESPONDER", "demo"]]));
  const responder = createResponderFromConfig(config, logs.log);
  assert.equal(responder.beginAfterCallDetails, true);
  const signal = new AbortController().signal;
  const call = offlineCall({ callId: "c1", signal });
  const reply = await responder.begin(call, { signal, mark: () => {} });
  const first = await (reply as AsyncIterable<unknown>)[Symbol.asyncIterator]()
    .next();
  assert.equal(first.value, "Hi");
});
