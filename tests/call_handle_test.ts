import assert from "node:assert/strict";
import type { CallContext, Responder } from "../src/responder.ts";
import {
  chunk,
  defaultConfig,
  done,
  ping,
  pong,
  responseRequired,
  said,
} from "./_support/frames.ts";
import { connectAsRetell, type Frame } from "./_support/retell_client.ts";
import { startTestServer } from "./_support/server.ts";

const GREETING = "Hello there.";

/** A promise the test settles by hand, to order events without sleeping. */
function gate<T = void>() {
  return Promise.withResolvers<T>();
}

/**
 * A responder that hands its call to the test and answers each request
 * with "Working" and then nothing more until `release` settles (or its
 * signal fires): a reply in flight for the handle to cut in on.
 */
function handingResponder(release: Promise<void>) {
  const call = gate<CallContext>();
  const responder: Responder = {
    begin(context) {
      call.resolve(context);
      return GREETING;
    },
    async *respond(_turn, { signal }) {
      yield "Working";
      await Promise.race([
        release,
        new Promise((resolve) =>
          signal.addEventListener("abort", resolve, { once: true })
        ),
      ]);
      yield " and done.";
    },
  };
  return { responder, call: call.promise };
}

/** An `agent_interrupt` frame as the server sends it. */
function interruptFrame(
  id: number,
  content: string,
  complete: boolean,
  extra: Frame = {},
): Frame {
  return {
    response_type: "agent_interrupt",
    no_interruption_allowed: true,
    interrupt_id: id,
    content,
    content_complete: complete,
    ...extra,
  };
}

/** Starts a server with `responder` and a greeted call on it. */
async function greetedCall(responder: Responder) {
  const server = startTestServer({ responder });
  const retell = await connectAsRetell(server.url("call_handle"));
  assert.deepStrictEqual(await retell.take(2), [
    defaultConfig(),
    done(0, GREETING),
  ]);
  return { server, retell };
}

/** Proves nothing else was queued before: the next frame is the echo. */
async function assertNothingBefore(retell: {
  send(frame: Frame): void;
  next(): Promise<Frame>;
}): Promise<void> {
  retell.send(ping(7));
  assert.deepStrictEqual(await retell.next(), pong(7));
}

Deno.test("call.interrupt() takes the floor from the reply in flight", async () => {
  const release = gate();
  const { responder, call } = handingResponder(release.promise);
  const { server, retell } = await greetedCall(responder);
  await using _server = server;
  await using _retell = retell;

  retell.send(responseRequired(1, [said("user", "Hi")]));
  assert.deepStrictEqual(await retell.next(), chunk(1, "Working"));
  const outcome = await (await call).interrupt("Sorry to cut in.");

  assert.equal(outcome, "spoken");
  assert.deepStrictEqual(
    await retell.next(),
    interruptFrame(1, "Sorry to cut in.", true),
  );
  const finishedInterrupt = await server.logs.waitFor("interrupt_finished");
  assert.equal(finishedInterrupt.call_id, "call_handle");
  assert.equal(finishedInterrupt.interrupt_id, 1);
  assert.equal(finishedInterrupt.outcome, "spoken");
  release.resolve();
  // Response 1 sent nothing more, not even a closing frame.
  await assertNothingBefore(retell);
  assert.equal(
    (await server.logs.waitFor("response_interrupted")).response_id,
    1,
  );
  const finished = server.logs.events("turn_finished")
    .find((record) => record.response_id === 1);
  assert.equal(finished?.outcome, "superseded");
});

Deno.test("call.interrupt() streams, carries actions, and stops for a newer request", async (t) => {
  const { responder, call } = handingResponder(Promise.resolve());
  const { server, retell } = await greetedCall(responder);
  await using _server = server;
  await using _retell = retell;
  const handle = await call;

  await t.step(
    "a stream goes out under one id, actions on its next frame",
    async () => {
      async function* parts() {
        yield "Your card expired. ";
        yield { type: "press_digit" as const, digits: "1" };
        yield "Pressing one.";
      }
      const outcome = await handle.interrupt(parts(), {
        noInterruptionAllowed: false,
      });
      assert.equal(outcome, "spoken");
      const off = { no_interruption_allowed: false };
      assert.deepStrictEqual(await retell.take(3), [
        interruptFrame(1, "Your card expired. ", false, off),
        interruptFrame(1, "Pressing one.", false, {
          ...off,
          digit_to_press: "1",
        }),
        interruptFrame(1, "", true, off),
      ]);
    },
  );

  await t.step("a newer request from Retell stops it", async () => {
    const hold = gate();
    async function* parts() {
      yield "One moment";
      await hold.promise;
      yield " more.";
    }
    const outcome = handle.interrupt(parts());
    assert.deepStrictEqual(
      await retell.next(),
      interruptFrame(2, "One moment", false),
    );
    retell.send(responseRequired(5, [said("user", "Hello?")]));
    assert.equal(await outcome, "superseded");
    hold.resolve();
    assert.deepStrictEqual(await retell.untilComplete(5), [
      chunk(5, "Working"),
      chunk(5, " and done."),
      done(5),
    ]);
    await assertNothingBefore(retell);
  });

  await t.step("a newer interrupt stops the older one", async () => {
    const hold = gate();
    async function* parts() {
      yield "First";
      await hold.promise;
      yield " never.";
    }
    const first = handle.interrupt(parts());
    assert.deepStrictEqual(
      await retell.next(),
      interruptFrame(3, "First", false),
    );
    assert.equal(await handle.interrupt("Second."), "spoken");
    assert.equal(await first, "superseded");
    hold.resolve();
    assert.deepStrictEqual(
      await retell.next(),
      interruptFrame(4, "Second.", true),
    );
    await assertNothingBefore(retell);
  });

  await t.step("a failing stream ends with an empty last frame", async () => {
    // deno-lint-ignore require-yield
    async function* parts(): AsyncGenerator<string> {
      throw new Error("lookup failed");
    }
    assert.equal(await handle.interrupt(parts()), "failed");
    assert.deepStrictEqual(await retell.next(), interruptFrame(5, "", true));
    const failed = await server.logs.waitFor("interrupt_failed");
    assert.equal(failed.call_id, "call_handle");
    assert.match(String(failed.error), /lookup failed/);
  });

  await t.step("after the close it sends nothing and says closed", async () => {
    await retell.close();
    await server.logs.waitFor("call_ended");
    assert.equal(await handle.interrupt("Anyone?"), "closed");
    assert.deepStrictEqual(handle.updateAgent({ responsiveness: 1 }), {
      ok: false,
      reason: "Cannot send update_agent: the call has ended",
    });
  });
});

Deno.test("call.end() and call.transfer() speak once and carry the action", async (t) => {
  const { responder, call } = handingResponder(Promise.resolve());
  const { server, retell } = await greetedCall(responder);
  await using _server = server;
  await using _retell = retell;
  const handle = await call;

  await t.step("transfer from a timer", async () => {
    const outcome = new Promise((resolve) =>
      setTimeout(
        () => resolve(handle.transfer("+14155550123", "Transferring you.")),
        1,
      )
    );
    assert.equal(await outcome, "spoken");
    assert.deepStrictEqual(
      await retell.next(),
      interruptFrame(1, "Transferring you.", true, {
        transfer_number: "+14155550123",
      }),
    );
  });

  await t.step("end without text hangs up at once", async () => {
    assert.equal(await handle.end(), "spoken");
    assert.deepStrictEqual(
      await retell.next(),
      interruptFrame(2, "", true, { end_call: true }),
    );
  });
});

Deno.test("call.updateAgent() checks the ranges before sending", async (t) => {
  const { responder, call } = handingResponder(Promise.resolve());
  const { server, retell } = await greetedCall(responder);
  await using _server = server;
  await using _retell = retell;
  const handle = await call;

  await t.step("sends the settings in Retell's names", async () => {
    assert.deepStrictEqual(
      handle.updateAgent({
        responsiveness: 0.3,
        interruptionSensitivity: 0,
        reminderTriggerMs: 15_000,
        reminderMaxCount: 0,
      }),
      { ok: true },
    );
    assert.deepStrictEqual(await retell.next(), {
      response_type: "update_agent",
      agent_config: {
        responsiveness: 0.3,
        interruption_sensitivity: 0,
        reminder_trigger_ms: 15_000,
        reminder_max_count: 0,
      },
    });
  });

  await t.step("names the bad field and sends nothing", async () => {
    const cases: Array<[Parameters<CallContext["updateAgent"]>[0], string]> = [
      [{ responsiveness: 1.5 }, "responsiveness"],
      [{ interruptionSensitivity: -0.1 }, "interruptionSensitivity"],
      [{ reminderTriggerMs: 0 }, "reminderTriggerMs"],
      [{ reminderMaxCount: 1.5 }, "reminderMaxCount"],
      [{ responsiveness: Number.NaN }, "responsiveness"],
      [{}, "update"],
    ];
    for (const [update, field] of cases) {
      const result = handle.updateAgent(update);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.field, field);
      assert.match(!result.ok ? result.reason : "", /^Cannot update agent: /);
    }
    await assertNothingBefore(retell);
  });
});

Deno.test("call.setMetadata() sends a metadata event or says why not", async () => {
  const { responder, call } = handingResponder(Promise.resolve());
  const { server, retell } = await greetedCall(responder);
  await using _server = server;
  await using _retell = retell;
  const handle = await call;

  assert.deepStrictEqual(handle.setMetadata({ step: "payment" }), { ok: true });
  assert.deepStrictEqual(await retell.next(), {
    response_type: "metadata",
    metadata: { step: "payment" },
  });
  const result = handle.setMetadata({ size: 1n });
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.reason : "", /^Cannot encode metadata/);
  await assertNothingBefore(retell);
});

Deno.test("the call's actions work when taken off the call", async () => {
  const { responder, call } = handingResponder(Promise.resolve());
  const { server, retell } = await greetedCall(responder);
  await using _server = server;
  await using _retell = retell;
  // The session makes the handle when an action is first reached for.
  const { setMetadata, end } = await call;

  assert.deepStrictEqual(setMetadata({ step: "wrap-up" }), { ok: true });
  assert.deepStrictEqual(await retell.next(), {
    response_type: "metadata",
    metadata: { step: "wrap-up" },
  });
  assert.equal(await end("Goodbye."), "spoken");
  assert.deepStrictEqual(
    await retell.next(),
    interruptFrame(1, "Goodbye.", true, { end_call: true }),
  );
});

Deno.test("a no_interruption_allowed part marks the rest of the response", async () => {
  const responder: Responder = {
    begin: () => GREETING,
    async *respond() {
      yield "Quick note. ";
      yield { type: "no_interruption_allowed" };
      yield "Calls are recorded.";
    },
  };
  const { server, retell } = await greetedCall(responder);
  await using _server = server;
  await using _retell = retell;

  retell.send(responseRequired(1, [said("user", "Hi")]));
  const held = { no_interruption_allowed: true };
  assert.deepStrictEqual(await retell.untilComplete(1), [
    chunk(1, "Quick note. "),
    chunk(1, "Calls are recorded.", held),
    done(1, "", held),
  ]);
});

Deno.test("a stopping server waits for an interrupt being spoken", async () => {
  const { responder, call } = handingResponder(Promise.resolve());
  const { server, retell } = await greetedCall(responder);
  await using _server = server;
  await using _retell = retell;
  const hold = gate();
  async function* parts() {
    yield "Before you go, ";
    await hold.promise;
    yield "your code is 42.";
  }
  const outcome = (await call).interrupt(parts());
  assert.deepStrictEqual(
    await retell.next(),
    interruptFrame(1, "Before you go, ", false),
  );
  assert.equal(server.retell.calls.values().next().value?.responding, true);
  const order: string[] = [];
  const drained = server.retell.drain(5_000);
  void drained.then(() => order.push("drained"));
  void outcome.then(() => order.push("spoken"));
  // Let the drain look at the call before the interrupt may finish.
  await Promise.resolve();
  hold.resolve();
  assert.deepStrictEqual(await drained, { openCalls: 1, responding: 0 });
  assert.equal(await outcome, "spoken");
  assert.deepStrictEqual(order, ["spoken", "drained"]);
  assert.deepStrictEqual(await retell.take(2), [
    interruptFrame(1, "your code is 42.", false),
    interruptFrame(1, "", true),
  ]);
});
