import assert from "node:assert/strict";
import fc from "fast-check";
import { isValidHotOutbound } from "../../src/protocol/_hot_outbound.ts";
import {
  createPingPongEvent,
  createResponseEvent,
  encodeOutbound,
  encodeOutboundStrict,
  type OutboundEvent,
} from "../../src/protocol/outbound.ts";
import { FUZZ_RUNS, outboundEvent } from "../fuzz/_arbitraries.ts";

/** Any JSON value, to put where a field of the right type belongs. */
const anyJson = fc.jsonValue({ maxDepth: 2 });

/** Numbers at the edges of what the schemas accept. */
const edgeNumber = fc.constantFrom(
  0,
  -0,
  -1,
  1.5,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -1767225600000.5,
);

/** The hot frames, valid or one field off: retyped, missing or extra. */
const hotEvent = fc.tuple(
  fc.oneof(
    fc.record({
      response_type: fc.constant("response"),
      response_id: fc.oneof(fc.integer({ min: 0, max: 100 }), edgeNumber),
      content: fc.string({ maxLength: 20 }),
      content_complete: fc.boolean(),
    }),
    fc.record({
      response_type: fc.constant("ping_pong"),
      timestamp: fc.oneof(fc.integer({ min: 0 }), fc.double(), edgeNumber),
    }),
  ),
  fc.constantFrom(
    "response_type",
    "response_id",
    "content",
    "content_complete",
    "timestamp",
    "no_interruption_allowed",
    "__proto__",
    "extra",
  ),
  fc.option(fc.oneof(anyJson, edgeNumber), { freq: 3 }),
  fc.constantFrom("keep", "keep", "keep", "null-prototype", "class"),
).map(([event, key, replacement, prototype]) => {
  const copy: Record<string, unknown> = { ...event };
  if (replacement === null) delete copy[key];
  else if (replacement !== undefined) {
    Object.defineProperty(copy, key, {
      value: replacement,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (prototype === "null-prototype") Object.setPrototypeOf(copy, null);
  if (prototype === "class") {
    Object.setPrototypeOf(copy, class Frame {}.prototype);
  }
  return copy;
});

function encode(event: unknown) {
  return {
    fast: encodeOutbound(event as OutboundEvent),
    strict: encodeOutboundStrict(event as OutboundEvent),
  };
}

Deno.test("encodeOutbound() takes the hand-written path for every turn's frames", () => {
  // Without this the property below would hold with a path never taken.
  assert.ok(isValidHotOutbound(createResponseEvent({
    response_id: 7,
    content: "Hello",
    content_complete: false,
  })));
  assert.ok(isValidHotOutbound(createPingPongEvent(1767225600000)));
  assert.ok(
    !isValidHotOutbound(createResponseEvent({
      response_id: 7,
      content: "Bye",
      content_complete: true,
      end_call: true,
    })),
    "frames with action flags are left to the schema",
  );
});

Deno.test("encodeOutbound() matches the schemas on valid and mutated hot frames", () => {
  fc.assert(
    fc.property(hotEvent, (event) => {
      const { fast, strict } = encode(event);
      assert.deepStrictEqual(fast, strict);
      if (isValidHotOutbound(event)) assert.ok(strict.ok);
    }),
    { numRuns: FUZZ_RUNS * 4 },
  );
});

Deno.test("encodeOutbound() matches the schemas on every kind of event", () => {
  fc.assert(
    fc.property(outboundEvent, (event) => {
      const { fast, strict } = encode(event);
      assert.deepStrictEqual(fast, strict);
    }),
    { numRuns: FUZZ_RUNS },
  );
});
