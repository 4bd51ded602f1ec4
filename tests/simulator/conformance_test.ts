import assert from "node:assert/strict";
import {
  type ConformanceChecker,
  type ConformanceOptions,
  createConformanceChecker,
} from "../../src/simulator/conformance.ts";
import type { Violation } from "../../src/simulator/violation.ts";
import {
  chunk,
  defaultConfig,
  done,
  ping,
  pong,
  reminderRequired,
  responseRequired,
  said,
} from "../_support/frames.ts";
import { emptyRecord } from "../../src/simulator/response_record.ts";
import type { Frame } from "../_support/retell_client.ts";

/**
 * A checker on a fake clock that the test moves with `clock.advance`; the
 * server is held to a request at once unless `inFlightGraceMs` says otherwise.
 */
function setup(options: Omit<ConformanceOptions, "now"> = {}): {
  checker: ConformanceChecker;
  clock: { ms: number; advance(ms: number): void };
} {
  const clock = {
    ms: 1000,
    advance(ms: number) {
      clock.ms += ms;
    },
  };
  const checker = createConformanceChecker({
    inFlightGraceMs: 0,
    ...options,
    now: () => clock.ms,
  });
  return { checker, clock };
}

/** A frame as the JSON text the server sends. */
function text(frame: Frame): string {
  return JSON.stringify(frame);
}

const CONFIG = text(defaultConfig());
const BEGIN = text(done(0, "Hello, how can I help?"));

function codes(violations: readonly Violation[]): string[] {
  return violations.map((v) => v.code);
}

/** Asserts `violations` is exactly one violation of `code`, whose message contains each of `words`, and returns it. */
function assertOne(
  violations: readonly Violation[],
  code: Violation["code"],
  ...words: string[]
): Violation {
  assert.deepStrictEqual(codes(violations), [code], JSON.stringify(violations));
  const violation = violations[0]!;
  assert.ok(violation.rule.startsWith("§"), violation.rule);
  assert.ok(
    !violation.message.includes("\n"),
    `message should be one line: ${violation.message}`,
  );
  assert.match(violation.message, /^[A-Z].*\.$/, violation.message);
  for (const word of words) {
    assert.ok(
      violation.message.includes(word),
      `message should contain ${JSON.stringify(word)}: ${violation.message}`,
    );
  }
  return violation;
}

/** Asserts `checker` recorded no violation at all. */
function assertClean(checker: ConformanceChecker): void {
  assert.deepStrictEqual(
    checker.violations,
    [],
    JSON.stringify(checker.violations),
  );
}

Deno.test("a clean full conversation produces no violation", () => {
  const { checker, clock } = setup();
  const seen: string[] = [];
  const receive = (data: unknown) => {
    const result = checker.receive(data);
    seen.push(...codes(result.violations));
    return result;
  };
  assert.equal(receive(CONFIG).event?.response_type, "config");
  clock.advance(20);
  receive(text(chunk(0, "Hello, ")));
  receive(text(chunk(0, "how can I help?")));
  receive(text(done(0, "")));
  assert.equal(checker.response(0)?.status, "complete");

  for (let tick = 0; tick < 3; tick++) {
    clock.advance(2000);
    checker.sent(ping(1767225600000 + tick * 2000));
    clock.advance(5);
    receive(text(pong(1767225600000 + tick * 2000)));
    seen.push(...codes(checker.check()));
  }

  // Discard-and-re-ask: request 1 is superseded by 2 mid-stream (§5.1).
  checker.sent(responseRequired(1));
  receive(text(chunk(1, "Our hours")));
  clock.advance(300);
  checker.sent(responseRequired(2));
  assert.equal(checker.latestResponseId, 2);
  receive(
    JSON.stringify({
      response_type: "tool_call_invocation",
      tool_call_id: "t1",
      name: "hours",
      arguments: "{}",
    }),
  );
  receive(
    JSON.stringify({
      response_type: "tool_call_result",
      tool_call_id: "t1",
      content: "9 to 5",
      successful: true,
    }),
  );
  receive(
    JSON.stringify({
      response_type: "update_agent",
      agent_config: { responsiveness: 0.5 },
    }),
  );
  receive(
    JSON.stringify({ response_type: "metadata", metadata: { step: 2 } }),
  );
  receive(text(chunk(2, "We are open ")));
  receive(text(chunk(2, "9 to 5.")));
  receive(text(done(2, "")));
  assert.equal(checker.response(2)?.status, "complete");
  assert.equal(checker.response(1)?.status, "superseded");

  clock.advance(20000);
  checker.sent(reminderRequired(3));
  receive(text(done(3, "Are you still there?")));
  receive(
    JSON.stringify({
      response_type: "agent_interrupt",
      interrupt_id: 1,
      content: "One more thing.",
      content_complete: true,
    }),
  );
  checker.sent(responseRequired(4));
  receive(text(done(4, "Goodbye!", { end_call: true })));
  clock.advance(60000);
  seen.push(...codes(checker.check()));
  seen.push(...codes(checker.closed(1000, true)));
  assert.deepStrictEqual(seen, []);
  assertClean(checker);
});

Deno.test("the begin message streamed in several chunks is fine", () => {
  const { checker, clock } = setup();
  for (const piece of ["Hi ", "there, ", "this is ", "Ava."]) {
    assert.deepStrictEqual(
      checker.receive(text(chunk(0, piece))).violations,
      [],
    );
    clock.advance(200);
  }
  assert.equal(checker.response(0)?.status, "streaming");
  checker.receive(text(done(0, "")));
  assert.equal(checker.response(0)?.status, "complete");
  clock.advance(20000);
  assert.deepStrictEqual(checker.check(), []);
  assert.deepStrictEqual(checker.closed(1000, false), []);
  assertClean(checker);
});

Deno.test("an empty begin message (caller speaks first) is fine", () => {
  const { checker } = setup();
  checker.receive(text(done(0, "")));
  assert.deepStrictEqual(checker.closed(1000, false), []);
});

Deno.test("receive() returns the event and appends its violations to `violations`", () => {
  const { checker, clock } = setup();
  clock.advance(1234);
  const result = checker.receive("nope");
  assert.equal(result.event, undefined);
  assert.equal(result.violations.length, 1);
  assert.deepStrictEqual(checker.violations, result.violations);
  assert.equal(result.violations[0]!.at, 1234);
  const begin = checker.receive(BEGIN);
  assert.deepStrictEqual(begin.event, JSON.parse(BEGIN));
  assert.deepStrictEqual(begin.violations, []);
  checker.receive("still nope");
  assert.deepStrictEqual(codes(checker.violations), ["not_json", "not_json"]);
});

Deno.test("not_json: a text frame that is not JSON", () => {
  const { checker } = setup();
  const v = assertOne(
    checker.receive("Hello, how can I help?").violations,
    "not_json",
    "Hello, how can I help?",
    "not JSON",
  );
  assert.equal(v.rule, "§4.0, §6");
  assert.equal(v.responseId, undefined);
  const long = checker.receive("x".repeat(500)).violations[0]!;
  assert.ok(long.message.length < 300, long.message);
});

Deno.test("not_json negative: valid JSON is not reported", () => {
  const { checker } = setup();
  assert.deepStrictEqual(checker.receive(BEGIN).violations, []);
});

Deno.test("not_event: JSON that is not an object with a string response_type", () => {
  for (const text of ["[]", "null", '"x"', "42", '{"response_type":1}']) {
    const { checker } = setup();
    const v = assertOne(checker.receive(text).violations, "not_event");
    assert.equal(v.rule, "§1.4, §8.2");
  }
});

Deno.test("not_event negative: an object with response_type is not reported", () => {
  const { checker } = setup();
  assert.deepStrictEqual(checker.receive(CONFIG).violations, []);
});

Deno.test("missing_response_type: an old-style response is reported but still used", () => {
  const { checker } = setup();
  const result = checker.receive(
    JSON.stringify({ response_id: 0, content: "Hi", content_complete: true }),
  );
  const v = assertOne(
    result.violations,
    "missing_response_type",
    "response_type",
  );
  assert.equal(v.rule, "§4.0, §8.4");
  assert.equal(v.responseId, 0);
  assert.deepStrictEqual(result.event, {
    response_type: "response",
    response_id: 0,
    content: "Hi",
    content_complete: true,
  });
  // It counted as the begin message and completed it.
  assert.equal(checker.response(0)?.status, "complete");
  assert.deepStrictEqual(checker.closed(1000, false), []);
});

Deno.test("missing_response_type: a frame that is not a response either is dropped", () => {
  const { checker } = setup();
  const result = checker.receive(JSON.stringify({ timestamp: 1 }));
  assert.equal(result.event, undefined);
  assertOne(
    result.violations,
    "missing_response_type",
    "response_type",
    // Three issues are named, the unknown "timestamp" key is the fourth.
    "and 1 more",
  );
});

Deno.test("missing_response_type: the old-style reading is held to the response-id rules", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  checker.sent(responseRequired(2));
  const result = checker.receive(
    JSON.stringify({ response_id: 1, content: "Hi", content_complete: true }),
  );
  assert.deepStrictEqual(codes(result.violations), [
    "missing_response_type",
    "stale_response",
  ]);
});

Deno.test("missing_response_type negative: a frame with response_type is not reported", () => {
  const { checker } = setup();
  assert.deepStrictEqual(
    checker.receive(text(done(0, "Hi"))).violations,
    [],
  );
});

Deno.test("unknown_response_type: a response_type Retell does not know", () => {
  const { checker } = setup();
  const result = checker.receive(
    JSON.stringify({ response_type: "pingpong", content: 1 }),
  );
  assert.equal(result.event, undefined);
  const v = assertOne(result.violations, "unknown_response_type", '"pingpong"');
  assert.equal(v.rule, "§4, §4.0");
  assertOne(
    checker.receive('{"response_type":"__proto__"}').violations,
    "unknown_response_type",
    '"__proto__"',
  );
});

Deno.test("unknown_response_type negative: every documented type is known", () => {
  const { checker } = setup();
  checker.receive(CONFIG);
  checker.receive(BEGIN);
  checker.receive(
    JSON.stringify({
      response_type: "agent_interrupt",
      interrupt_id: 1,
      content: "Hey",
      content_complete: true,
    }),
  );
  checker.receive(
    JSON.stringify({ response_type: "update_agent", agent_config: {} }),
  );
  checker.receive(JSON.stringify({ response_type: "metadata", metadata: {} }));
  assertClean(checker);
});

Deno.test('invalid_frame: content_complete as the string "true"', () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  const result = checker.receive(
    text({ ...done(1, "Sure."), content_complete: "true" }),
  );
  assert.equal(result.event, undefined);
  const v = assertOne(
    result.violations,
    "invalid_frame",
    "Response 1",
    '"content_complete": "true"',
    "string",
    "JSON boolean true",
    "does not complete",
  );
  assert.equal(v.rule, "§4.0, §8.9");
  assert.equal(v.responseId, 1);
  // Retell dropped the frame, so the response never completed.
  assert.equal(checker.response(1)?.status, "waiting");
  assertOne(checker.closed(1000, false), "never_completed", "Response 1");
});

Deno.test("invalid_frame: wrong types and unknown keys are named", () => {
  const { checker } = setup();
  assertOne(
    checker.receive(text({ ...done(0, "Hi"), response_id: "1" })).violations,
    "invalid_frame",
    "response_id",
  );
  assertOne(
    checker.receive(text({ ...done(0, "Hi"), contnet: "x" })).violations,
    "invalid_frame",
    '"contnet"',
  );
  assertOne(
    checker.receive(
      JSON.stringify({ response_type: "ping_pong", timestamp: "1" }),
    )
      .violations,
    "invalid_frame",
    "timestamp",
  );
});

Deno.test("invalid_frame: messages are plain words, without the parser's prefixes", () => {
  const { checker } = setup();
  checker.receive(text({ ...done(0, "Hi"), contnet: "x" }));
  checker.receive(JSON.stringify({ response_id: 0, content: 5 }));
  checker.receive(JSON.stringify([1]));
  checker.receive(JSON.stringify({ response_type: 3 }));
  assert.equal(checker.violations.length, 4);
  for (const v of checker.violations) {
    assert.ok(!v.message.includes("Cannot read frame"), v.message);
    assert.ok(!v.message.includes("(root)"), v.message);
    assert.ok(!v.message.includes("Cannot read response frame"), v.message);
  }
});

Deno.test("invalid_frame: null for an optional field is reported, but the response still counts as Retell tolerates it", () => {
  const { checker } = setup();
  const result = checker.receive(
    text({ ...done(0, "Hi"), transfer_number: null, digit_to_press: null }),
  );
  assertOne(
    result.violations,
    "invalid_frame",
    '"transfer_number", "digit_to_press"',
    "tolerates",
  );
  assert.equal(result.violations[0]!.responseId, 0);
  assert.deepStrictEqual(
    result.event,
    JSON.parse(BEGIN.replace("Hello, how can I help?", "Hi")),
  );
  assert.equal(checker.response(0)?.status, "complete");
  assert.deepStrictEqual(checker.closed(1000, false), []);
});

Deno.test("invalid_frame: null for a required field drops the frame", () => {
  const { checker } = setup();
  const result = checker.receive(
    text({ ...done(0), content: null, transfer_number: null }),
  );
  assert.equal(result.event, undefined);
  assertOne(result.violations, "invalid_frame", "content", "drops it");
  assert.equal(checker.response(0)?.status, "waiting");
});

Deno.test("invalid_frame negative: a JSON boolean is fine", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  assert.deepStrictEqual(
    checker.receive(text(done(1, "Sure."))).violations,
    [],
  );
  assert.equal(checker.response(1)?.status, "complete");
});

Deno.test("binary_frame: any non-string payload", () => {
  const frames: [unknown, string][] = [
    [new TextEncoder().encode(BEGIN), `${BEGIN.length} bytes`],
    [new ArrayBuffer(3), "3 bytes"],
    [new Blob(["abcd"]), "4 bytes"],
  ];
  for (const [data, size] of frames) {
    const { checker } = setup();
    const result = checker.receive(data);
    assert.equal(result.event, undefined);
    const v = assertOne(result.violations, "binary_frame", size, "1007");
    assert.equal(v.rule, "§1.4, §8.2");
  }
});

Deno.test("binary_frame negative: a text frame is not binary", () => {
  const { checker } = setup();
  assert.deepStrictEqual(checker.receive(BEGIN).violations, []);
});

Deno.test("config_not_first: config after another frame", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  const v = assertOne(
    checker.receive(CONFIG).violations,
    "config_not_first",
    "1 other frame",
  );
  assert.equal(v.rule, "§2, §8.3");
  // A second config is not first either.
  assertOne(
    checker.receive(CONFIG).violations,
    "config_not_first",
    "2 other frames",
  );
});

Deno.test("config_not_first: a bad frame before config still counts", () => {
  const { checker } = setup();
  checker.receive("garbage");
  assertOne(checker.receive(CONFIG).violations, "config_not_first");
});

Deno.test("config_not_first negative: config first, or no config at all", () => {
  const first = setup().checker;
  first.receive(CONFIG);
  first.receive(BEGIN);
  assertClean(first);
  const none = setup().checker;
  none.receive(BEGIN);
  assertClean(none);
});

Deno.test("no_begin: nothing under response_id 0 within the deadline", () => {
  const { checker, clock } = setup();
  checker.receive(CONFIG);
  clock.advance(5000);
  assert.deepStrictEqual(checker.check(), []);
  clock.advance(1);
  const v = assertOne(checker.check(), "no_begin", "response_id 0", "5 s");
  assert.equal(v.rule, "§2, §8.3");
  assert.equal(v.at, 5001);
  clock.advance(10000);
  assert.deepStrictEqual(checker.check(), []);
  assert.deepStrictEqual(checker.closed(1000, false), []);
  assertOne(checker.violations, "no_begin");
});

Deno.test("no_begin: closing before the deadline without a begin message", () => {
  const { checker, clock } = setup();
  clock.advance(1500);
  assertOne(checker.closed(1000, false), "no_begin", "closed 1.5 s");
});

Deno.test("no_begin: the deadline is configurable", () => {
  const { checker, clock } = setup({ beginDeadlineMs: 100 });
  clock.advance(101);
  assertOne(checker.check(), "no_begin", "0.1 s");
});

Deno.test("no_begin negative: a begin message before the deadline, even if not yet complete", () => {
  const { checker, clock } = setup();
  clock.advance(4000);
  checker.receive(text(chunk(0, "Hi")));
  clock.advance(2000);
  assert.deepStrictEqual(checker.check(), []);
  checker.receive(text(done(0, "")));
  assert.deepStrictEqual(checker.closed(1000, false), []);
});

Deno.test("reconnected: no begin message is expected on a socket Retell reconnected", () => {
  const { checker, clock } = setup({ reconnected: true });
  checker.receive(CONFIG);
  clock.advance(6000);
  assert.deepStrictEqual(checker.check(), []);
  checker.sent(responseRequired(4));
  checker.receive(text(done(4, "Still here.")));
  assert.deepStrictEqual(checker.closed(1000, false), []);
  assertClean(checker);
});

Deno.test("begin_repeated: a begin message on a socket Retell reconnected", () => {
  const { checker } = setup({ reconnected: true });
  checker.receive(CONFIG);
  const v = assertOne(
    checker.receive(text(chunk(0, "Hello "))).violations,
    "begin_repeated",
    "response 0",
    "reconnected",
  );
  assert.equal(v.rule, "§5.7, §11");
  assert.equal(v.responseId, 0);
  // Reported once, not once per chunk.
  assert.deepStrictEqual(checker.receive(BEGIN).violations, []);
});

Deno.test("stale_response: content for an id a newer request superseded", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  checker.receive(text(chunk(1, "Let me ")));
  checker.sent(responseRequired(2));
  const v = assertOne(
    checker.receive(text(chunk(1, "check."))).violations,
    "stale_response",
    "Response 1",
    "response 2",
  );
  assert.equal(v.rule, "§5.1, §8.7");
  assert.equal(v.responseId, 1);
  // Reported once per id, not once per chunk.
  assert.deepStrictEqual(checker.receive(text(done(1, ""))).violations, []);
  assert.equal(checker.response(1)?.status, "superseded");
  assertOne(checker.violations, "stale_response");
});

Deno.test("stale_response: the begin message once a request was sent", () => {
  const { checker } = setup();
  checker.sent(responseRequired(1));
  assertOne(
    checker.receive(BEGIN).violations,
    "stale_response",
    "begin message",
    "response 1",
  );
});

Deno.test("stale_response negative: content for the latest id", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  checker.sent(responseRequired(2));
  checker.receive(text(done(2, "Yes.")));
  assertClean(checker);
});

Deno.test("after_complete: content for an id already complete", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(3));
  checker.receive(text(done(3, "Done.")));
  const v = assertOne(
    checker.receive(text(chunk(3, " Anything else?"))).violations,
    "after_complete",
  );
  assert.equal(
    v.message,
    "Response 3 was sent after response 3 was already complete (content_complete: true); Retell ignores it.",
  );
  assert.equal(v.rule, "§5.1, §8.7");
  assert.equal(v.responseId, 3);
  assert.deepStrictEqual(checker.receive(text(done(3, ""))).violations, []);
});

Deno.test("after_complete: more begin message after it completed", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  assertOne(
    checker.receive(text(done(0, "Hello?"))).violations,
    "after_complete",
    "begin message",
  );
});

Deno.test("after_complete: wins over stale for a completed, superseded id", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  checker.receive(text(done(1, "Hi")));
  checker.sent(responseRequired(2));
  assertOne(
    checker.receive(text(done(1, "again"))).violations,
    "after_complete",
  );
});

Deno.test("after_complete negative: chunks before the final one", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  checker.receive(text(chunk(1, "One, ")));
  checker.receive(text(chunk(1, "two, ")));
  checker.receive(text(done(1, "three.")));
  assertClean(checker);
});

Deno.test("unrequested_response: an id Retell never asked for", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  const v = assertOne(
    checker.receive(text(done(1, "Hi"))).violations,
    "unrequested_response",
    "Response 1",
    "not asked",
  );
  assert.equal(v.rule, "§4.2, §5.1");
  assert.equal(v.responseId, 1);
  checker.sent(responseRequired(1));
  assertOne(
    checker.receive(text(done(5, "Hi"))).violations,
    "unrequested_response",
    "Response 5",
    "up to 1",
  );
  assert.equal(checker.response(5), undefined);
});

Deno.test("unrequested_response negative: the requested id", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  checker.receive(text(done(1, "Hi")));
  assertClean(checker);
});

Deno.test("never_completed: the latest request left open past the deadline", () => {
  const { checker, clock } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  checker.receive(text(chunk(1, "Let me check")));
  clock.advance(15000);
  assert.deepStrictEqual(checker.check(), []);
  clock.advance(1);
  const v = assertOne(
    checker.check(),
    "never_completed",
    "Response 1",
    "15 s",
    "content_complete: true",
  );
  assert.equal(v.rule, "§5.2, §8.6");
  assert.equal(v.responseId, 1);
  // Reported once, not again by later checks or at close.
  clock.advance(15000);
  assert.deepStrictEqual(checker.check(), []);
  assert.deepStrictEqual(checker.closed(1000, false), []);
});

Deno.test("never_completed: a request with no answer at all", () => {
  const { checker, clock } = setup({ responseDeadlineMs: 1000 });
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  clock.advance(1001);
  assertOne(
    checker.check(),
    "never_completed",
    "Response 1",
    "1 s",
    "no frame",
  );
});

Deno.test("never_completed: still open when the socket closes", () => {
  const { checker, clock } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(2));
  checker.receive(text(chunk(2, "Hmm")));
  clock.advance(2500);
  assertOne(
    checker.closed(1000, false),
    "never_completed",
    "Response 2",
    "2.5 s",
  );
});

Deno.test("never_completed: a begin message that never completes", () => {
  const { checker } = setup();
  checker.receive(text(chunk(0, "Hello")));
  assertOne(checker.closed(1000, false), "never_completed", "begin message");
});

Deno.test("never_completed negative: superseded ids never count", () => {
  const { checker, clock } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  checker.receive(text(chunk(1, "Our hours are")));
  clock.advance(10000);
  checker.sent(responseRequired(2));
  clock.advance(10000);
  checker.sent(responseRequired(3));
  checker.receive(text(done(3, "Nine to five.")));
  clock.advance(60000);
  assert.deepStrictEqual(checker.check(), []);
  assert.deepStrictEqual(checker.closed(1000, false), []);
  assertClean(checker);
});

Deno.test("never_completed negative: a superseded begin message never counts", () => {
  const { checker } = setup();
  checker.receive(text(chunk(0, "Hel")));
  checker.sent(responseRequired(1));
  checker.receive(text(done(1, "")));
  assert.deepStrictEqual(checker.closed(1000, false), []);
});

Deno.test("never_completed negative: completed within the deadline", () => {
  const { checker, clock } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  clock.advance(14000);
  checker.receive(text(done(1, "Sorry for the wait.")));
  clock.advance(5000);
  assert.deepStrictEqual(checker.check(), []);
  assert.deepStrictEqual(checker.closed(1000, false), []);
});

Deno.test("ping_late: an echo after the deadline, before any check()", () => {
  const { checker, clock } = setup();
  checker.receive(BEGIN);
  checker.sent(ping(1767225600000));
  clock.advance(6200);
  const v = assertOne(
    checker.receive(text(pong(1767225600000))).violations,
    "ping_late",
    "1767225600000",
    "1.2 s late",
    "6.2 s",
  );
  assert.equal(v.rule, "§4.4, §5.7, §8.5");
  assert.deepStrictEqual(checker.check(), []);
  assert.deepStrictEqual(checker.closed(1000, false), []);
});

Deno.test("ping_late negative: a prompt echo, and one exactly at the deadline", () => {
  const { checker, clock } = setup();
  checker.receive(BEGIN);
  checker.sent(ping(1));
  clock.advance(3);
  checker.receive(text(pong(1)));
  checker.sent(ping(2));
  clock.advance(5000);
  checker.receive(text(pong(2)));
  assert.deepStrictEqual(checker.check(), []);
  assertClean(checker);
});

Deno.test("ping_missing: no echo within the deadline", () => {
  const { checker, clock } = setup();
  checker.receive(BEGIN);
  checker.sent(ping(1767225600000));
  clock.advance(5001);
  const v = assertOne(checker.check(), "ping_missing", "1767225600000", "5 s");
  assert.equal(v.rule, "§4.4, §5.7, §8.5");
  assert.deepStrictEqual(checker.check(), []);
  // The echo turning up later is not a second violation.
  clock.advance(1000);
  assert.deepStrictEqual(
    checker.receive(text(pong(1767225600000))).violations,
    [],
  );
  assert.deepStrictEqual(checker.closed(1000, false), []);
  assertOne(checker.violations, "ping_missing");
});

Deno.test("ping_missing: never echoed by the close", () => {
  const { checker, clock } = setup();
  checker.receive(BEGIN);
  checker.sent(ping(10));
  checker.sent(ping(20));
  clock.advance(7000);
  assert.deepStrictEqual(codes(checker.closed(1000, false)), [
    "ping_missing",
    "ping_missing",
  ]);
});

Deno.test("ping_missing negative: a ping sent just before the close still had time", () => {
  const { checker, clock } = setup();
  checker.receive(BEGIN);
  checker.sent(ping(10));
  clock.advance(1);
  assert.deepStrictEqual(checker.closed(1000, false), []);
});

Deno.test("ping_missing: the deadline is configurable", () => {
  const { checker, clock } = setup({ pingDeadlineMs: 500 });
  checker.receive(BEGIN);
  checker.sent(ping(10));
  clock.advance(400);
  assert.deepStrictEqual(checker.check(), []);
  clock.advance(101);
  assertOne(checker.check(), "ping_missing", "0.5 s");
});

Deno.test("ping_unknown: an echo of a timestamp never sent", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(ping(1767225600000));
  const v = assertOne(
    checker.receive(text(pong(Date.UTC(2030, 0, 1)))).violations,
    "ping_unknown",
    String(Date.UTC(2030, 0, 1)),
  );
  assert.equal(v.rule, "§4.4");
});

Deno.test("ping_unknown: a second echo of the same ping", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(ping(1767225600000));
  checker.receive(text(pong(1767225600000)));
  assertOne(
    checker.receive(text(pong(1767225600000))).violations,
    "ping_unknown",
    "second time",
  );
});

Deno.test("ping_unknown negative: two pings with the same timestamp, each echoed", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(ping(5));
  checker.sent(ping(5));
  checker.receive(text(pong(5)));
  checker.receive(text(pong(5)));
  assertClean(checker);
});

Deno.test("bad_close_code: the server closes with a code other than 1000", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  const v = assertOne(
    checker.closed(1011, true),
    "bad_close_code",
    "1011",
    "1000",
  );
  assert.equal(v.rule, "§5.8, §8.12");
});

Deno.test("bad_close_code: no status code (1005) is named as such", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  assertOne(
    checker.closed(1005, true),
    "bad_close_code",
    "without a status code",
  );
});

Deno.test("bad_close_code negative: 1000 or a drop (1006) from the server, any code from the client", () => {
  for (
    const [code, byServer] of [[1000, true], [1006, true], [1011, false], [
      1006,
      false,
    ]] as const
  ) {
    const { checker } = setup();
    checker.receive(BEGIN);
    assert.deepStrictEqual(checker.closed(code, byServer), []);
  }
});

Deno.test("closed() reports everything left, once; later calls report nothing", () => {
  const { checker, clock } = setup();
  checker.sent(responseRequired(1));
  checker.sent(ping(1));
  clock.advance(6000);
  const final = checker.closed(4000, true);
  assert.deepStrictEqual(codes(final), [
    "bad_close_code",
    "no_begin",
    "never_completed",
    "ping_missing",
  ]);
  assert.deepStrictEqual(checker.closed(4000, true), []);
  assert.deepStrictEqual(checker.check(), []);
  assert.deepStrictEqual(checker.violations, final);
});

Deno.test("check() reports each time-based violation once", () => {
  const { checker, clock } = setup();
  checker.sent(ping(1));
  checker.sent(responseRequired(1));
  clock.advance(16000);
  assert.deepStrictEqual(codes(checker.check()), [
    "no_begin",
    "ping_missing",
    "never_completed",
  ]);
  for (let i = 0; i < 5; i++) {
    clock.advance(1000);
    assert.deepStrictEqual(checker.check(), []);
  }
  assert.equal(checker.violations.length, 3);
});

Deno.test("sent() keeps the newest request; an older or repeated id changes nothing", () => {
  const { checker } = setup();
  assert.equal(checker.latestResponseId, 0);
  checker.sent(responseRequired(2));
  checker.sent(responseRequired(1));
  checker.sent(responseRequired(2));
  assert.equal(checker.latestResponseId, 2);
});

Deno.test("`at` counts from when the checker was created", () => {
  const { checker, clock } = setup();
  clock.advance(250);
  const v = checker.receive(new Uint8Array(1)).violations[0]!;
  assert.equal(v.at, 250);
});

Deno.test("the default clock is performance.now", () => {
  const checker = createConformanceChecker();
  const v = checker.receive("x").violations[0]!;
  assert.ok(v.at >= 0 && v.at < 1000, String(v.at));
});

Deno.test("sent() opens a record per request, which follows what Retell speaks", () => {
  const { checker, clock } = setup();
  checker.receive(BEGIN);
  assert.equal(
    checker.sent(responseRequired(1, [said("user", "Is Friday free?")])),
    undefined,
  );
  assert.deepStrictEqual(checker.response(1), {
    ...emptyRecord(1, "response"),
    said: "Is Friday free?",
  });
  clock.advance(30);
  const first = checker.receive(text(chunk(1, "Let me ")));
  assert.deepStrictEqual(first.outcome, {
    type: "spoken",
    content: "Let me ",
    response: {
      ...emptyRecord(1, "response", "streaming"),
      said: "Is Friday free?",
      text: "Let me ",
      frames: 1,
      firstFrameMs: 30,
    },
  });
  clock.advance(20);
  const last = checker.receive(
    text(done(1, "check.", { transfer_number: "+14155550123" })),
  );
  assert.deepStrictEqual(
    last.outcome?.type === "spoken" && last.outcome.response,
    {
      responseId: 1,
      kind: "response",
      said: "Is Friday free?",
      text: "Let me check.",
      frames: 2,
      firstFrameMs: 30,
      completeMs: 50,
      status: "complete",
      action: { type: "transfer_call", number: "+14155550123" },
    },
  );
  checker.sent(reminderRequired(2, [said("user", "Is Friday free?")]));
  assert.deepStrictEqual(checker.response(2), emptyRecord(2, "reminder"));
  assertClean(checker);
});

Deno.test("sent() supersedes the response still open, and returns it", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  checker.receive(text(chunk(1, "Our hours")));
  const superseded = checker.sent(responseRequired(2));
  assert.equal(superseded?.responseId, 1);
  assert.equal(superseded?.status, "superseded");
  assert.equal(superseded?.text, "Our hours");
  assert.deepStrictEqual(checker.response(1), superseded);
  // A complete response is not superseded.
  checker.receive(text(done(2, "Nine to five.")));
  assert.equal(checker.sent(responseRequired(3)), undefined);
  assert.equal(checker.response(2)?.status, "complete");
});

Deno.test("agent_interrupt cancels the open response, which then owes no completion", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  checker.receive(text(chunk(1, "Let me")));
  const result = checker.receive(
    text({
      response_type: "agent_interrupt",
      interrupt_id: 7,
      content: "Sorry, we are closing.",
      content_complete: true,
      end_call: true,
    }),
  );
  assert.deepStrictEqual(result.violations, []);
  assert.ok(result.outcome?.type === "interrupt");
  assert.deepStrictEqual(result.outcome, {
    type: "interrupt",
    interruptId: 7,
    content: "Sorry, we are closing.",
    text: "Sorry, we are closing.",
    complete: true,
    action: { type: "end_call" },
    cancelled: { ...checker.response(1)!, status: "superseded" },
  });
  assert.equal(checker.response(1)?.status, "superseded");
  // More of the cancelled response is not spoken, and not a violation.
  const late = checker.receive(text(done(1, " check.")));
  assert.equal(late.outcome, undefined);
  assert.deepStrictEqual(late.violations, []);
  assert.deepStrictEqual(checker.closed(1000, false), []);
  assertClean(checker);
});

Deno.test("agent_interrupt: a new interrupt id discards the earlier interrupt's text", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  const interrupt = (id: number, content: string, complete: boolean) =>
    checker.receive(
      text({
        response_type: "agent_interrupt",
        interrupt_id: id,
        content,
        content_complete: complete,
      }),
    ).outcome;
  interrupt(1, "One ", false);
  const same = interrupt(1, "two.", true);
  assert.ok(same?.type === "interrupt");
  assert.equal(same.text, "One two.");
  assert.equal(same.cancelled, undefined);
  const next = interrupt(2, "Three.", true);
  assert.ok(next?.type === "interrupt");
  assert.equal(next.text, "Three.");
  assert.equal(next.action, undefined);
});

Deno.test("stale_response: frames already in flight are forgiven for the grace", async (t) => {
  await t.step("until the grace is over", () => {
    const { checker, clock } = setup({ inFlightGraceMs: 500 });
    checker.receive(BEGIN);
    checker.sent(responseRequired(1));
    checker.receive(text(chunk(1, "Let me ")));
    checker.sent(responseRequired(2));
    clock.advance(499);
    const inFlight = checker.receive(text(chunk(1, "check.")));
    assert.deepStrictEqual(inFlight.violations, []);
    // In flight or not, Retell no longer speaks it.
    assert.equal(inFlight.outcome, undefined);
    clock.advance(1);
    assertOne(
      checker.receive(text(chunk(1, " Still checking."))).violations,
      "stale_response",
      "response 2",
    );
  });

  await t.step("for each request, however soon the next follows", () => {
    const { checker, clock } = setup({ inFlightGraceMs: 500 });
    checker.sent(responseRequired(1));
    checker.sent(responseRequired(2));
    // The greeting was on its way before either request was read.
    assert.deepStrictEqual(checker.receive(BEGIN).violations, []);
    clock.advance(500);
    assertOne(
      checker.receive(text(chunk(1, "Late."))).violations,
      "stale_response",
      "response 2",
    );
  });

  await t.step("until the server answers the newer request", () => {
    const { checker } = setup({ inFlightGraceMs: 500 });
    checker.receive(BEGIN);
    checker.sent(responseRequired(1));
    checker.sent(responseRequired(2));
    checker.receive(text(chunk(2, "Sure, ")));
    assertOne(
      checker.receive(text(chunk(1, "check."))).violations,
      "stale_response",
    );
  });
});

Deno.test("receive() returns the echo of a ping with its round trip", () => {
  const { checker, clock } = setup();
  checker.sent(ping(1767225600000));
  clock.advance(12.34);
  assert.deepStrictEqual(checker.receive(text(pong(1767225600000))).outcome, {
    type: "echo",
    timestamp: 1767225600000,
    rttMs: 12.3,
  });
  assert.equal(checker.receive(text(pong(1767225600000))).outcome, undefined);
});

Deno.test("closed() marks every open response closed", () => {
  const { checker } = setup();
  checker.receive(BEGIN);
  checker.sent(responseRequired(1));
  checker.receive(text(chunk(1, "Hmm")));
  checker.closed(1000, false);
  assert.equal(checker.response(0)?.status, "complete");
  assert.equal(checker.response(1)?.status, "closed");
  assert.equal(checker.response(1)?.text, "Hmm");
});
