import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeOutbound,
  encodeOutboundStrict,
  type OutboundEvent,
} from "../../src/protocol/outbound.ts";
import { FUZZ_RUNS, outboundEvent } from "../fuzz/_arbitraries.ts";

/** Any value, to put where a field of the right type belongs. */
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 1 }),
  fc.constantFrom(undefined, NaN, Infinity, -0, 1.5, 2 ** 53, -1, ""),
);

/** The events sent every turn, valid or one field off. */
const hotEvent = fc.tuple(
  fc.oneof(
    fc.record({
      response_type: fc.constant("response"),
      response_id: fc.integer({ min: 0, max: 50 }),
      content: fc.string({ maxLength: 10 }),
      content_complete: fc.boolean(),
      no_interruption_allowed: fc.boolean(),
      end_call: fc.boolean(),
      transfer_number: fc.string({ minLength: 1, maxLength: 3 }),
      show_transferee_as_caller: fc.boolean(),
      digit_to_press: fc.string({ minLength: 1, maxLength: 2 }),
    }, {
      requiredKeys: [
        "response_type",
        "response_id",
        "content",
        "content_complete",
      ],
    }),
    fc.record({
      response_type: fc.constant("ping_pong"),
      timestamp: fc.integer({ min: 0 }),
    }),
  ),
  fc.option(
    fc.tuple(
      fc.constantFrom(
        "response_type",
        "response_id",
        "timestamp",
        "content",
        "content_complete",
        "end_call",
        "transfer_number",
        "digit_to_press",
        "__proto__",
        "extra",
      ),
      anyValue,
    ),
    { freq: 2 },
  ),
).map(([event, change]) => {
  if (change !== null) {
    Object.defineProperty(event, change[0], {
      value: change[1],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return event;
});

function assertSameEncoding(event: unknown): boolean {
  const fast = encodeOutbound(event as OutboundEvent);
  assert.deepStrictEqual(fast, encodeOutboundStrict(event as OutboundEvent));
  return fast.ok;
}

Deno.test("encodeOutbound() encodes every generated hot event exactly as the strict schemas do", () => {
  let accepted = 0;
  let rejected = 0;
  fc.assert(
    fc.property(hotEvent, (event) => {
      if (assertSameEncoding(event)) accepted++;
      else rejected++;
    }),
    { numRuns: FUZZ_RUNS * 4 },
  );
  // Both sides must be reached, or the property is hollow.
  assert.ok(accepted > 50, `only ${accepted} accepted`);
  assert.ok(rejected > 50, `only ${rejected} rejected`);
});

Deno.test("encodeOutbound() encodes every generated event exactly as the strict schemas do", () => {
  fc.assert(
    fc.property(outboundEvent, (event) => {
      assertSameEncoding(event);
    }),
    { numRuns: FUZZ_RUNS },
  );
});

Deno.test("encodeOutbound() leaves an event with a prototype or a null prototype to the schemas", () => {
  const fields = {
    response_type: "response",
    response_id: 1,
    content: "x",
    content_complete: true,
  };
  assertSameEncoding(Object.assign(Object.create(null), fields));
  assertSameEncoding(Object.assign(Object.create({ extra: 1 }), fields));
  assertSameEncoding(Object.create(fields));
});
