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
  type EncodeResult,
  type OutboundEvent,
} from "../../src/protocol/outbound.ts";

/** Encodes an event that does not type-check, as a JavaScript caller could. */
function encodeUntyped(event: unknown): EncodeResult {
  return encodeOutbound(event as OutboundEvent);
}

/** Asserts `event` encodes to exactly `text`, and that the text parses back to the event. */
function assertEncodes(event: OutboundEvent, text: string): void {
  assert.deepStrictEqual(encodeOutbound(event), { ok: true, text });
  assert.deepStrictEqual(JSON.parse(text), event);
}

/** Asserts `event` is refused with a one-line reason naming each of `names`. */
function assertRejected(event: unknown, ...names: string[]): void {
  const result = encodeUntyped(event);
  assert.equal(
    result.ok,
    false,
    `expected a refusal, got ${JSON.stringify(result)}`,
  );
  assert.ok(!result.ok);
  assert.deepStrictEqual(Object.keys(result).sort(), ["ok", "reason"]);
  assertReason(result.reason, ...names);
}

const VALID_RESPONSE = done(1, "Hi");

Deno.test("builders set response_type and produce the exact wire object", async (t) => {
  await t.step("createConfigEvent()", () => {
    assert.deepStrictEqual(
      createConfigEvent({
        auto_reconnect: true,
        call_details: true,
        transcript_with_tool_calls: false,
      }),
      {
        response_type: "config",
        config: {
          auto_reconnect: true,
          call_details: true,
          transcript_with_tool_calls: false,
        },
      },
    );
    assert.deepStrictEqual(createConfigEvent({}), {
      response_type: "config",
      config: {},
    });
  });

  await t.step("createResponseEvent() without actions", () => {
    assert.deepStrictEqual(
      createResponseEvent({
        response_id: 0,
        content: "How may I help you?",
        content_complete: true,
      }),
      {
        response_type: "response",
        response_id: 0,
        content: "How may I help you?",
        content_complete: true,
      },
    );
  });

  await t.step("createResponseEvent() with every action", () => {
    assert.deepStrictEqual(
      createResponseEvent({
        response_id: 12,
        content: "",
        content_complete: false,
        no_interruption_allowed: true,
        end_call: false,
        transfer_number: "+14155550123",
        show_transferee_as_caller: true,
        digit_to_press: "1#",
      }),
      {
        response_type: "response",
        response_id: 12,
        content: "",
        content_complete: false,
        no_interruption_allowed: true,
        end_call: false,
        transfer_number: "+14155550123",
        show_transferee_as_caller: true,
        digit_to_press: "1#",
      },
    );
  });

  await t.step(
    "createAgentInterruptEvent() defaults no_interruption_allowed to true",
    () => {
      assert.deepStrictEqual(
        createAgentInterruptEvent({
          interrupt_id: 1,
          content: "One moment!",
          content_complete: true,
        }),
        {
          response_type: "agent_interrupt",
          no_interruption_allowed: true,
          interrupt_id: 1,
          content: "One moment!",
          content_complete: true,
        },
      );
    },
  );

  await t.step(
    "createAgentInterruptEvent() keeps an explicit no_interruption_allowed false and actions",
    () => {
      assert.deepStrictEqual(
        createAgentInterruptEvent({
          interrupt_id: 2,
          content: "Goodbye.",
          content_complete: true,
          no_interruption_allowed: false,
          end_call: true,
        }),
        {
          response_type: "agent_interrupt",
          no_interruption_allowed: false,
          interrupt_id: 2,
          content: "Goodbye.",
          content_complete: true,
          end_call: true,
        },
      );
    },
  );

  await t.step("createPingPongEvent()", () => {
    assert.deepStrictEqual(createPingPongEvent(1767225600000), {
      response_type: "ping_pong",
      timestamp: 1767225600000,
    });
  });

  await t.step("createUpdateAgentEvent()", () => {
    assert.deepStrictEqual(
      createUpdateAgentEvent({
        responsiveness: 0.2,
        interruption_sensitivity: 0,
        reminder_trigger_ms: 15000,
        reminder_max_count: 0,
      }),
      {
        response_type: "update_agent",
        agent_config: {
          responsiveness: 0.2,
          interruption_sensitivity: 0,
          reminder_trigger_ms: 15000,
          reminder_max_count: 0,
        },
      },
    );
  });

  await t.step("createToolCallInvocationEvent()", () => {
    assert.deepStrictEqual(
      createToolCallInvocationEvent("tc_1", "lookup_order", '{"order":"A1"}'),
      {
        response_type: "tool_call_invocation",
        tool_call_id: "tc_1",
        name: "lookup_order",
        arguments: '{"order":"A1"}',
      },
    );
  });

  await t.step(
    "createToolCallResultEvent() without successful leaves the key out",
    () => {
      const event = createToolCallResultEvent("tc_1", "shipped");
      assert.deepStrictEqual(event, {
        response_type: "tool_call_result",
        tool_call_id: "tc_1",
        content: "shipped",
      });
      assert.equal(Object.hasOwn(event, "successful"), false);
    },
  );

  await t.step(
    "createToolCallResultEvent() with successful true and false",
    () => {
      assert.deepStrictEqual(
        createToolCallResultEvent("tc_1", "shipped", true),
        {
          response_type: "tool_call_result",
          tool_call_id: "tc_1",
          content: "shipped",
          successful: true,
        },
      );
      assert.deepStrictEqual(
        createToolCallResultEvent("tc_2", "timeout", false),
        {
          response_type: "tool_call_result",
          tool_call_id: "tc_2",
          content: "timeout",
          successful: false,
        },
      );
    },
  );

  await t.step("createMetadataEvent()", () => {
    assert.deepStrictEqual(
      createMetadataEvent({
        animation: "wave",
        level: 3,
        nested: { ok: true },
      }),
      {
        response_type: "metadata",
        metadata: { animation: "wave", level: 3, nested: { ok: true } },
      },
    );
  });
});

Deno.test("encodeOutbound() returns the exact JSON text when the event is valid", async (t) => {
  await t.step("config", () => {
    assertEncodes(
      createConfigEvent({ auto_reconnect: true, call_details: true }),
      '{"response_type":"config","config":{"auto_reconnect":true,"call_details":true}}',
    );
    assertEncodes(
      createConfigEvent({ transcript_with_tool_calls: false }),
      '{"response_type":"config","config":{"transcript_with_tool_calls":false}}',
    );
  });

  await t.step("response with JSON booleans and an integer id", () => {
    const text =
      '{"response_type":"response","response_id":0,"content":"Hi","content_complete":true}';
    assertEncodes(
      createResponseEvent({
        response_id: 0,
        content: "Hi",
        content_complete: true,
      }),
      text,
    );
    assert.ok(text.includes('"content_complete":true'));
    assert.ok(!text.includes('"true"'));
    assert.ok(text.includes('"response_id":0'));
  });

  await t.step("response with every action", () => {
    assertEncodes(
      createResponseEvent({
        response_id: 3,
        content: "Transferring you now.",
        content_complete: true,
        no_interruption_allowed: true,
        end_call: false,
        transfer_number: "+14155550123",
        show_transferee_as_caller: true,
        digit_to_press: "2",
      }),
      '{"response_type":"response","response_id":3,"content":"Transferring you now.","content_complete":true,' +
        '"no_interruption_allowed":true,"end_call":false,"transfer_number":"+14155550123",' +
        '"show_transferee_as_caller":true,"digit_to_press":"2"}',
    );
  });

  await t.step("response with an empty content and unicode", () => {
    assertEncodes(
      createResponseEvent({
        response_id: 4,
        content: "",
        content_complete: false,
      }),
      '{"response_type":"response","response_id":4,"content":"","content_complete":false}',
    );
    assertEncodes(
      createResponseEvent({
        response_id: 5,
        content: 'Say "ça va" 👋\n',
        content_complete: true,
      }),
      '{"response_type":"response","response_id":5,"content":"Say \\"ça va\\" 👋\\n","content_complete":true}',
    );
  });

  await t.step("agent_interrupt", () => {
    assertEncodes(
      createAgentInterruptEvent({
        interrupt_id: 1,
        content: "Sorry to cut in!",
        content_complete: true,
      }),
      '{"response_type":"agent_interrupt","no_interruption_allowed":true,"interrupt_id":1,' +
        '"content":"Sorry to cut in!","content_complete":true}',
    );
  });

  await t.step("ping_pong", () => {
    assertEncodes(
      createPingPongEvent(1767225600000),
      '{"response_type":"ping_pong","timestamp":1767225600000}',
    );
  });

  await t.step("update_agent", () => {
    assertEncodes(
      createUpdateAgentEvent({
        responsiveness: 0.5,
        interruption_sensitivity: 1,
        reminder_trigger_ms: 10000,
      }),
      '{"response_type":"update_agent","agent_config":{"responsiveness":0.5,"interruption_sensitivity":1,' +
        '"reminder_trigger_ms":10000}}',
    );
    assertEncodes(
      createUpdateAgentEvent({ reminder_max_count: 2 }),
      '{"response_type":"update_agent","agent_config":{"reminder_max_count":2}}',
    );
  });

  await t.step("tool_call_invocation", () => {
    assertEncodes(
      createToolCallInvocationEvent("tc_1", "lookup_order", '{"order":"A1"}'),
      '{"response_type":"tool_call_invocation","tool_call_id":"tc_1","name":"lookup_order",' +
        '"arguments":"{\\"order\\":\\"A1\\"}"}',
    );
  });

  await t.step("tool_call_result with and without successful", () => {
    assertEncodes(
      createToolCallResultEvent("tc_1", "shipped"),
      '{"response_type":"tool_call_result","tool_call_id":"tc_1","content":"shipped"}',
    );
    assertEncodes(
      createToolCallResultEvent("tc_1", "shipped", true),
      '{"response_type":"tool_call_result","tool_call_id":"tc_1","content":"shipped","successful":true}',
    );
    const failed =
      '{"response_type":"tool_call_result","tool_call_id":"tc_2","content":"timeout","successful":false}';
    assertEncodes(createToolCallResultEvent("tc_2", "timeout", false), failed);
    assert.ok(failed.includes('"successful":false'));
  });

  await t.step("metadata", () => {
    assertEncodes(
      createMetadataEvent({
        animation: "wave",
        level: 3,
        list: [1, "a", null],
      }),
      '{"response_type":"metadata","metadata":{"animation":"wave","level":3,"list":[1,"a",null]}}',
    );
    assertEncodes(
      createMetadataEvent({}),
      '{"response_type":"metadata","metadata":{}}',
    );
  });
});

Deno.test("encodeOutbound() rejects an event that breaks the protocol", async (t) => {
  await t.step('content_complete as the string "true"', () => {
    assertRejected(
      { ...VALID_RESPONSE, content_complete: "true" },
      "content_complete",
    );
  });

  await t.step('response_id 1.5, -1 and "1"', () => {
    for (const response_id of [1.5, -1, "1", null, Number.NaN, Infinity]) {
      assertRejected({ ...VALID_RESPONSE, response_id }, "response_id");
    }
  });

  await t.step("response_id missing", () => {
    const { response_id: _, ...event } = VALID_RESPONSE;
    assertRejected(event, "response_id");
  });

  await t.step("content as a number", () => {
    assertRejected({ ...VALID_RESPONSE, content: 42 }, "content");
  });

  await t.step("an unknown extra key (respnse_id typo)", () => {
    const { response_id: _, ...rest } = VALID_RESPONSE;
    assertRejected({ ...rest, respnse_id: 1 }, "respnse_id", "response_id");
    assertRejected({ ...VALID_RESPONSE, respnse_id: 1 }, "respnse_id");
  });

  await t.step("missing response_type", () => {
    const { response_type: _, ...event } = VALID_RESPONSE;
    assertRejected(event, "response_type");
  });

  await t.step("unknown response_type", () => {
    for (
      const response_type of [
        "pingpong",
        "Response",
        "",
        "__proto__",
        "toString",
        "constructor",
      ]
    ) {
      assertRejected({ ...VALID_RESPONSE, response_type }, "response_type");
    }
    assertRejected({ ...VALID_RESPONSE, response_type: 1 }, "response_type");
  });

  await t.step(
    "update_agent responsiveness 1.5 and other out-of-range settings",
    () => {
      assertRejected(
        {
          response_type: "update_agent",
          agent_config: { responsiveness: 1.5 },
        },
        "agent_config.responsiveness",
      );
      assertRejected(
        {
          response_type: "update_agent",
          agent_config: { interruption_sensitivity: -0.1 },
        },
        "agent_config.interruption_sensitivity",
      );
      assertRejected(
        {
          response_type: "update_agent",
          agent_config: { reminder_trigger_ms: 0 },
        },
        "agent_config.reminder_trigger_ms",
      );
      assertRejected(
        {
          response_type: "update_agent",
          agent_config: { reminder_max_count: 1.5 },
        },
        "agent_config.reminder_max_count",
      );
      assertRejected({
        response_type: "update_agent",
        agent_config: { responsivness: 0.5 },
      }, "responsivness");
    },
  );

  await t.step("empty transfer_number and digit_to_press", () => {
    assertRejected(
      { ...VALID_RESPONSE, transfer_number: "" },
      "transfer_number",
    );
    assertRejected({ ...VALID_RESPONSE, digit_to_press: "" }, "digit_to_press");
    assertRejected(
      {
        response_type: "agent_interrupt",
        interrupt_id: 1,
        content: "x",
        content_complete: true,
        transfer_number: "",
      },
      "transfer_number",
    );
  });

  await t.step("action flags that are not booleans", () => {
    assertRejected({ ...VALID_RESPONSE, end_call: "false" }, "end_call");
    assertRejected(
      { ...VALID_RESPONSE, no_interruption_allowed: 1 },
      "no_interruption_allowed",
    );
  });

  await t.step("config with an unknown key, inside and beside config", () => {
    assertRejected({
      response_type: "config",
      config: { auto_reconnect: true, autoReconnect: true },
    }, "autoReconnect");
    // Retell's Python demo passes response_id to its config model (§4.1).
    assertRejected(
      { response_type: "config", config: {}, response_id: 1 },
      "response_id",
    );
    assertRejected(
      { response_type: "config", config: { call_details: "yes" } },
      "config.call_details",
    );
    assertRejected({ response_type: "config" }, "config");
  });

  await t.step("other events with wrong fields", () => {
    assertRejected(
      { response_type: "ping_pong", timestamp: "1767225600000" },
      "timestamp",
    );
    assertRejected({
      response_type: "agent_interrupt",
      interrupt_id: -1,
      content: "x",
      content_complete: true,
    }, "interrupt_id");
    assertRejected({
      response_type: "tool_call_invocation",
      tool_call_id: "",
      name: "f",
      arguments: "{}",
    }, "tool_call_id");
    assertRejected({
      response_type: "tool_call_invocation",
      tool_call_id: "t",
      name: "f",
      arguments: {},
    }, "arguments");
    assertRejected({
      response_type: "tool_call_result",
      tool_call_id: "t",
      content: "x",
      successful: "yes",
    }, "successful");
    assertRejected({ response_type: "metadata", metadata: [1, 2] }, "metadata");
    assertRejected(
      { response_type: "metadata", metadata: "hello" },
      "metadata",
    );
  });

  await t.step("names every bad field in one reason", () => {
    assertRejected(
      {
        response_type: "response",
        response_id: "1",
        content: 42,
        content_complete: "true",
      },
      "response_id",
      "content",
      "content_complete",
    );
  });
});

Deno.test("encodeOutbound() never throws when the event is wrongly typed", () => {
  const inputs: unknown[] = [
    {},
    [],
    42,
    "response",
    true,
    { response_type: null },
    { response_type: { toString: () => "response" } },
    { response_type: "__proto__" },
    { response_type: "toString" },
    { response_type: "constructor" },
    { response_type: "hasOwnProperty" },
    { ...VALID_RESPONSE, response_id: 10n },
    { ...VALID_RESPONSE, content: Symbol("content") },
    {
      response_type: "response",
      response_id: 1,
      content: "x",
      content_complete: true,
      __proto__: { extra: 1 },
    },
    Object.create(null),
    JSON.parse('{"response_type":"response","__proto__":{"response_id":1}}'),
    { response_type: "update_agent", agent_config: null },
    { response_type: "metadata", metadata: null },
    new Proxy({}, {
      get: (
        _target,
        key,
      ) => (key === "response_type" ? "ping_pong" : undefined),
    }),
  ];
  for (const input of inputs) {
    let result: unknown;
    assert.doesNotThrow(() => {
      result = encodeUntyped(input);
    }, `encodeOutbound threw for ${Deno.inspect(input)}`);
    assert.equal(typeof result, "object");
    assert.equal(typeof (result as { ok: unknown }).ok, "boolean");
  }
});

// Both steps below describe src bugs found while writing these tests: the
// function's contract says "Never throws", but it does.
Deno.test("encodeOutbound() returns ok:false instead of throwing when the event cannot be encoded", async (t) => {
  await t.step("null and undefined", () => {
    for (const input of [null, undefined]) {
      let result: EncodeResult | undefined;
      assert.doesNotThrow(() => {
        result = encodeUntyped(input);
      }, `encodeOutbound threw for ${String(input)}`);
      assert.equal(result?.ok, false);
    }
  });

  await t.step(
    "metadata that JSON.stringify cannot serialise (BigInt, cycle)",
    () => {
      const cyclic: Record<string, unknown> = { name: "loop" };
      cyclic.self = cyclic;
      for (const metadata of [{ big: 10n }, cyclic]) {
        let result: EncodeResult | undefined;
        assert.doesNotThrow(() => {
          result = encodeOutbound(createMetadataEvent(metadata));
        }, `encodeOutbound threw for metadata ${Deno.inspect(metadata)}`);
        assert.equal(result?.ok, false);
        assert.ok(
          result !== undefined && !result.ok &&
            result.reason.includes("metadata"),
          JSON.stringify(result),
        );
      }
    },
  );
});
