import assert from "node:assert/strict";
import { assertReason } from "../_support/reason.ts";
import {
  type InboundParseResult,
  parseInbound,
} from "../../src/protocol/inbound.ts";
import { formatPath } from "../../src/protocol/issues.ts";

/** Parses `frame` serialised as JSON, as Retell would send it. */
function parse(frame: unknown): InboundParseResult {
  return parseInbound(JSON.stringify(frame));
}

/**
 * Asserts `result` is an `invalid` failure whose reason names every path in
 * `paths`, each also the path of one of its issues.
 */
function assertInvalid(result: InboundParseResult, ...paths: string[]): void {
  assert.equal(
    result.ok,
    false,
    `expected a failure, got ${JSON.stringify(result)}`,
  );
  assert.ok(
    !result.ok && result.kind === "invalid",
    `expected kind "invalid", got ${JSON.stringify(result)}`,
  );
  const issuePaths = result.issues.map((issue) => formatPath(issue.path));
  for (const path of paths) {
    assert.ok(
      result.reason.includes(`${path}:`),
      `reason should name ${JSON.stringify(path)}: ${result.reason}`,
    );
    assert.ok(
      issuePaths.includes(path),
      `issues should name ${JSON.stringify(path)}: ${issuePaths}`,
    );
  }
}

/** Asserts `result` failed with `kind` and a non-empty one-line reason. */
function assertFailure(
  result: InboundParseResult,
  kind: "not_json" | "not_event",
): void {
  assert.ok(!result.ok, `expected a failure, got ${JSON.stringify(result)}`);
  assert.equal(result.kind, kind, result.reason);
  assertReason(result.reason);
}

const AGENT_HELLO = { role: "agent", content: "Hello, how can I help?" };
const USER_HOURS = { role: "user", content: "What are your opening hours?" };

Deno.test("parseInbound() accepts every known interaction_type when the frame is valid", async (t) => {
  await t.step("ping_pong", () => {
    assert.deepStrictEqual(
      parseInbound(
        '{"interaction_type":"ping_pong","timestamp":1767225600000}',
      ),
      {
        ok: true,
        event: { interaction_type: "ping_pong", timestamp: 1767225600000 },
      },
    );
  });

  await t.step("call_details", () => {
    const call = {
      call_type: "phone_call",
      from_number: "+12137771234",
      to_number: "+12137771235",
      direction: "inbound",
      call_id: "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6",
      agent_id: "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD",
      call_status: "registered",
      metadata: {},
      retell_llm_dynamic_variables: { customer_name: "John Doe" },
      opt_out_sensitive_data_storage: true,
    };
    assert.deepStrictEqual(parse({ interaction_type: "call_details", call }), {
      ok: true,
      event: { interaction_type: "call_details", call },
    });
  });

  await t.step(
    "update_only without turntaking or transcript_with_tool_calls",
    () => {
      assert.deepStrictEqual(
        parse({ interaction_type: "update_only", transcript: [AGENT_HELLO] }),
        {
          ok: true,
          event: { interaction_type: "update_only", transcript: [AGENT_HELLO] },
        },
      );
    },
  );

  await t.step("update_only with turntaking user_turn and agent_turn", () => {
    for (const turntaking of ["user_turn", "agent_turn"] as const) {
      assert.deepStrictEqual(
        parse({
          interaction_type: "update_only",
          transcript: [AGENT_HELLO, USER_HOURS],
          turntaking,
        }),
        {
          ok: true,
          event: {
            interaction_type: "update_only",
            transcript: [AGENT_HELLO, USER_HOURS],
            turntaking,
          },
        },
      );
    }
  });

  await t.step("update_only with transcript_with_tool_calls", () => {
    const items = [AGENT_HELLO, USER_HOURS];
    assert.deepStrictEqual(
      parse({
        interaction_type: "update_only",
        transcript: [AGENT_HELLO, USER_HOURS],
        transcript_with_tool_calls: items,
        turntaking: "agent_turn",
      }),
      {
        ok: true,
        event: {
          interaction_type: "update_only",
          transcript: [AGENT_HELLO, USER_HOURS],
          transcript_with_tool_calls: items,
          turntaking: "agent_turn",
        },
      },
    );
  });

  await t.step("update_only with an empty transcript", () => {
    assert.deepStrictEqual(
      parse({ interaction_type: "update_only", transcript: [] }),
      {
        ok: true,
        event: { interaction_type: "update_only", transcript: [] },
      },
    );
  });

  await t.step("response_required", () => {
    assert.deepStrictEqual(
      parse({
        interaction_type: "response_required",
        response_id: 1,
        transcript: [AGENT_HELLO, USER_HOURS],
      }),
      {
        ok: true,
        event: {
          interaction_type: "response_required",
          response_id: 1,
          transcript: [AGENT_HELLO, USER_HOURS],
        },
      },
    );
  });

  await t.step(
    "response_required with response_id 0 and transcript_with_tool_calls",
    () => {
      assert.deepStrictEqual(
        parse({
          interaction_type: "response_required",
          response_id: 0,
          transcript: [],
          transcript_with_tool_calls: [],
        }),
        {
          ok: true,
          event: {
            interaction_type: "response_required",
            response_id: 0,
            transcript: [],
            transcript_with_tool_calls: [],
          },
        },
      );
    },
  );

  await t.step("reminder_required", () => {
    assert.deepStrictEqual(
      parse({
        interaction_type: "reminder_required",
        response_id: 7,
        transcript: [AGENT_HELLO],
      }),
      {
        ok: true,
        event: {
          interaction_type: "reminder_required",
          response_id: 7,
          transcript: [AGENT_HELLO],
        },
      },
    );
  });

  await t.step("reminder_required with transcript_with_tool_calls", () => {
    assert.deepStrictEqual(
      parse({
        interaction_type: "reminder_required",
        response_id: 8,
        transcript: [AGENT_HELLO],
        transcript_with_tool_calls: [AGENT_HELLO],
      }),
      {
        ok: true,
        event: {
          interaction_type: "reminder_required",
          response_id: 8,
          transcript: [AGENT_HELLO],
          transcript_with_tool_calls: [AGENT_HELLO],
        },
      },
    );
  });
});

Deno.test("parseInbound() tolerates what Retell may add when the frame is otherwise valid", async (t) => {
  await t.step("drops unknown fields of the event itself", () => {
    assert.deepStrictEqual(
      parse({
        interaction_type: "update_only",
        transcript: [],
        future_field: { nested: true },
        call_id: "c1",
      }),
      { ok: true, event: { interaction_type: "update_only", transcript: [] } },
    );
    assert.deepStrictEqual(
      parse({ interaction_type: "ping_pong", timestamp: 5, extra: "x" }),
      { ok: true, event: { interaction_type: "ping_pong", timestamp: 5 } },
    );
  });

  await t.step("keeps unknown fields of utterances, such as metadata", () => {
    const utterance = {
      role: "agent",
      content: "Thanks ",
      metadata: { source: "llm" },
      confidence: 0.93,
    };
    assert.deepStrictEqual(
      parse({ interaction_type: "update_only", transcript: [utterance] }),
      {
        ok: true,
        event: { interaction_type: "update_only", transcript: [utterance] },
      },
    );
  });

  await t.step("accepts words arrays with word, start and end", () => {
    const utterance = {
      role: "user",
      content: "Hi there",
      words: [{ word: "Hi", start: 4.375, end: 4.5 }, {
        word: "there",
        start: 4.5,
        end: 4.9,
      }],
    };
    assert.deepStrictEqual(
      parse({
        interaction_type: "response_required",
        response_id: 2,
        transcript: [utterance],
      }),
      {
        ok: true,
        event: {
          interaction_type: "response_required",
          response_id: 2,
          transcript: [utterance],
        },
      },
    );
  });

  await t.step(
    "accepts an empty words array and words with missing timings",
    () => {
      const transcript = [
        { role: "agent", content: "", words: [] },
        { role: "user", content: "Yes", words: [{ word: "Yes" }] },
      ];
      assert.deepStrictEqual(
        parse({ interaction_type: "update_only", transcript }),
        {
          ok: true,
          event: { interaction_type: "update_only", transcript },
        },
      );
    },
  );

  await t.step(
    "accepts roles transfer_target, system and arbitrary strings",
    () => {
      const transcript = [
        { role: "transfer_target", content: "Sales, this is Ann." },
        { role: "system", content: "Call transferred." },
        { role: "narrator-2030", content: "Something new." },
        { role: "", content: "Empty role." },
      ];
      assert.deepStrictEqual(
        parse({ interaction_type: "update_only", transcript }),
        {
          ok: true,
          event: { interaction_type: "update_only", transcript },
        },
      );
    },
  );

  await t.step(
    "drops a stray timestamp on response_required (the reference's own sample)",
    () => {
      assert.deepStrictEqual(
        parse({
          interaction_type: "response_required",
          response_id: 3,
          transcript: [USER_HOURS],
          timestamp: 3,
        }),
        {
          ok: true,
          event: {
            interaction_type: "response_required",
            response_id: 3,
            transcript: [USER_HOURS],
          },
        },
      );
      assert.deepStrictEqual(
        parse({
          interaction_type: "reminder_required",
          response_id: 4,
          transcript: [],
          timestamp: 1767225600000,
        }),
        {
          ok: true,
          event: {
            interaction_type: "reminder_required",
            response_id: 4,
            transcript: [],
          },
        },
      );
    },
  );

  await t.step("accepts the (unintelligible audio) content", () => {
    const transcript = [AGENT_HELLO, {
      role: "user",
      content: "(unintelligible audio)",
    }];
    assert.deepStrictEqual(
      parse({
        interaction_type: "response_required",
        response_id: 5,
        transcript,
      }),
      {
        ok: true,
        event: {
          interaction_type: "response_required",
          response_id: 5,
          transcript,
        },
      },
    );
  });

  await t.step(
    "keeps every key of a call object with many unknown keys",
    () => {
      const call = {
        call_id: "call_123",
        agent_id: "agent_456",
        agent_version: 3,
        agent_name: "Front desk",
        call_type: "web_call",
        call_status: "registered",
        access_token: "eyJhbGciOi...",
        metadata: { crm_id: 42, tags: ["vip"] },
        retell_llm_dynamic_variables: {
          customer_name: "John Doe",
          balance: "12.50",
          empty: "",
        },
        collected_dynamic_variables: { anything: 1 },
        custom_sip_headers: { "X-Trunk": "a" },
        data_storage_setting: "everything",
        opt_in_signed_url: false,
        telephony_identifier: { twilio_call_sid: "CA123" },
        start_timestamp: 1767225600000,
        latency: null,
        transcript_object: [],
      };
      assert.deepStrictEqual(
        parse({ interaction_type: "call_details", call }),
        {
          ok: true,
          event: { interaction_type: "call_details", call },
        },
      );
    },
  );

  await t.step("accepts an empty call object", () => {
    assert.deepStrictEqual(
      parse({ interaction_type: "call_details", call: {} }),
      {
        ok: true,
        event: { interaction_type: "call_details", call: {} },
      },
    );
  });

  await t.step(
    "keeps transcript_with_tool_calls items of every role with their fields",
    () => {
      const items = [
        { role: "agent", content: "Let me check.", words: [] },
        {
          role: "tool_call_invocation",
          tool_call_id: "tc_1",
          name: "lookup_order",
          arguments: '{"order":"A1"}',
          thought_signature: "sig",
        },
        {
          role: "tool_call_result",
          tool_call_id: "tc_1",
          content: "shipped",
          successful: true,
        },
        { role: "dtmf", digit: "5" },
        {
          role: "node_transition",
          former_node_id: "a",
          former_node_name: "A",
          new_node_id: "b",
          new_node_name: "B",
        },
        { role: "sms", content: "hi", time_sec: 12.5 },
        { role: "injected", content: "context", time_sec: 13 },
      ];
      assert.deepStrictEqual(
        parse({
          interaction_type: "response_required",
          response_id: 9,
          transcript: [],
          transcript_with_tool_calls: items,
        }),
        {
          ok: true,
          event: {
            interaction_type: "response_required",
            response_id: 9,
            transcript: [],
            transcript_with_tool_calls: items,
          },
        },
      );
    },
  );
});

Deno.test("parseInbound() returns unknown_type when interaction_type is not one it knows", async (t) => {
  await t.step("a future event", () => {
    const result = parse({
      interaction_type: "future_event",
      anything: [1, 2],
    });
    assert.ok(!result.ok && result.kind === "unknown_type");
    assert.deepStrictEqual(result, {
      ok: false,
      kind: "unknown_type",
      interactionType: "future_event",
      reason: result.reason,
      issues: [{
        path: ["interaction_type"],
        message: 'unknown interaction_type "future_event"',
      }],
      object: { interaction_type: "future_event", anything: [1, 2] },
    });
    assert.ok(result.reason.includes("future_event"), result.reason);
  });

  await t.step(
    "the transitional pingpong spelling and other near misses",
    () => {
      for (const type of ["pingpong", "PING_PONG", "response_required ", ""]) {
        const result = parse({ interaction_type: type });
        assert.ok(
          !result.ok && result.kind === "unknown_type",
          `${JSON.stringify(type)}: ${JSON.stringify(result)}`,
        );
        assert.equal(result.interactionType, type);
      }
    },
  );

  await t.step("names of Object.prototype members", () => {
    for (
      const type of [
        "__proto__",
        "toString",
        "constructor",
        "hasOwnProperty",
        "valueOf",
      ]
    ) {
      const result = parseInbound(
        `{"interaction_type":${JSON.stringify(type)}}`,
      );
      assert.ok(
        !result.ok && result.kind === "unknown_type",
        `${type}: ${JSON.stringify(result)}`,
      );
      assert.equal(result.interactionType, type);
    }
  });
});

Deno.test("parseInbound() returns not_json when the frame is not JSON", () => {
  for (
    const text of [
      "{",
      "",
      "undefined",
      "{'interaction_type':'ping_pong'}",
      "ping",
      '{"a":1}{"b":2}',
    ]
  ) {
    assertFailure(parseInbound(text), "not_json");
  }
  assertFailure(parseInbound(undefined as unknown as string), "not_json");
});

Deno.test("parseInbound() returns not_event when the JSON is not an object with a string interaction_type", async (t) => {
  await t.step("not an object", () => {
    for (
      const text of [
        "[]",
        '[{"interaction_type":"ping_pong","timestamp":1}]',
        "42",
        '"ping_pong"',
        "null",
        "true",
      ]
    ) {
      assertFailure(parseInbound(text), "not_event");
    }
  });

  await t.step("an object without interaction_type", () => {
    assertFailure(parse({ response_id: 1, transcript: [] }), "not_event");
    assertFailure(parseInbound("{}"), "not_event");
    // JSON.parse makes "__proto__" an own key, so this object has no interaction_type.
    assertFailure(
      parseInbound(
        '{"__proto__":{"interaction_type":"ping_pong","timestamp":1}}',
      ),
      "not_event",
    );
  });

  await t.step("interaction_type that is not a string", () => {
    for (const type of [1, null, true, ["ping_pong"], { type: "ping_pong" }]) {
      const result = parse({ interaction_type: type, timestamp: 1 });
      assertFailure(result, "not_event");
      assert.ok(
        !result.ok && result.reason.includes("interaction_type"),
        JSON.stringify(result),
      );
    }
  });
});

Deno.test("parseInbound() returns invalid when a known event has a missing or wrongly typed field", async (t) => {
  await t.step('response_id as the string "1"', () => {
    assertInvalid(
      parse({
        interaction_type: "response_required",
        response_id: "1",
        transcript: [],
      }),
      "response_id",
    );
  });

  await t.step("response_id negative", () => {
    assertInvalid(
      parse({
        interaction_type: "response_required",
        response_id: -1,
        transcript: [],
      }),
      "response_id",
    );
  });

  await t.step("response_id a float", () => {
    assertInvalid(
      parse({
        interaction_type: "reminder_required",
        response_id: 1.5,
        transcript: [],
      }),
      "response_id",
    );
  });

  await t.step("response_id missing (the reference's sample events)", () => {
    assertInvalid(
      parse({
        interaction_type: "response_required",
        transcript: [],
        timestamp: 3,
      }),
      "response_id",
    );
    assertInvalid(
      parse({ interaction_type: "reminder_required", transcript: [] }),
      "response_id",
    );
  });

  await t.step("transcript missing", () => {
    assertInvalid(
      parse({ interaction_type: "response_required", response_id: 1 }),
      "transcript",
    );
    assertInvalid(parse({ interaction_type: "update_only" }), "transcript");
  });

  await t.step("transcript not an array", () => {
    assertInvalid(
      parse({ interaction_type: "update_only", transcript: "hello" }),
      "transcript",
    );
    assertInvalid(
      parse({
        interaction_type: "update_only",
        transcript: { 0: AGENT_HELLO },
      }),
      "transcript",
    );
  });

  await t.step("utterance without content", () => {
    assertInvalid(
      parse({
        interaction_type: "response_required",
        response_id: 1,
        transcript: [{ role: "user" }],
      }),
      "transcript[0].content",
    );
  });

  await t.step("utterance with numeric content", () => {
    assertInvalid(
      parse({
        interaction_type: "update_only",
        transcript: [AGENT_HELLO, { role: "user", content: 42 }],
      }),
      "transcript[1].content",
    );
  });

  await t.step(
    "utterance without role, and an utterance that is not an object",
    () => {
      assertInvalid(
        parse({
          interaction_type: "update_only",
          transcript: [{ content: "hi" }],
        }),
        "transcript[0].role",
      );
      assertInvalid(
        parse({ interaction_type: "update_only", transcript: ["hi"] }),
        "transcript[0]",
      );
    },
  );

  await t.step("a words entry with a string start", () => {
    assertInvalid(
      parse({
        interaction_type: "update_only",
        transcript: [{
          role: "user",
          content: "Hi",
          words: [{ word: "Hi", start: "4.3", end: 4.5 }],
        }],
      }),
      "transcript[0].words[0].start",
    );
  });

  await t.step("transcript_with_tool_calls item without role", () => {
    assertInvalid(
      parse({
        interaction_type: "update_only",
        transcript: [],
        transcript_with_tool_calls: [{ digit: "5" }],
      }),
      "transcript_with_tool_calls[0].role",
    );
  });

  await t.step("ping_pong timestamp a string", () => {
    assertInvalid(
      parse({ interaction_type: "ping_pong", timestamp: "1767225600000" }),
      "timestamp",
    );
  });

  await t.step("ping_pong timestamp missing", () => {
    assertInvalid(parse({ interaction_type: "ping_pong" }), "timestamp");
  });

  await t.step("call_details without call", () => {
    assertInvalid(parse({ interaction_type: "call_details" }), "call");
  });

  await t.step("call_details with call a string", () => {
    assertInvalid(
      parse({ interaction_type: "call_details", call: "call_123" }),
      "call",
    );
  });

  await t.step('turntaking "nobody"', () => {
    assertInvalid(
      parse({
        interaction_type: "update_only",
        transcript: [],
        turntaking: "nobody",
      }),
      "turntaking",
    );
  });

  await t.step("a dynamic variable whose value is a number", () => {
    assertInvalid(
      parse({
        interaction_type: "call_details",
        call: {
          call_id: "c1",
          retell_llm_dynamic_variables: {
            customer_name: "John",
            customer_age: 42,
          },
        },
      }),
      "call.retell_llm_dynamic_variables.customer_age",
    );
  });

  await t.step("names every bad field in one line", () => {
    const result = parse({
      interaction_type: "response_required",
      response_id: "1",
      transcript: [{ role: "user" }],
    });
    assertInvalid(result, "response_id", "transcript[0].content");
    assert.ok(
      !result.ok && !result.reason.includes("\n"),
      JSON.stringify(result),
    );
    assert.ok(
      !result.ok && result.reason.includes("response_required"),
      JSON.stringify(result),
    );
  });
});

Deno.test("parseInbound() never throws when the input is odd", () => {
  const deep = 100_000;
  const inputs: unknown[] = [
    "[".repeat(deep) + "]".repeat(deep),
    '{"a":'.repeat(deep) + "1" + "}".repeat(deep),
    `{"interaction_type":"update_only","transcript":[{"role":"user","content":"x","meta":${
      "[".repeat(deep) + "]".repeat(deep)
    }}]}`,
    `{"interaction_type":"call_details","call":{"metadata":${
      '{"a":'.repeat(deep) + "1" + "}".repeat(deep)
    }}}`,
    '{"interaction_type":"response_required","response_id":1e400,"transcript":[]}',
    '{"interaction_type":"response_required","response_id":1e20,"transcript":[]}',
    '{"interaction_type":"response_required","response_id":9007199254740993,"transcript":[]}',
    '{"interaction_type":"ping_pong","timestamp":-1e400}',
    "1e400",
    '{"interaction_type":"__proto__"}',
    '{"interaction_type":"toString"}',
    '{"interaction_type":"constructor"}',
    '{"interaction_type":"ping_pong","timestamp":1,"__proto__":{"polluted":true}}',
    '{"interaction_type":"update_only","transcript":[{"role":"user","content":"x","__proto__":{"polluted":true}}]}',
    '{"interaction_type":"call_details","call":{"__proto__":null,"constructor":{"prototype":{"polluted":true}}}}',
    '{"interaction_type":"update_only","transcript":[null]}',
    '{"interaction_type":"update_only","transcript":[],"transcript_with_tool_calls":"x"}',
    `{"interaction_type":"${"x".repeat(1_000_000)}"}`,
    "\u0000",
    "\uFEFF{}",
    '{"interaction_type":"ping_pong","timestamp":1}'.repeat(2),
    "   ",
    null,
    undefined,
    42,
    {},
    Symbol("frame"),
  ];
  for (const input of inputs) {
    let result: unknown;
    assert.doesNotThrow(() => {
      result = parseInbound(input as string);
    }, `parseInbound threw for ${String(input).slice(0, 80)}`);
    assert.equal(typeof result, "object");
    assert.notEqual(result, null);
    assert.equal(typeof (result as { ok: unknown }).ok, "boolean");
  }
  // Nothing above may have changed Object.prototype.
  assert.equal(({} as { polluted?: unknown }).polluted, undefined);
});

Deno.test("parseInbound() keeps Object.prototype member names as unknown types, not crashes", () => {
  for (const type of ["__proto__", "toString", "constructor"]) {
    const result = parseInbound(`{"interaction_type":"${type}"}`);
    assert.ok(!result.ok && result.kind === "unknown_type");
    assert.equal(result.interactionType, type);
    assert.equal(
      result.reason,
      `Cannot read frame: unknown interaction_type "${type}"`,
    );
  }
});

Deno.test("parseInbound() reports null for an optional field as null_optional, with the event read without it", () => {
  const frame = {
    interaction_type: "update_only",
    transcript: [USER_HOURS],
    turntaking: null,
  };
  const result = parse(frame);
  assert.ok(!result.ok && result.kind === "null_optional");
  assert.deepStrictEqual(result.event, {
    interaction_type: "update_only",
    transcript: [USER_HOURS],
  });
  assert.deepStrictEqual(result.nullFields, ["turntaking"]);
  assert.deepStrictEqual(result.object, frame);
  assert.deepStrictEqual(result.issues.map((issue) => issue.path), [[
    "turntaking",
  ]]);
  assert.ok(result.reason.includes("turntaking:"), result.reason);
  assertInvalid(
    parse({ ...frame, transcript: null }),
    "transcript",
  );
});

Deno.test("parseInbound names the first three issues of many, then how many more", () => {
  const transcript = Array.from({ length: 10_000 }, () => ({ role: "x" }));
  const result = parse({ interaction_type: "update_only", transcript });
  assert.ok(!result.ok && result.kind === "invalid");
  assert.ok(result.issues.length >= 10_000, `${result.issues.length} issues`);
  assert.match(
    result.reason,
    new RegExp(
      `^Cannot read update_only frame: (?:[^;]+; ){3}and ${
        result.issues.length - 3
      } more$`,
    ),
  );
});
