import assert from "node:assert/strict";
import type { ChatToolCall } from "../../src/llm/messages.ts";
import {
  createToolCallAssembler,
  type ToolCallDelta,
} from "../../src/llm/tool_calls.ts";

/** Stands in for an id the assembler made up, in expected values. */
const MADE_UP = "<made up>";
const MADE_UP_ID_REGEXP =
  /^call_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function call(id: string, name: string, args: string): ChatToolCall {
  return { id, type: "function", function: { name, arguments: args } };
}

/** Feeds `deltas` in order and returns the calls, made-up ids replaced. */
function assemble(deltas: readonly ToolCallDelta[]): ChatToolCall[] {
  const assembler = createToolCallAssembler();
  for (const delta of deltas) assembler.push(delta);
  return assembler.calls().map((toolCall) =>
    MADE_UP_ID_REGEXP.test(toolCall.id)
      ? { ...toolCall, id: MADE_UP }
      : toolCall
  );
}

const cases: {
  name: string;
  deltas: ToolCallDelta[];
  expected: ChatToolCall[];
}[] = [
  {
    name: "no pieces give no calls",
    deltas: [],
    expected: [],
  },
  {
    name: "one call in one piece",
    deltas: [{
      index: 0,
      id: "call_a",
      function: { name: "get_time", arguments: '{"zone":"UTC"}' },
    }],
    expected: [call("call_a", "get_time", '{"zone":"UTC"}')],
  },
  {
    name: "a name split across pieces",
    deltas: [
      { index: 0, id: "call_a", function: { name: "get" } },
      { index: 0, function: { name: "_ti" } },
      { index: 0, function: { name: "me", arguments: "{}" } },
    ],
    expected: [call("call_a", "get_time", "{}")],
  },
  {
    name: "argument JSON split inside a key, a string and an escape",
    deltas: [
      { index: 0, id: "call_a", function: { name: "note", arguments: "" } },
      { index: 0, function: { arguments: '{"te' } },
      { index: 0, function: { arguments: 'xt":"say \\' } },
      { index: 0, function: { arguments: '"hi\\""}' } },
    ],
    expected: [call("call_a", "note", '{"text":"say \\"hi\\""}')],
  },
  {
    name: "several calls interleaved by index, in index order",
    deltas: [
      { index: 0, id: "call_a", function: { name: "book", arguments: "" } },
      { index: 1, id: "call_b", function: { name: "pay", arguments: "" } },
      { index: 0, function: { arguments: '{"day":' } },
      { index: 1, function: { arguments: '{"sum":' } },
      { index: 1, function: { arguments: "12}" } },
      { index: 0, function: { arguments: '"mon"}' } },
    ],
    expected: [
      call("call_a", "book", '{"day":"mon"}'),
      call("call_b", "pay", '{"sum":12}'),
    ],
  },
  {
    name: "a later index arriving first still sorts by index",
    deltas: [
      { index: 1, id: "call_b", function: { name: "pay", arguments: "{}" } },
      { index: 0, id: "call_a", function: { name: "book", arguments: "{}" } },
    ],
    expected: [call("call_a", "book", "{}"), call("call_b", "pay", "{}")],
  },
  {
    name: "a gap in the indexes is skipped",
    deltas: [
      { index: 0, id: "call_a", function: { name: "book", arguments: "{}" } },
      { index: 2, id: "call_c", function: { name: "pay", arguments: "{}" } },
    ],
    expected: [call("call_a", "book", "{}"), call("call_c", "pay", "{}")],
  },
  {
    name: "a missing id is made up",
    deltas: [
      { index: 0, function: { name: "get_time" } },
      { index: 0, function: { arguments: "{}" } },
    ],
    expected: [call(MADE_UP, "get_time", "{}")],
  },
  {
    name: "an id on a later piece replaces the made-up one",
    deltas: [
      { index: 0, function: { name: "get_time" } },
      { index: 0, id: "call_late", function: { arguments: "{}" } },
    ],
    expected: [call("call_late", "get_time", "{}")],
  },
  {
    name: "an id repeated on every piece is kept once",
    deltas: [
      { index: 0, id: "call_a", function: { name: "get_" } },
      { index: 0, id: "call_a", function: { name: "time", arguments: "{}" } },
    ],
    expected: [call("call_a", "get_time", "{}")],
  },
  {
    name: "empty pieces change nothing",
    deltas: [
      { index: 0, id: "call_a", function: { name: "end_call" } },
      { index: 0, id: "", function: { name: "", arguments: "" } },
      { index: 0 },
      { index: 0, function: { arguments: "{}" } },
    ],
    expected: [call("call_a", "end_call", "{}")],
  },
  {
    name: "a call that never got a name is dropped",
    deltas: [
      { index: 0, id: "call_a", function: { arguments: '{"x":1}' } },
      { index: 1, id: "call_b", function: { name: "pay", arguments: "{}" } },
    ],
    expected: [call("call_b", "pay", "{}")],
  },
];

Deno.test("createToolCallAssembler() puts streamed pieces together", async (t) => {
  for (const { name, deltas, expected } of cases) {
    await t.step(name, () => {
      assert.deepStrictEqual(assemble(deltas), expected);
    });
  }
});

Deno.test("createToolCallAssembler() makes up a different id for each call", () => {
  const assembler = createToolCallAssembler();
  assembler.push({ index: 0, function: { name: "book", arguments: "{}" } });
  assembler.push({ index: 1, function: { name: "pay", arguments: "{}" } });
  const ids = assembler.calls().map((toolCall) => toolCall.id);
  assert.equal(ids.length, 2);
  assert.ok(ids.every((id) => MADE_UP_ID_REGEXP.test(id)), ids.join(", "));
  assert.notEqual(ids[0], ids[1]);
});

Deno.test("createToolCallAssembler() keeps a call's made-up id across pieces", () => {
  const assembler = createToolCallAssembler();
  assembler.push({ index: 0, function: { name: "book" } });
  const [first] = assembler.calls();
  assembler.push({ index: 0, function: { arguments: "{}" } });
  const [second] = assembler.calls();
  assert.equal(second?.id, first?.id);
});
