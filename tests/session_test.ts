import assert from "node:assert/strict";
import type { CallStore } from "../src/call_store/call_store.ts";
import { createMemoryCallStore } from "../src/call_store/memory.ts";
import type { Responder, ResponsePart, Turn } from "../src/responder.ts";
import { DEFAULT_FALLBACK_TEXT } from "../src/session.ts";
import {
  chunk,
  defaultConfig,
  done,
  ping,
  pong,
  reminderRequired,
  responseRequired,
  said,
  updateOnly,
} from "./_support/frames.ts";
import { connectAsRetell } from "./_support/retell_client.ts";
import { startTestServer } from "./_support/server.ts";

const GREETING = "How may I help you?";
const REPLY = "I am sorry, can you say that again?";

/** A promise the test settles by hand, to order events without sleeping. */
function gate<T = void>() {
  return Promise.withResolvers<T>();
}

Deno.test("session opens with config then the begin message", async (t) => {
  await using server = startTestServer();
  await using retell = await connectAsRetell(server.url("call_begin"));

  await t.step(
    "sends config first and the greeting under response_id 0",
    async () => {
      assert.deepStrictEqual(await retell.take(2), [
        defaultConfig(),
        done(0, GREETING),
      ]);
    },
  );

  await t.step("sends the config it was given", async () => {
    await using custom = startTestServer({
      callConfig: {
        auto_reconnect: false,
        call_details: false,
        transcript_with_tool_calls: true,
      },
    });
    await using other = await connectAsRetell(custom.url("call_config"));
    assert.deepStrictEqual(await other.next(), {
      response_type: "config",
      config: {
        auto_reconnect: false,
        call_details: false,
        transcript_with_tool_calls: true,
      },
    });
  });
});

Deno.test("session answers with the dummy responder", async (t) => {
  await using server = startTestServer();
  await using retell = await connectAsRetell(server.url("call_dummy"));
  await retell.take(2);

  await t.step("answers response_required in one complete frame", async () => {
    retell.send(
      responseRequired(1, [
        said("agent", GREETING),
        said("user", "What time is it?"),
      ]),
    );
    assert.deepStrictEqual(await retell.next(), done(1, REPLY));
  });

  await t.step("answers reminder_required the same way", async () => {
    retell.send(reminderRequired(2));
    assert.deepStrictEqual(await retell.next(), done(2, REPLY));
  });

  await t.step("sends nothing for update_only and call_details", async () => {
    retell.send(updateOnly([said("user", "Hello")], "user_turn"));
    retell.send({
      interaction_type: "call_details",
      call: { call_id: "call_dummy" },
    });
    retell.send(ping(1767225600000));
    // Frames are handled in order, so the echo is the next thing sent.
    assert.deepStrictEqual(await retell.next(), pong(1767225600000));
  });
});

Deno.test("session streams a reply and passes the turn to the responder", async (t) => {
  const turns: Turn[] = [];
  const responder: Responder = {
    begin: () => "",
    async *respond(turn) {
      turns.push(turn);
      yield "Sure, ";
      yield "";
      yield "I can help.";
    },
  };
  await using server = startTestServer({ responder });
  await using retell = await connectAsRetell(server.url("call_stream"));

  await t.step(
    "an empty begin message lets the caller speak first",
    async () => {
      assert.deepStrictEqual((await retell.take(2))[1], done(0, ""));
    },
  );

  await t.step(
    "sends each piece as it comes, skips empty ones, then completes",
    async () => {
      retell.send({
        interaction_type: "call_details",
        call: { call_id: "call_stream", agent_id: "a1" },
      });
      const transcript = [said("agent", "Hi"), said("user", "Help me")];
      retell.send({ ...responseRequired(1, transcript), timestamp: 3 });
      assert.deepStrictEqual(await retell.untilComplete(1), [
        chunk(1, "Sure, "),
        chunk(1, "I can help."),
        done(1),
      ]);
    },
  );

  await t.step(
    "gives the responder the id, kind, transcript and call details",
    () => {
      assert.equal(turns.length, 1);
      const turn = turns[0]!;
      assert.equal(turn.responseId, 1);
      assert.equal(turn.kind, "response");
      assert.deepStrictEqual(turn.transcript, [
        said("agent", "Hi"),
        said("user", "Help me"),
      ]);
      assert.equal(turn.call.callId, "call_stream");
      assert.deepStrictEqual(turn.call.details, {
        call_id: "call_stream",
        agent_id: "a1",
      });
    },
  );

  await t.step("marks a reminder as such", async () => {
    retell.send(reminderRequired(2));
    await retell.untilComplete(2);
    assert.equal(turns[1]?.kind, "reminder");
  });
});

Deno.test("session echoes ping_pong at once while a reply is streaming", async () => {
  const release = gate();
  const responder: Responder = {
    begin: () => "",
    async *respond() {
      yield "Let me think. ";
      await release.promise;
      yield "Done.";
    },
  };
  await using server = startTestServer({ responder });
  await using retell = await connectAsRetell(server.url("call_ping"));
  await retell.take(2);

  retell.send(responseRequired(1));
  assert.deepStrictEqual(await retell.next(), chunk(1, "Let me think. "));
  retell.send(ping(1767225602000));
  assert.deepStrictEqual(await retell.next(), pong(1767225602000));
  release.resolve();
  assert.deepStrictEqual(await retell.untilComplete(1), [
    chunk(1, "Done."),
    done(1),
  ]);
});

Deno.test("session abandons a response when a newer response_id arrives", async (t) => {
  const releaseFirst = gate();
  const firstFinished = gate();
  let firstSignal: AbortSignal | undefined;
  let abortedBeforeWaking: unknown;
  const responder: Responder = {
    begin: () => "",
    async *respond(turn, { signal }) {
      if (turn.responseId === 1) {
        firstSignal = signal;
        try {
          yield "Great, ";
          await releaseFirst.promise;
          yield "this must never be sent";
        } finally {
          firstFinished.resolve();
        }
        return;
      }
      // The server has taken id 2 by now: the old signal must already have
      // fired. Then wake the old generation, which tries to send more, and
      // speak only after it has finished.
      abortedBeforeWaking = firstSignal?.reason;
      releaseFirst.resolve();
      await firstFinished.promise;
      yield "Got it.";
    },
  };
  await using server = startTestServer({ responder });
  await using retell = await connectAsRetell(server.url("call_supersede"));
  await retell.take(2);

  retell.send(responseRequired(1));
  assert.deepStrictEqual(await retell.next(), chunk(1, "Great, "));
  retell.send(responseRequired(2));

  await t.step("sends nothing more under the old id", async () => {
    assert.deepStrictEqual(await retell.untilComplete(2), [
      chunk(2, "Got it."),
      done(2),
    ]);
  });

  await t.step(
    "fires the old response's abort signal as soon as the new id arrives",
    () => {
      assert.ok(abortedBeforeWaking instanceof DOMException);
      assert.equal(abortedBeforeWaking.name, "AbortError");
      assert.equal(abortedBeforeWaking.message, "Superseded by response 2");
    },
  );

  await t.step("logs the supersede with both ids", () => {
    const [record] = server.logs.events("response_superseded");
    assert.deepStrictEqual(
      {
        call_id: record?.call_id,
        response_id: record?.response_id,
        by: record?.by,
      },
      { call_id: "call_supersede", response_id: 1, by: 2 },
    );
  });
});

Deno.test("session stops waiting on a superseded responder that ignores its signal", async () => {
  const never = gate<string>();
  const responder: Responder = {
    begin: () => "",
    respond: (turn) => turn.responseId === 1 ? never.promise : "Second.",
  };
  await using server = startTestServer({ responder });
  await using retell = await connectAsRetell(server.url("call_stuck"));
  await retell.take(2);

  retell.send(responseRequired(1));
  retell.send(responseRequired(2));
  assert.deepStrictEqual(await retell.next(), done(2, "Second."));
  never.resolve("Too late.");
  retell.send(ping(1));
  assert.deepStrictEqual(await retell.next(), pong(1));
});

Deno.test("session keeps streaming through update_only", async () => {
  const release = gate();
  let aborted = false;
  const responder: Responder = {
    begin: () => "",
    async *respond(_turn, { signal }) {
      yield "Sure, ";
      await release.promise;
      aborted = signal.aborted;
      yield "before four works.";
    },
  };
  await using server = startTestServer({ responder });
  await using retell = await connectAsRetell(server.url("call_update"));
  await retell.take(2);

  retell.send(responseRequired(1, [said("user", "Afternoon works,")]));
  assert.deepStrictEqual(await retell.next(), chunk(1, "Sure, "));
  retell.send(
    updateOnly(
      [said("user", "Afternoon works, but not after four.")],
      "user_turn",
    ),
  );
  retell.send(ping(7));
  assert.deepStrictEqual(await retell.next(), pong(7));
  release.resolve();
  assert.deepStrictEqual(await retell.untilComplete(1), [
    chunk(1, "before four works."),
    done(1),
  ]);
  assert.equal(aborted, false);
});

Deno.test("session completes the turn with a fallback when the responder fails", async (t) => {
  const release = gate();
  const responder: Responder = {
    begin: () => "",
    respond(turn, { signal }) {
      switch (turn.responseId) {
        case 1:
          throw new Error("model unavailable");
        case 2:
          return (async function* () {
            yield "Let me check.";
            throw new RangeError("stream broke");
          })();
        case 3:
          // Never answers, but honours its signal.
          return new Promise((_, reject) =>
            signal.addEventListener("abort", () => reject(signal.reason))
          );
        case 4:
          return (async function* () {
            yield "One moment.";
            await release.promise;
          })();
        default:
          return "Recovered.";
      }
    },
  };
  await using server = startTestServer({ responder, responderTimeoutMs: 50 });
  await using retell = await connectAsRetell(server.url("call_fail"));
  await retell.take(2);

  await t.step("when it throws before replying", async () => {
    retell.send(responseRequired(1));
    assert.deepStrictEqual(await retell.next(), done(1, DEFAULT_FALLBACK_TEXT));
  });

  await t.step("when its stream throws midway", async () => {
    retell.send(responseRequired(2));
    assert.deepStrictEqual(await retell.untilComplete(2), [
      chunk(2, "Let me check."),
      done(2, ` ${DEFAULT_FALLBACK_TEXT}`),
    ]);
  });

  await t.step("when it does not answer in time", async () => {
    retell.send(responseRequired(3));
    assert.deepStrictEqual(await retell.next(), done(3, DEFAULT_FALLBACK_TEXT));
  });

  await t.step("when its stream stalls", async () => {
    retell.send(responseRequired(4));
    assert.deepStrictEqual(await retell.untilComplete(4), [
      chunk(4, "One moment."),
      done(4, ` ${DEFAULT_FALLBACK_TEXT}`),
    ]);
    release.resolve();
  });

  await t.step(
    "keeps the call open and logs each failure with call and response id",
    async () => {
      retell.send(responseRequired(5));
      assert.deepStrictEqual(await retell.next(), done(5, "Recovered."));
      const failures = server.logs.events("responder_failed").map((record) => [
        record.call_id,
        record.response_id,
        record.error,
      ]);
      assert.deepStrictEqual(failures, [
        ["call_fail", 1, "model unavailable"],
        ["call_fail", 2, "RangeError: stream broke"],
        [
          "call_fail",
          3,
          "TimeoutError: No reply from the responder within 50 ms",
        ],
        [
          "call_fail",
          4,
          "TimeoutError: No reply from the responder within 50 ms",
        ],
      ]);
    },
  );
});

Deno.test("session logs bad frames with the call id and carries on", async (t) => {
  await using server = startTestServer();
  await using retell = await connectAsRetell(server.url("call_bad"));
  await retell.take(2);

  const bad: Array<[string, string | Uint8Array, string]> = [
    ["malformed JSON", "{not json", "not_json"],
    ["a JSON array", "[1,2]", "not_event"],
    ["a missing interaction_type", '{"response_id":1}', "not_event"],
    ["a binary frame", new Uint8Array([1, 2, 3]), "binary"],
    [
      "a string response_id",
      '{"interaction_type":"response_required","response_id":"1","transcript":[]}',
      "invalid",
    ],
    ["a missing transcript", '{"interaction_type":"update_only"}', "invalid"],
    [
      "a non-numeric ping timestamp",
      '{"interaction_type":"ping_pong","timestamp":"x"}',
      "invalid",
    ],
  ];
  for (const [name, frame, kind] of bad) {
    await t.step(`rejects ${name}`, async () => {
      const before = server.logs.events("frame_rejected").length;
      retell.sendRaw(frame);
      retell.send(ping(42));
      assert.deepStrictEqual(await retell.next(), pong(42));
      const rejected = server.logs.events("frame_rejected").slice(before);
      assert.equal(rejected.length, 1);
      assert.equal(rejected[0]?.call_id, "call_bad");
      assert.equal(rejected[0]?.kind, kind);
      assert.equal(rejected[0]?.level, "warn");
    });
  }

  await t.step(
    "ignores an unknown interaction_type at info level",
    async () => {
      retell.send({ interaction_type: "future_event", anything: 1 });
      retell.send(ping(43));
      assert.deepStrictEqual(await retell.next(), pong(43));
      const [ignored] = server.logs.events("frame_ignored");
      assert.equal(ignored?.call_id, "call_bad");
      assert.equal(ignored?.level, "info");
    },
  );

  await t.step("still answers requests afterwards", async () => {
    retell.send(responseRequired(1));
    assert.deepStrictEqual(await retell.next(), done(1, REPLY));
  });

  await t.step("ignores a request whose id is not newer", async () => {
    retell.send(responseRequired(1));
    retell.send(ping(44));
    assert.deepStrictEqual(await retell.next(), pong(44));
    assert.equal(server.logs.events("request_out_of_order").length, 1);
  });

  await t.step("counts rejected frames in the summary line", async () => {
    const [call] = server.retell.calls;
    await retell.close();
    const summary = await call?.ended;
    assert.equal(summary?.rejectedFrames, bad.length);
    assert.equal(
      server.logs.events("call_ended")[0]?.rejected_frames,
      bad.length,
    );
  });
});

Deno.test("session keeps two calls with the same ids apart", async () => {
  const releases = new Map([["call_a", gate()], ["call_b", gate()]]);
  const responder: Responder = {
    begin: (call) => `Hello ${call.callId}`,
    async *respond(turn) {
      yield `${turn.call.callId} ${turn.responseId} `;
      await releases.get(turn.call.callId)?.promise;
      yield "end";
    },
  };
  await using server = startTestServer({ responder });
  await using a = await connectAsRetell(server.url("call_a"));
  await using b = await connectAsRetell(server.url("call_b"));
  assert.deepStrictEqual((await a.take(2))[1], done(0, "Hello call_a"));
  assert.deepStrictEqual((await b.take(2))[1], done(0, "Hello call_b"));

  a.send(responseRequired(1));
  b.send(responseRequired(1));
  assert.deepStrictEqual(await a.next(), chunk(1, "call_a 1 "));
  assert.deepStrictEqual(await b.next(), chunk(1, "call_b 1 "));
  // A newer id on call b must not touch call a's response 1.
  b.send(responseRequired(2));
  assert.deepStrictEqual(await b.next(), chunk(2, "call_b 2 "));
  releases.get("call_a")?.resolve();
  assert.deepStrictEqual(await a.untilComplete(1), [chunk(1, "end"), done(1)]);
  releases.get("call_b")?.resolve();
  assert.deepStrictEqual(await b.untilComplete(2), [chunk(2, "end"), done(2)]);
});

Deno.test("session carries actions and tool-call records", async (t) => {
  const responder: Responder = {
    begin: () => "",
    async *respond(turn): AsyncGenerator<ResponsePart> {
      if (turn.responseId === 1) {
        yield "One moment. ";
        yield {
          type: "tool_call_invocation",
          toolCallId: "tc_1",
          name: "lookup",
          arguments: '{"q":1}',
        };
        yield {
          type: "tool_call_result",
          toolCallId: "tc_1",
          content: "found",
          successful: true,
        };
        yield "Found it.";
      } else if (turn.responseId === 2) {
        yield { type: "transfer_call", number: "+14155550123" };
        yield "Transferring you now.";
      } else {
        yield "Goodbye!";
        yield { type: "end_call" };
      }
    },
  };
  await using server = startTestServer({ responder });
  await using retell = await connectAsRetell(server.url("call_actions"));
  await retell.take(2);

  await t.step(
    "sends tool-call records between the pieces of the reply",
    async () => {
      retell.send(responseRequired(1));
      assert.deepStrictEqual(await retell.untilComplete(1), [
        chunk(1, "One moment. "),
        {
          response_type: "tool_call_invocation",
          tool_call_id: "tc_1",
          name: "lookup",
          arguments: '{"q":1}',
        },
        {
          response_type: "tool_call_result",
          tool_call_id: "tc_1",
          content: "found",
          successful: true,
        },
        chunk(1, "Found it."),
        done(1),
      ]);
    },
  );

  await t.step("puts a transfer on the next frame with content", async () => {
    retell.send(responseRequired(2));
    assert.deepStrictEqual(await retell.untilComplete(2), [
      { ...chunk(2, "Transferring you now."), transfer_number: "+14155550123" },
      done(2),
    ]);
  });

  await t.step("puts a trailing end_call on the final frame", async () => {
    retell.send(responseRequired(3));
    assert.deepStrictEqual(await retell.untilComplete(3), [
      chunk(3, "Goodbye!"),
      done(3, "", { end_call: true }),
    ]);
  });
});

Deno.test("session holds the greeting for call_details when the responder asks", async (t) => {
  const responder: Responder = {
    beginAfterCallDetails: true,
    begin: (call) =>
      `Hi ${
        call.details?.retell_llm_dynamic_variables?.customer_name ?? "there"
      }!`,
    respond: () => "",
  };

  await t.step("greets with the details once they arrive", async () => {
    await using server = startTestServer({ responder });
    await using retell = await connectAsRetell(server.url("call_details"));
    assert.deepStrictEqual(await retell.next(), defaultConfig());
    retell.send(ping(1));
    // Nothing but the echo until the details come.
    assert.deepStrictEqual(await retell.next(), pong(1));
    retell.send({
      interaction_type: "call_details",
      call: {
        call_id: "call_details",
        retell_llm_dynamic_variables: { customer_name: "Dana" },
      },
    });
    assert.deepStrictEqual(await retell.next(), done(0, "Hi Dana!"));
  });

  await t.step(
    "greets without them when call_details is not requested",
    async () => {
      await using server = startTestServer({
        responder,
        callConfig: { call_details: false },
      });
      await using retell = await connectAsRetell(server.url("call_nodetails"));
      assert.deepStrictEqual(await retell.take(2), [
        { response_type: "config", config: { call_details: false } },
        done(0, "Hi there!"),
      ]);
    },
  );

  await t.step("skips the greeting when a request comes first", async () => {
    await using server = startTestServer({ responder });
    await using retell = await connectAsRetell(server.url("call_early"));
    await retell.next();
    retell.send(responseRequired(1));
    assert.deepStrictEqual(await retell.next(), done(1, ""));
    retell.send({ interaction_type: "call_details", call: {} });
    retell.send(ping(2));
    assert.deepStrictEqual(await retell.next(), pong(2));
  });
});

Deno.test("session aborts the responder and logs a summary when the call closes", async () => {
  const started = gate();
  const aborted = gate<unknown>();
  let callSignal: AbortSignal | undefined;
  const responder: Responder = {
    begin: () => "",
    respond(turn, { signal }) {
      callSignal = turn.call.signal;
      signal.addEventListener("abort", () => aborted.resolve(signal.reason));
      started.resolve();
      return new Promise(() => {});
    },
  };
  await using server = startTestServer({ responder });
  const retell = await connectAsRetell(server.url("call_close"));
  await retell.take(2);
  retell.send(responseRequired(1));
  await started.promise;
  const [call] = server.retell.calls;
  await retell.close(1000);
  const reason = await aborted.promise;
  assert.equal((reason as DOMException).message, "Call closed");
  assert.equal(callSignal?.aborted, true, "the call's own signal fires too");
  assert.equal((await call?.ended)?.turns, 1);
  assert.equal(
    server.retell.calls.size,
    0,
    "the call leaves the live set once ended",
  );
  const [line] = server.logs.events("call_ended");
  assert.equal(line?.call_id, "call_close");
  assert.equal(line?.turns, 1);
  assert.equal(line?.close_code, 1000);
  assert.equal(typeof line?.duration_ms, "number");
});

Deno.test("session logs one latency record per turn", async (t) => {
  const release = gate();
  const responder: Responder = {
    begin: () => "Hi.",
    async *respond(turn, { mark }) {
      if (turn.responseId === 1) {
        await release.promise;
        return;
      }
      mark("first_token");
      mark("first_token");
      yield "Hello.";
    },
  };
  await using server = startTestServer({ responder });
  await using retell = await connectAsRetell(server.url("call_latency"));
  await retell.take(2);
  retell.send(responseRequired(1));
  retell.send(responseRequired(2));
  await retell.untilComplete(2);
  release.resolve();
  retell.send(ping(1));
  await retell.next();

  const records = server.logs.events("turn_finished");
  const byId = new Map(records.map((record) => [record.response_id, record]));

  await t.step(
    "records when the first frame went out and when the turn ended",
    () => {
      const begin = byId.get(0);
      assert.equal(begin?.outcome, "completed");
      assert.equal(typeof begin?.first_frame_ms, "number");
      assert.equal(typeof begin?.total_ms, "number");
    },
  );

  await t.step("includes the responder's own marks, first one only", () => {
    const answered = byId.get(2);
    assert.equal(answered?.call_id, "call_latency");
    assert.equal(answered?.outcome, "completed");
    const firstToken = answered?.first_token_ms as number;
    const firstFrame = answered?.first_frame_ms as number;
    const total = answered?.total_ms as number;
    assert.ok(
      firstToken <= firstFrame && firstFrame <= total,
      JSON.stringify(answered),
    );
  });

  await t.step("marks a superseded turn as such", () => {
    assert.equal(byId.get(1)?.outcome, "superseded");
    assert.equal(byId.get(1)?.first_frame_ms, undefined);
  });
});

/** A responder that greets, then names the caller from the call's details. */
function namingResponder(): Responder {
  return {
    begin: () => GREETING,
    respond: (turn) =>
      `Hi ${
        turn.call.details?.retell_llm_dynamic_variables?.name ?? "nobody"
      }, turn ${turn.responseId}.`,
  };
}

/** `call_details` for `callId` with the caller's name as a dynamic variable. */
function detailsNaming(callId: string, name: string) {
  return {
    interaction_type: "call_details",
    call: { call_id: callId, retell_llm_dynamic_variables: { name } },
  };
}

Deno.test("session continues a call the store knows, without a second greeting", async (t) => {
  const store = createMemoryCallStore({ ttlMs: 3_600_000 });
  await using server = startTestServer({
    responder: namingResponder(),
    callStore: store,
  });
  const callId = "call_again";

  await t.step(
    "a new call is greeted, marked and its details saved",
    async () => {
      await using first = await connectAsRetell(server.url(callId));
      assert.deepStrictEqual(await first.take(2), [
        defaultConfig(),
        done(0, GREETING),
      ]);
      first.send(detailsNaming(callId, "Dana"));
      first.send(responseRequired(4, [said("user", "Hello?")]));
      assert.deepStrictEqual(await first.next(), done(4, "Hi Dana, turn 4."));
      const record = await store.get(callId);
      assert.equal(record?.greeted, true);
      assert.deepStrictEqual(
        record?.details,
        detailsNaming(callId, "Dana").call,
      );
      assert.equal(server.logs.events("call_reconnected").length, 0);
    },
  );

  await t.step(
    "a new socket gets config, no greeting, and any response_id answered with the saved details",
    async () => {
      await using second = await connectAsRetell(server.url(callId));
      assert.deepStrictEqual(await second.next(), defaultConfig());
      // A greeting would come before the echo: the store answered at open.
      second.send(ping(7));
      assert.deepStrictEqual(await second.next(), pong(7));
      // Numbering restarted below the first socket's 4: still answered.
      second.send(responseRequired(1, [said("user", "Are you there?")]));
      assert.deepStrictEqual(await second.next(), done(1, "Hi Dana, turn 1."));
    },
  );

  await t.step(
    "logs call_reconnected with the gap since the last activity",
    () => {
      const [line] = server.logs.events("call_reconnected");
      assert.equal(line?.call_id, callId);
      assert.equal(line?.details_restored, true);
      assert.equal(typeof line?.gap_ms, "number");
      assert.ok((line?.gap_ms as number) >= 0, JSON.stringify(line));
    },
  );

  await t.step(
    "details Retell sends again win over the saved ones",
    async () => {
      await using third = await connectAsRetell(server.url(callId));
      assert.deepStrictEqual(await third.next(), defaultConfig());
      third.send(detailsNaming(callId, "Sam"));
      third.send(responseRequired(2));
      assert.deepStrictEqual(await third.next(), done(2, "Hi Sam, turn 2."));
      assert.equal(
        (await store.get(callId))?.details?.retell_llm_dynamic_variables?.name,
        "Sam",
      );
    },
  );
});

Deno.test("session greets with saved details a call the store knows but never greeted", async () => {
  const store = createMemoryCallStore({ ttlMs: 3_600_000 });
  await store.saveDetails(
    "call_saved",
    detailsNaming("call_saved", "Ana").call,
  );
  const responder: Responder = {
    beginAfterCallDetails: true,
    begin: (call) =>
      `Hi ${call.details?.retell_llm_dynamic_variables?.name ?? "there"}!`,
    respond: () => "",
  };
  await using server = startTestServer({ responder, callStore: store });
  await using retell = await connectAsRetell(server.url("call_saved"));
  // No wait for call_details: the saved ones fill the greeting at once.
  assert.deepStrictEqual(await retell.take(2), [
    defaultConfig(),
    done(0, "Hi Ana!"),
  ]);
  assert.equal(server.logs.events("call_reconnected").length, 0);
});

Deno.test("session keeps the call going when the store fails", async () => {
  const fail = (operation: string) => () => {
    throw new Error(`Cannot ${operation}: the test store is down`);
  };
  const broken: CallStore = {
    get: () => Promise.reject(new Error("Cannot get: the test store is down")),
    markGreeted: fail("markGreeted"),
    saveDetails: () =>
      Promise.reject(new Error("Cannot saveDetails: the test store is down")),
    touch: fail("touch"),
    claimToolRun: fail("claimToolRun"),
    getToolRun: fail("getToolRun"),
    saveToolResult: fail("saveToolResult"),
    close: () => Promise.resolve(),
  };
  await using server = startTestServer({
    responder: namingResponder(),
    callStore: broken,
  });
  const retell = await connectAsRetell(server.url("call_broken"));
  assert.deepStrictEqual(await retell.take(2), [
    defaultConfig(),
    done(0, GREETING),
  ]);
  retell.send(detailsNaming("call_broken", "Lee"));
  retell.send(responseRequired(1));
  assert.deepStrictEqual(await retell.next(), done(1, "Hi Lee, turn 1."));
  const [call] = server.retell.calls;
  await retell.close();
  assert.equal((await call?.ended)?.turns, 1);
  const failures = server.logs.events("call_store_failed");
  assert.deepStrictEqual(
    failures.map((line) => [line.call_id, line.operation]),
    [
      ["call_broken", "get"],
      ["call_broken", "markGreeted"],
      ["call_broken", "saveDetails"],
      ["call_broken", "touch"],
      ["call_broken", "touch"],
    ],
  );
  assert.match(String(failures[0]?.error), /the test store is down/);
  assert.equal(server.logs.events("call_ended")[0]?.errors, 0);
});
