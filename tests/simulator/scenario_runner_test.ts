import assert from "node:assert/strict";
import type { Responder } from "../../src/responder.ts";
import type { Violation } from "../../src/simulator/violation.ts";
import { parseScenario, type Scenario } from "../../src/simulator/scenario.ts";
import {
  runScenario,
  type RunScenarioOptions,
  type ScenarioReport,
} from "../../src/simulator/scenario_runner.ts";
import { startTestServer } from "../_support/server.ts";
import { slowResponder } from "../_support/responders.ts";
import { chunk, configEvent, done, pong } from "../_support/frames.ts";
import {
  answerPolitely,
  type Script,
  startScriptedServer,
} from "../_support/scripted_server.ts";

const GREETING = "How may I help you?";
const REPLY = "I am sorry, can you say that again?";
const SHIPPED = ["dummy", "barge_in", "keepalive"];

/** Parses a scenario written in the test, failing the test when it is invalid. */
function scenario(value: unknown): Scenario {
  const parsed = parseScenario(JSON.stringify(value));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.scenario;
}

function codes(violations: readonly Violation[]): string[] {
  return violations.map((violation) => violation.code);
}

const TWO_TURNS = scenario({
  timeout_ms: 2000,
  steps: [{ say: "First question?" }, { say: "Second question?" }],
});

const ONE_TURN = scenario({ steps: [{ say: "First question?" }] });

/** Starts a reply to the first request, and never completes it. */
const NEVER_COMPLETES: Script = {
  answer(frame, peer) {
    if (frame.response_id === 1) peer.send(chunk(1, "Let me check"));
  },
};

async function run(
  url: string,
  played: Scenario = TWO_TURNS,
  options: Partial<RunScenarioOptions> = {},
): Promise<ScenarioReport> {
  return await runScenario(played, { url, settleMs: 20, ...options });
}

Deno.test("runScenario() passes the shipped scenarios against the dummy server", async (t) => {
  await using server = startTestServer();
  for (const name of SHIPPED) {
    await t.step(name, async () => {
      const parsed = parseScenario(
        await Deno.readTextFile(`tests/scenarios/${name}.json`),
      );
      assert.ok(parsed.ok);
      const report = await runScenario(parsed.scenario, {
        url: server.url("").slice(0, -1),
      });
      assert.deepStrictEqual(report.violations, []);
      assert.deepStrictEqual(report.failures, []);
      assert.equal(report.ok, true);
      assert.equal(report.closeCode, 1000);
      assert.equal(report.closedByServer, false);
    });
  }
});

Deno.test("runScenario() reports every turn of the dummy scenario", async () => {
  await using server = startTestServer();
  const parsed = parseScenario(
    await Deno.readTextFile("tests/scenarios/dummy.json"),
  );
  assert.ok(parsed.ok);
  const report = await runScenario(parsed.scenario, {
    url: server.url("").slice(0, -1),
    callId: "sim_report",
  });
  assert.equal(report.name, "dummy");
  assert.equal(report.callId, "sim_report");
  assert.deepStrictEqual(
    report.turns.map((turn) => [
      turn.index,
      turn.step,
      turn.responseId,
      turn.kind,
      turn.said,
      turn.reply,
      turn.status,
      turn.frames,
      turn.violations.length,
    ]),
    [
      [1, undefined, 0, "begin", undefined, GREETING, "complete", 1, 0],
      [2, 2, 1, "say", "What time is it?", REPLY, "complete", 1, 0],
      [3, 3, 2, "silence", undefined, REPLY, "complete", 1, 0],
      [4, 4, 3, "say", "Can I book a cleaning for", REPLY, "complete", 1, 0],
      [
        5,
        5,
        4,
        "say",
        "Can I book a cleaning for Friday afternoon?",
        REPLY,
        "complete",
        1,
        0,
      ],
    ],
  );
  for (const turn of report.turns) {
    assert.ok(turn.firstFrameMs !== undefined && turn.firstFrameMs >= 0);
    assert.equal(turn.completeMs, turn.firstFrameMs);
  }
});

Deno.test("runScenario() plays a barge-in against a streaming server", async () => {
  // Reply 1 streams its first piece, then holds until it is superseded.
  const responder = slowResponder(new Set([1]));
  await using server = startTestServer({ responder });
  const report = await runScenario(
    scenario({
      steps: [
        { say: "Can you check", wait: "first_frame" },
        {
          say: "Can you check Friday?",
          expect: { contains: "done", action: "none" },
        },
      ],
    }),
    { url: server.url("").slice(0, -1) },
  );
  assert.deepStrictEqual(report.failures, []);
  assert.deepStrictEqual(report.violations, []);
  assert.deepStrictEqual(
    report.turns.map((turn) => [turn.reply, turn.status, turn.frames]),
    [
      ["Hello, slow here.", "complete", 1],
      ["Let me see. ", "superseded", 1],
      ["Let me see. Done.", "complete", 3],
    ],
  );
});

Deno.test("runScenario() reports failed expectations in words", async (t) => {
  const responder: Responder = {
    begin: () => "Welcome to Harbor Dental.",
    async respond(turn) {
      if (turn.kind === "reminder") {
        // A real wait: what max_first_frame_ms measures.
        await new Promise((resolve) => setTimeout(resolve, 30));
        return "Still there?";
      }
      return (async function* () {
        yield "Goodbye!";
        yield { type: "end_call" } as const;
      })();
    },
  };
  await using server = startTestServer({ responder });
  const report = await runScenario(
    scenario({
      steps: [
        {
          expect_begin: {
            contains: ["welcome", "HARBOR"],
            not_contains: "dental",
          },
        },
        { silence: true, expect: { max_first_frame_ms: 5, contains: "still" } },
        { say: "Bye.", expect: { action: "transfer_call" } },
        { say: "Hello?" },
      ],
    }),
    { url: server.url("").slice(0, -1) },
  );

  await t.step("fails the report", () => {
    assert.equal(report.ok, false);
    assert.deepStrictEqual(report.violations, []);
  });

  await t.step("names the step and what was wrong", () => {
    assert.equal(report.failures.length, 4);
    assert.equal(
      report.failures[0],
      'begin message: the reply contains "dental": it was "Welcome to Harbor Dental."',
    );
    assert.match(
      report.failures[1]!,
      /^step 2 of 4 \(silence\): the first frame came after \d+ ms, more than max_first_frame_ms 5$/,
    );
    assert.equal(
      report.failures[2],
      'step 3 of 4 (say "Bye."): expected action transfer_call, but the reply carried end_call',
    );
    assert.match(
      report.failures[3]!,
      /^step 4 of 4 \(say "Hello\?"\): the call had already ended \(close code 1000\)$/,
    );
  });

  await t.step("attaches failures to their turns", () => {
    assert.deepStrictEqual(
      report.turns.map((turn) => turn.failures.length),
      [1, 1, 1],
    );
  });
});

Deno.test("runScenario() reports the protocol rule each bad server breaks", async (t) => {
  await t.step("a frame without response_type", async () => {
    await using server = startScriptedServer({
      start: [
        configEvent(),
        { response_id: 0, content: "Hi.", content_complete: true },
      ],
      answer: answerPolitely,
    });
    const report = await run(server.url);
    assert.deepStrictEqual(codes(report.violations), ["missing_response_type"]);
    const [violation] = report.violations;
    assert.equal(violation?.rule, "§4.0, §8.4");
    assert.equal(violation?.responseId, 0);
    assert.equal(report.turns[0]?.violations.length, 1);
    assert.equal(report.ok, false);
  });

  await t.step('content_complete sent as the string "true"', async () => {
    await using server = startScriptedServer({
      answer(frame, peer) {
        if (frame.response_id === 1) {
          peer.send({ ...chunk(1, "Sure."), content_complete: "true" });
        } else answerPolitely(frame, peer);
      },
    });
    const report = await run(server.url, TWO_TURNS, { timeoutMs: 300 });
    assert.deepStrictEqual(codes(report.violations), ["invalid_frame"]);
    assert.match(report.violations[0]!.message, /"content_complete": "true"/);
    assert.deepStrictEqual(report.failures, [
      'step 1 of 2 (say "First question?"): the reply did not complete within 300 ms (no frame arrived)',
    ]);
  });

  await t.step("content under a stale response_id", async () => {
    await using server = startScriptedServer({
      answer(frame, peer) {
        if (frame.response_id === 1) peer.send(chunk(1, "Let me "));
        if (frame.response_id === 2) {
          peer.send(chunk(2, "Sure, "));
          peer.send(chunk(1, "check that."));
          peer.send(done(2, "done."));
        }
      },
    });
    const report = await run(
      server.url,
      scenario({
        steps: [
          { say: "First question?", wait: "first_frame" },
          { say: "Second question?" },
        ],
      }),
    );
    assert.deepStrictEqual(codes(report.violations), ["stale_response"]);
    assert.equal(report.violations[0]?.responseId, 1);
    assert.equal(report.violations[0]?.rule, "§5.1, §8.7");
    assert.equal(report.turns[2]?.reply, "Sure, done.");
  });

  await t.step("content after the response completed", async () => {
    await using server = startScriptedServer({
      answer(frame, peer) {
        answerPolitely(frame, peer);
        if (frame.response_id === 1) peer.send(chunk(1, " And more."));
      },
    });
    const report = await run(server.url);
    assert.deepStrictEqual(codes(report.violations), ["after_complete"]);
    assert.equal(report.turns[1]?.reply, "Okay.");
    assert.equal(report.turns[1]?.violations.length, 1);
  });

  await t.step("a response never completed", async () => {
    await using server = startScriptedServer(NEVER_COMPLETES);
    const report = await run(
      server.url,
      ONE_TURN,
      { timeoutMs: 200 },
    );
    assert.deepStrictEqual(codes(report.violations), ["never_completed"]);
    assert.equal(report.violations[0]?.responseId, 1);
    assert.equal(report.turns[1]?.status, "closed");
    assert.match(report.failures[0]!, /did not complete within 200 ms/);
  });

  await t.step("a response open past the response deadline", async () => {
    await using server = startScriptedServer(NEVER_COMPLETES);
    const report = await run(
      server.url,
      ONE_TURN,
      {
        timeoutMs: 400,
        checkIntervalMs: 10,
        conformance: { responseDeadlineMs: 50 },
      },
    );
    assert.deepStrictEqual(codes(report.violations), ["never_completed"]);
    assert.match(report.violations[0]!.message, /not completed within/);
  });

  await t.step("a binary frame", async () => {
    await using server = startScriptedServer({
      answer(frame, peer) {
        if (frame.response_id === 1) peer.send(new Uint8Array([1, 2, 3]));
        answerPolitely(frame, peer);
      },
    });
    const report = await run(server.url);
    assert.deepStrictEqual(codes(report.violations), ["binary_frame"]);
    assert.match(report.violations[0]!.message, /binary frame \(3 bytes\)/);
    assert.equal(report.turns[1]?.violations.length, 1);
  });

  await t.step("a close with code 1011", async () => {
    await using server = startScriptedServer({
      answer(frame, peer) {
        if (frame.response_id === 1) peer.close(1011, "boom");
      },
    });
    const report = await run(server.url);
    assert.deepStrictEqual(codes(report.violations), [
      "bad_close_code",
      "never_completed",
    ]);
    assert.equal(report.closeCode, 1011);
    assert.equal(report.closedByServer, true);
    assert.deepStrictEqual(report.failures, [
      'step 1 of 2 (say "First question?"): the call ended before the reply completed',
      'step 2 of 2 (say "Second question?"): the call had already ended (close code 1011, closed by the server)',
    ]);
  });

  await t.step("ping_pong never echoed", async () => {
    await using server = startScriptedServer({
      start: [configEvent({ auto_reconnect: true }), done(0, "Hi.")],
    });
    const report = await run(
      server.url,
      scenario({ steps: [{ pause_ms: 250 }] }),
      {
        pingIntervalMs: 40,
        checkIntervalMs: 20,
        conformance: { pingDeadlineMs: 60 },
      },
    );
    assert.ok(report.violations.length > 0);
    assert.ok(
      report.violations.every((violation) => violation.code === "ping_missing"),
      codes(report.violations).join(),
    );
    assert.equal(report.violations[0]?.rule, "§4.4, §5.7, §8.5");
  });

  await t.step("ping_pong echoed late", async () => {
    await using server = startScriptedServer({
      start: [configEvent({ auto_reconnect: true }), done(0, "Hi.")],
      answer(frame, peer) {
        if (frame.interaction_type !== "ping_pong") return;
        peer.later(120, () => peer.send(pong(frame.timestamp as number)));
      },
    });
    const quick = await run(
      server.url,
      scenario({ steps: [{ pause_ms: 250 }] }),
      {
        pingIntervalMs: 30,
        checkIntervalMs: 10_000,
        conformance: { pingDeadlineMs: 60 },
      },
    );
    assert.ok(codes(quick.violations).includes("ping_late"));
    // Echoes still due at the close are missing; none is anything else.
    assert.ok(
      quick.violations.every((violation) =>
        violation.code === "ping_late" || violation.code === "ping_missing"
      ),
    );
  });

  await t.step("no begin message", async () => {
    await using server = startScriptedServer({
      start: [configEvent()],
      answer: answerPolitely,
    });
    const report = await run(
      server.url,
      scenario({ steps: [{ expect_begin: { contains: "hello" } }] }),
      {
        timeoutMs: 300,
        checkIntervalMs: 10,
        conformance: { beginDeadlineMs: 50 },
      },
    );
    assert.deepStrictEqual(codes(report.violations), ["no_begin"]);
    assert.equal(report.violations[0]?.rule, "§2, §8.3");
    assert.deepStrictEqual(report.failures, [
      'begin message: the reply does not contain "hello": it was ""',
    ]);
  });
});
