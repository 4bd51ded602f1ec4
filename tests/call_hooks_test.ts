import assert from "node:assert/strict";
import type { CallSummary } from "../src/call_summary.ts";
import type { CallDetails } from "../src/protocol/inbound.ts";
import type { Responder } from "../src/responder.ts";
import {
  defaultConfig,
  done,
  ping,
  pong,
  responseRequired,
  said,
} from "./_support/frames.ts";
import { connectAsRetell, type Frame } from "./_support/retell_client.ts";
import { startTestServer } from "./_support/server.ts";

const BLOCKED = "+15550000666";

/** The `call_details` event Retell sends for a caller from `fromNumber`. */
function callDetails(fromNumber: string): Frame {
  return {
    interaction_type: "call_details",
    call: {
      call_id: "call_hooks",
      from_number: fromNumber,
      retell_llm_dynamic_variables: { plan: "basic" },
    } satisfies CallDetails,
  };
}

/**
 * Greets with the caller's dynamic variables; refuses `BLOCKED` and looks
 * the others' names up in its "CRM".
 */
const screening: Responder = {
  begin(call) {
    const variables = call.details?.retell_llm_dynamic_variables;
    return `Hi ${variables?.customer_name}, you are on ${variables?.plan}.`;
  },
  respond: (turn) =>
    `Still ${turn.call.details?.retell_llm_dynamic_variables?.customer_name}.`,
  async onCallDetails(details, call) {
    if (details.from_number === BLOCKED) {
      await call.end("Sorry, we cannot take your call.");
      return;
    }
    return { dynamicVariables: { customer_name: "Dana", plan: "gold" } };
  },
};

Deno.test("onCallDetails adds dynamic variables the greeting and turns see", async () => {
  await using server = startTestServer({ responder: screening });
  await using retell = await connectAsRetell(server.url("call_hooks"));
  assert.deepStrictEqual(await retell.next(), defaultConfig());
  retell.send(callDetails("+15550000001"));
  assert.deepStrictEqual(
    await retell.next(),
    done(0, "Hi Dana, you are on gold."),
  );
  retell.send(responseRequired(1, [said("user", "Hello")]));
  assert.deepStrictEqual(await retell.next(), done(1, "Still Dana."));
});

Deno.test("onCallDetails refuses a caller with a spoken line and a hang-up", async () => {
  await using server = startTestServer({ responder: screening });
  await using retell = await connectAsRetell(server.url("call_hooks"));
  assert.deepStrictEqual(await retell.next(), defaultConfig());
  retell.send(callDetails(BLOCKED));
  assert.deepStrictEqual(await retell.next(), {
    response_type: "agent_interrupt",
    no_interruption_allowed: true,
    end_call: true,
    interrupt_id: 1,
    content: "Sorry, we cannot take your call.",
    content_complete: true,
  });
  // No greeting follows the goodbye.
  retell.send(ping(3));
  assert.deepStrictEqual(await retell.next(), pong(3));
});

Deno.test("a failing or hanging onCallDetails is logged and the call goes on", async (t) => {
  const cases: Array<[string, Responder["onCallDetails"], RegExp]> = [
    ["throws", () => {
      throw new Error("CRM down");
    }, /CRM down/],
    ["rejects", () => Promise.reject(new Error("CRM down")), /CRM down/],
    ["hangs", () => new Promise(() => {}), /no answer within 50 ms/],
  ];
  for (const [name, onCallDetails, error] of cases) {
    await t.step(`when it ${name}`, async () => {
      await using server = startTestServer({
        responder: { ...screening, onCallDetails },
        hookTimeoutMs: 50,
      });
      await using retell = await connectAsRetell(server.url("call_hooks"));
      assert.deepStrictEqual(await retell.next(), defaultConfig());
      retell.send(callDetails("+15550000001"));
      // The call's own variables stand; the hook added none.
      assert.deepStrictEqual(
        await retell.next(),
        done(0, "Hi undefined, you are on basic."),
      );
      const failed = await server.logs.waitFor("hook_failed");
      assert.equal(failed.call_id, "call_hooks");
      assert.equal(failed.hook, "onCallDetails");
      assert.match(String(failed.error), error);
    });
  }
});

Deno.test("onCallEnded receives the summary and never delays the close", async (t) => {
  await t.step("gets the call's summary", async () => {
    const summary = Promise.withResolvers<CallSummary>();
    await using server = startTestServer({
      responder: {
        ...screening,
        onCallEnded: (value, call) => {
          assert.equal(call.callId, "call_hooks");
          summary.resolve(value);
        },
      },
    });
    await using retell = await connectAsRetell(server.url("call_hooks"));
    retell.send(callDetails("+15550000001"));
    await retell.take(2);
    retell.send(responseRequired(1, [said("user", "Hello")]));
    await retell.untilComplete(1);
    await retell.close(1000);
    const value = await summary.promise;
    assert.equal(value.callId, "call_hooks");
    assert.equal(value.turns, 1);
    assert.equal(value.closeCode, 1000);
  });

  await t.step(
    "a hook that hangs is bounded and the call ends at once",
    async () => {
      await using server = startTestServer({
        responder: { ...screening, onCallEnded: () => new Promise(() => {}) },
        hookTimeoutMs: 50,
      });
      const retell = await connectAsRetell(server.url("call_hooks"));
      await retell.next();
      const [session] = [...server.retell.calls];
      await retell.close(1000);
      assert.equal((await session!.ended).closeCode, 1000);
      const failed = await server.logs.waitFor("hook_failed");
      assert.equal(failed.hook, "onCallEnded");
      assert.equal(failed.call_id, "call_hooks");
    },
  );

  await t.step("a hook that throws is logged", async () => {
    await using server = startTestServer({
      responder: {
        ...screening,
        onCallEnded: () => {
          throw new Error("billing down");
        },
      },
    });
    const retell = await connectAsRetell(server.url("call_hooks"));
    await retell.next();
    await retell.close(1000);
    const failed = await server.logs.waitFor("hook_failed");
    assert.equal(failed.hook, "onCallEnded");
    assert.match(String(failed.error), /billing down/);
  });
});
