import assert from "node:assert/strict";
import fc from "fast-check";
import { parseInbound } from "../../src/protocol/inbound.ts";
import { parseOutbound } from "../../src/protocol/outbound_parse.ts";
import {
  FUZZ_RUNS,
  inboundEvent,
  mutatedFrame,
  outboundEvent,
} from "./_arbitraries.ts";

/** Any text at all: code units, full Unicode, and JSON-ish noise. */
const anyText = fc.oneof(
  fc.string({ maxLength: 200, unit: "binary" }),
  fc.string({ maxLength: 200, unit: "grapheme" }),
  fc.json({ maxDepth: 4 }),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
);

/** A parse result must be data: `ok`, and on failure a one-line reason. */
function assertResult(
  result: { ok: true } | { ok: false; reason: string; issues: unknown[] },
): void {
  if (result.ok) return;
  assert.equal(typeof result.reason, "string");
  assert.ok(
    !result.reason.includes("\n"),
    `reason spans lines: ${result.reason}`,
  );
  assert.ok(Array.isArray(result.issues));
}

Deno.test("parseInbound() returns a result, never throws, for any text", () => {
  fc.assert(
    fc.property(anyText, (text) => assertResult(parseInbound(text))),
    { numRuns: FUZZ_RUNS },
  );
});

Deno.test("parseInbound() returns a result, never throws, for mutated Retell events", () => {
  let accepted = 0;
  fc.assert(
    fc.property(mutatedFrame(inboundEvent), (text) => {
      const result = parseInbound(text);
      assertResult(result);
      if (result.ok) {
        accepted++;
        // A valid event is a plain object of a known type.
        assert.equal(Object.getPrototypeOf(result.event), Object.prototype);
      }
    }),
    { numRuns: FUZZ_RUNS },
  );
  // The generator must reach the valid side too, or the property is hollow.
  assert.ok(accepted > 0, "no mutated frame was ever accepted");
});

Deno.test("parseInbound() accepts every well-formed Retell event", () => {
  fc.assert(
    fc.property(inboundEvent, (event) => {
      const id = event.response_id;
      // Ids outside 0..2^53 are Retell's to never send; only the rest must pass.
      fc.pre(id === undefined || (typeof id === "number" && id >= 0));
      const result = parseInbound(JSON.stringify(event));
      assert.ok(result.ok, result.ok ? "" : result.reason);
    }),
    { numRuns: FUZZ_RUNS },
  );
});

Deno.test("parseOutbound() returns a result, never throws, for any text", () => {
  fc.assert(
    fc.property(anyText, (text) => assertResult(parseOutbound(text))),
    { numRuns: FUZZ_RUNS },
  );
});

Deno.test("parseOutbound() returns a result, never throws, for mutated server events", () => {
  fc.assert(
    fc.property(
      mutatedFrame(outboundEvent),
      (text) => assertResult(parseOutbound(text)),
    ),
    { numRuns: FUZZ_RUNS },
  );
});
