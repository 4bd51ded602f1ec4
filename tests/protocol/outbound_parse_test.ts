import assert from "node:assert/strict";
import { done } from "../_support/frames.ts";
import { assertReason } from "../_support/reason.ts";
import {
  createAgentInterruptEvent,
  createConfigEvent,
  createMetadataEvent,
  createPingPongEvent,
  createResponseEvent,
  createToolCallInvocationEvent,
  createToolCallResultEvent,
  createUpdateAgentEvent,
  encodeOutbound,
  type OutboundEvent,
} from "../../src/protocol/outbound.ts";
import {
  type OutboundFailureKind,
  type OutboundParseResult,
  parseOutbound,
} from "../../src/protocol/outbound_parse.ts";
import { formatIssues } from "../../src/protocol/issues.ts";

/** Parses `frame` serialised as JSON, as a server would send it. */
function parse(frame: unknown): OutboundParseResult {
  return parseOutbound(JSON.stringify(frame));
}

/** Asserts `result` failed with `kind` and a one-line reason naming each of `names`. */
function assertFailure(
  result: OutboundParseResult,
  kind: OutboundFailureKind,
  ...names: string[]
): void {
  assert.ok(!result.ok, `expected a failure, got ${JSON.stringify(result)}`);
  assert.equal(result.kind, kind, result.reason);
  assertReason(result.reason, ...names);
}

const RESPONSE = done(1, "Hi");

Deno.test("parseOutbound() accepts every response_type when the frame is valid", async (t) => {
  const events: Record<OutboundEvent["response_type"], OutboundEvent> = {
    config: createConfigEvent({
      auto_reconnect: true,
      call_details: true,
      transcript_with_tool_calls: false,
    }),
    response: createResponseEvent({
      response_id: 0,
      content: "Hello!",
      content_complete: true,
      no_interruption_allowed: true,
      end_call: false,
      transfer_number: "+12137771234",
      show_transferee_as_caller: true,
      digit_to_press: "1",
    }),
    agent_interrupt: createAgentInterruptEvent({
      interrupt_id: 2,
      content: "Sorry to cut in.",
      content_complete: false,
    }),
    ping_pong: createPingPongEvent(1767225600000),
    update_agent: createUpdateAgentEvent({
      responsiveness: 0.5,
      interruption_sensitivity: 1,
      reminder_trigger_ms: 10000,
      reminder_max_count: 0,
    }),
    tool_call_invocation: createToolCallInvocationEvent(
      "call_1",
      "lookup",
      '{"q":"hours"}',
    ),
    tool_call_result: createToolCallResultEvent("call_1", "9 to 5", true),
    metadata: createMetadataEvent({ animation: "wave", nested: { a: [1] } }),
  };
  for (const [type, event] of Object.entries(events)) {
    await t.step(type, () => {
      assert.deepStrictEqual(parse(event), { ok: true, event });
    });
  }

  await t.step("minimal response with empty content", () => {
    const event = createResponseEvent({
      response_id: 0,
      content: "",
      content_complete: false,
    });
    assert.deepStrictEqual(parse(event), { ok: true, event });
  });

  await t.step("config with no settings", () => {
    assert.deepStrictEqual(parse({ response_type: "config", config: {} }), {
      ok: true,
      event: { response_type: "config", config: {} },
    });
  });
});

Deno.test("parseOutbound() reads back exactly what encodeOutbound() writes", () => {
  const event = createResponseEvent({
    response_id: 7,
    content: 'Quote " and \\ and ünïcode',
    content_complete: true,
    end_call: true,
  });
  const encoded = encodeOutbound(event);
  assert.ok(encoded.ok);
  assert.deepStrictEqual(parseOutbound(encoded.text), { ok: true, event });
});

Deno.test("parseOutbound() reports text that is not JSON as not_json", () => {
  for (const text of ["", "{", "hello", '{"response_type":"response",}']) {
    assertFailure(parseOutbound(text), "not_json", "JSON");
  }
});

Deno.test("parseOutbound() keeps a JSON error on one line even when the frame has newlines", () => {
  assertFailure(parseOutbound("hello\nworld\r\n"), "not_json");
});

Deno.test("parseOutbound() reports JSON that is not an object as not_event", () => {
  for (const text of ["null", "[]", '"x"', "1", "true", "[{}]"]) {
    assertFailure(parseOutbound(text), "not_event", "JSON object");
  }
});

Deno.test("parseOutbound() reports a response_type that is not a string as not_event", () => {
  for (const type of [null, 5, true, ["response"], { a: 1 }]) {
    assertFailure(
      parse({ ...RESPONSE, response_type: type }),
      "not_event",
      "response_type",
    );
  }
});

Deno.test("parseOutbound() reads a frame without response_type as a response, as Retell does", () => {
  const { response_type: _, ...old } = RESPONSE;
  const result = parse({ ...old, end_call: false });
  assertFailure(result, "missing_response_type", "response_type");
  assert.ok(!result.ok && result.kind === "missing_response_type");
  assert.deepStrictEqual(result.issues, []);
  assert.deepStrictEqual(result.asResponse, {
    ...RESPONSE,
    end_call: false,
  });
});

Deno.test("parseOutbound() gives no asResponse when a frame without response_type is not a response either", () => {
  for (
    const frame of [
      {},
      { response_id: 1, content: "Hi", content_complete: "true" },
      { timestamp: 1767225600000 },
      { config: { auto_reconnect: true } },
    ]
  ) {
    const result = parse(frame);
    assertFailure(result, "missing_response_type", "response_type");
    assert.ok(!result.ok && result.kind === "missing_response_type");
    assert.ok(result.issues.length > 0);
    assert.equal(result.asResponse, undefined);
    assert.ok(!("asResponse" in result));
  }
  assertFailure(
    parse({ response_id: 1, content: "Hi", content_complete: "true" }),
    "missing_response_type",
    "content_complete",
  );
});

Deno.test("parseOutbound() reports an unknown response_type as unknown_type", () => {
  for (
    const type of [
      "responses",
      "Response",
      "pingpong",
      "",
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
    ]
  ) {
    assertFailure(
      parse({ response_type: type }),
      "unknown_type",
      JSON.stringify(type),
    );
  }
});

Deno.test("parseOutbound() reports wrong field types as invalid, naming each field", async (t) => {
  await t.step('"true" as a string for content_complete', () => {
    assertFailure(
      parse({ ...RESPONSE, content_complete: "true" }),
      "invalid",
      "content_complete:",
      "boolean",
    );
  });

  await t.step('"1" as a string for response_id', () => {
    assertFailure(
      parse({ ...RESPONSE, response_id: "1" }),
      "invalid",
      "response_id:",
    );
  });

  await t.step("a fractional or negative response_id", () => {
    assertFailure(
      parse({ ...RESPONSE, response_id: 1.5 }),
      "invalid",
      "response_id:",
    );
    assertFailure(
      parse({ ...RESPONSE, response_id: -1 }),
      "invalid",
      "response_id:",
    );
  });

  await t.step("content that is not a string", () => {
    assertFailure(parse({ ...RESPONSE, content: 42 }), "invalid", "content:");
    assertFailure(parse({ ...RESPONSE, content: null }), "invalid", "content:");
  });

  await t.step("missing required fields", () => {
    assertFailure(
      parse({ response_type: "response", response_id: 1 }),
      "invalid",
      "content:",
      "content_complete:",
    );
    assertFailure(
      parse({ response_type: "ping_pong" }),
      "invalid",
      "timestamp:",
    );
  });

  await t.step("several wrong fields at once", () => {
    assertFailure(
      parse({
        ...RESPONSE,
        response_id: "1",
        content: 1.5,
        content_complete: "true",
      }),
      "invalid",
      "response_id:",
      "content:",
      "content_complete:",
    );
  });

  await t.step("an action flag as a string", () => {
    assertFailure(
      parse({ ...RESPONSE, end_call: "false" }),
      "invalid",
      "end_call:",
    );
  });

  await t.step("a timestamp as a string", () => {
    assertFailure(
      parse({ response_type: "ping_pong", timestamp: "1767225600000" }),
      "invalid",
      "timestamp:",
    );
  });

  await t.step("a nested field out of range", () => {
    assertFailure(
      parse({
        response_type: "update_agent",
        agent_config: { responsiveness: 2 },
      }),
      "invalid",
      "agent_config.responsiveness:",
    );
  });

  await t.step("metadata that is not an object", () => {
    assertFailure(
      parse({ response_type: "metadata", metadata: "wave" }),
      "invalid",
      "metadata:",
    );
  });

  await t.step("the reason names the response_type", () => {
    assertFailure(
      parse({
        response_type: "tool_call_result",
        tool_call_id: "",
        content: "",
      }),
      "invalid",
      "tool_call_result",
      "tool_call_id:",
    );
  });
});

Deno.test("parseOutbound() reports unknown and misspelled keys as invalid, naming the key", () => {
  assertFailure(
    parse({ ...RESPONSE, contnet: "Hi" }),
    "invalid",
    '"contnet"',
  );
  assertFailure(
    parse({ ...RESPONSE, transferNumber: "+12137771234" }),
    "invalid",
    '"transferNumber"',
  );
  assertFailure(
    parse({ response_type: "config", config: { autoReconnect: true } }),
    "invalid",
    '"autoReconnect"',
  );
  // Retell's demo passes response_id to its config model; it must not be sent (§4.1).
  assertFailure(
    parse({ response_type: "config", config: {}, response_id: 1 }),
    "invalid",
    '"response_id"',
  );
  assertFailure(
    parseOutbound('{"response_type":"ping_pong","timestamp":1,"__proto__":{}}'),
    "invalid",
    '"__proto__"',
  );
});

Deno.test("parseOutbound() never throws on odd input", () => {
  const odd: unknown[] = [
    "null",
    "[]",
    '"x"',
    "0",
    "-0",
    "1e400",
    '{"response_type":"__proto__"}',
    '{"response_type":"constructor","constructor":1}',
    '{"__proto__":{"response_type":"response"}}',
    '{"response_type":"response","response_id":1e400,"content":"","content_complete":true}',
    '{"response_type":"metadata","metadata":{"__proto__":{"x":1}}}',
    "[".repeat(10000) + "]".repeat(10000),
    "\u0000",
    "\uFEFF{}",
    undefined,
    null,
    42,
    {},
    Symbol("frame"),
    {
      toString() {
        throw new Error("boom");
      },
    },
  ];
  for (const text of odd) {
    const result = parseOutbound(text as string);
    assert.equal(typeof result.ok, "boolean");
    if (!result.ok) assertReason(result.reason);
  }
});

Deno.test("parseOutbound() rejects an infinite response_id", () => {
  assertFailure(
    parseOutbound(
      '{"response_type":"response","response_id":1e400,"content":"","content_complete":true}',
    ),
    "invalid",
    "response_id:",
  );
});

Deno.test("parseOutbound() does not let __proto__ in the frame pose as response_type", () => {
  assertFailure(
    parseOutbound(
      '{"__proto__":{"response_type":"response"},"response_id":1,"content":"","content_complete":true}',
    ),
    "missing_response_type",
  );
});

Deno.test("parseOutbound() returns the object and the issues as data next to the reason", () => {
  const frame = { ...RESPONSE, content_complete: "true", contnet: "Hi" };
  const result = parse(frame);
  assert.ok(!result.ok && result.kind === "invalid");
  assert.deepStrictEqual(result.object, frame);
  assert.equal(result.responseType, "response");
  assert.deepStrictEqual(
    result.issues.map((issue) => issue.path),
    [["content_complete"], []],
  );
  assert.match(result.issues[1]!.message, /"contnet"/);
  assert.equal(
    result.reason,
    `Cannot read response frame: ${formatIssues(result.issues)}`,
  );
});

Deno.test("parseOutbound() names the path of each issue outside a field as data too", () => {
  const notObject = parseOutbound("[1]");
  assert.ok(!notObject.ok && notObject.kind === "not_event");
  assert.equal(notObject.object, undefined);
  assert.deepStrictEqual(notObject.issues, [{
    path: [],
    message: "expected a JSON object, received an array",
  }]);
  const badType = parse({ response_type: 3 });
  assert.ok(!badType.ok && badType.kind === "not_event");
  assert.deepStrictEqual(badType.object, { response_type: 3 });
  assert.deepStrictEqual(badType.issues.map((issue) => issue.path), [[
    "response_type",
  ]]);
  const unknown = parse({ response_type: "pingpong" });
  assert.ok(!unknown.ok && unknown.kind === "unknown_type");
  assert.equal(unknown.responseType, "pingpong");
  assert.deepStrictEqual(unknown.issues.map((issue) => issue.path), [[
    "response_type",
  ]]);
  const notJson = parseOutbound("{");
  assert.ok(!notJson.ok && notJson.kind === "not_json");
  assert.equal(notJson.issues.length, 1);
});

Deno.test("parseOutbound() reports null for optional fields as null_optional, with the event Retell reads", () => {
  const result = parse({
    ...RESPONSE,
    transfer_number: null,
    digit_to_press: null,
  });
  assertFailure(
    result,
    "null_optional",
    "transfer_number:",
    "digit_to_press:",
  );
  assert.ok(!result.ok && result.kind === "null_optional");
  assert.deepStrictEqual(result.event, RESPONSE);
  assert.deepStrictEqual(result.nullFields, [
    "transfer_number",
    "digit_to_press",
  ]);
  assert.equal(result.responseType, "response");
});

Deno.test("parseOutbound() reports null for a required field as invalid", () => {
  assertFailure(
    parse({ ...RESPONSE, content: null, transfer_number: null }),
    "invalid",
    "content:",
  );
});
