import assert from "node:assert/strict";
import fc from "fast-check";
import {
  parseInbound,
  parseInboundStrict,
} from "../../src/protocol/inbound.ts";
import {
  FUZZ_RUNS,
  inboundEvent,
  mutatedFrame,
  utterance,
} from "../fuzz/_arbitraries.ts";

/** Any JSON value, to put where a field of the right type belongs. */
const anyJson = fc.jsonValue({ maxDepth: 2 });

/** A value with one of its keys replaced, added or removed. */
function retyped(
  base: fc.Arbitrary<Record<string, unknown>>,
  keys: string[],
): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(
    base,
    fc.constantFrom(...keys, "__proto__", "extra"),
    fc.option(anyJson),
  ).map(([value, key, replacement]) => {
    const copy: Record<string, unknown> = { ...value };
    if (replacement === null) delete copy[key];
    else {Object.defineProperty(copy, key, {
        value: replacement,
        enumerable: true,
        writable: true,
        configurable: true,
      });}
    return copy;
  });
}

const word = fc.record({
  word: fc.oneof(fc.string({ maxLength: 4 }), anyJson),
  start: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), anyJson),
  end: fc.double({ noNaN: true, noDefaultInfinity: true }),
  extra: anyJson,
}, { requiredKeys: [] });

/** Utterances close to valid, down to their words. */
const nearUtterance = fc.oneof(
  { weight: 4, arbitrary: utterance },
  {
    weight: 2,
    arbitrary: fc.tuple(utterance, fc.array(word, { maxLength: 3 })).map((
      [value, words],
    ) => ({ ...value, words })),
  },
  { weight: 1, arbitrary: retyped(utterance, ["role", "content", "words"]) },
  { weight: 1, arbitrary: anyJson },
);

/** The events Retell sends every turn, valid or one field off at any depth. */
const hotEvent = fc.oneof(
  fc.record({
    interaction_type: fc.constantFrom(
      "update_only",
      "response_required",
      "reminder_required",
      "ping_pong",
    ),
    response_id: fc.oneof(
      fc.integer({ min: 0, max: 50 }),
      fc.constantFrom(-1, 1.5, -0, 2 ** 53, Number.MAX_SAFE_INTEGER),
      anyJson,
    ),
    timestamp: fc.oneof(fc.integer({ min: 0 }), anyJson),
    transcript: fc.oneof(
      { weight: 6, arbitrary: fc.array(nearUtterance, { maxLength: 5 }) },
      { weight: 1, arbitrary: anyJson },
    ),
    transcript_with_tool_calls: fc.oneof(
      fc.array(
        fc.oneof(
          fc.record({ role: fc.string({ maxLength: 6 }), x: anyJson }, {
            requiredKeys: ["role"],
          }),
          anyJson,
        ),
        { maxLength: 3 },
      ),
      anyJson,
    ),
    turntaking: fc.oneof(
      fc.constantFrom("agent_turn", "user_turn", "other"),
      anyJson,
    ),
  }, { requiredKeys: ["interaction_type"] }),
);

function assertSameReading(text: string): boolean {
  const fast = parseInbound(text);
  const strict = parseInboundStrict(text);
  assert.deepStrictEqual(fast, strict);
  return fast.ok;
}

Deno.test("parseInbound() reads every generated hot event exactly as the zod schemas do", () => {
  let accepted = 0;
  let rejected = 0;
  fc.assert(
    fc.property(hotEvent, (event) => {
      if (assertSameReading(JSON.stringify(event))) accepted++;
      else rejected++;
    }),
    { numRuns: FUZZ_RUNS * 4 },
  );
  // Both sides must be reached, or the property is hollow.
  assert.ok(accepted > 50, `only ${accepted} accepted`);
  assert.ok(rejected > 50, `only ${rejected} rejected`);
});

Deno.test("parseInbound() reads mutated Retell events exactly as the zod schemas do", () => {
  fc.assert(
    fc.property(mutatedFrame(inboundEvent), (text) => {
      assertSameReading(text);
    }),
    { numRuns: FUZZ_RUNS },
  );
});

Deno.test("parseInbound() reads a word with extra keys without them, as the schema does", () => {
  const text = JSON.stringify({
    interaction_type: "update_only",
    transcript: [{
      role: "user",
      content: "hi",
      words: [{ word: "hi", start: 0, end: 1, confidence: 0.9 }],
      metadata: { a: 1 },
    }],
  });
  assertSameReading(text);
  const result = parseInbound(text);
  assert.ok(result.ok);
  assert.deepStrictEqual(result.event, {
    interaction_type: "update_only",
    transcript: [{
      role: "user",
      content: "hi",
      words: [{ word: "hi", start: 0, end: 1 }],
      metadata: { a: 1 },
    }],
  });
});
