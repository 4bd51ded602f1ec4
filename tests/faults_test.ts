/**
 * Faults on one call, with a second live call (the canary) on the same
 * server: a responder that throws, rejects, hangs or streams forever, a
 * model server that cuts its stream, a Retell side that closes mid-reply
 * or never reads, and a call store that starts failing. For each, the
 * faulty call ends its turn as PROTOCOL.md says (the fallback text with
 * `content_complete`, §5.2, §5.9; nothing more after a close, §5.8), the
 * canary takes a turn during and after the fault, no promise rejection
 * goes unhandled, and the sanitizers see every resource released.
 */
import assert from "node:assert/strict";
import type { CallStore } from "../src/call_store/call_store.ts";
import { openCallStore } from "../src/call_store/from_settings.ts";
import { createMemoryCallStore } from "../src/call_store/memory.ts";
import type {
  Reply,
  Responder,
  ResponderOptions,
  Turn,
} from "../src/responder.ts";
import { createLlmResponder } from "../src/responders/llm.ts";
import { DEFAULT_FALLBACK_TEXT } from "../src/session.ts";
import { responseRequired, spoken } from "./_support/frames.ts";
import { redisMissing, startRedisServer } from "./call_store/_redis_server.ts";
import { startFakeLlm } from "./_support/llm_server.ts";
import { captureLogs } from "./_support/logs.ts";
import { connectDeaf } from "./_support/raw_websocket.ts";
import {
  connectAsRetell,
  type RetellClient,
} from "./_support/retell_client.ts";
import { startTestServer, type TestServer } from "./_support/server.ts";
import { recordUnhandledRejections } from "./_support/unhandled.ts";

/** The call that meets the fault. */
const FAULTY = "faulty_call";

/** What every turn without a fault is answered with. */
const REPLY = "All fine here.";

/** Longest wait for any one frame. */
const FRAME_MS = 2_000;

/**
 * A responder that answers every turn with {@linkcode REPLY}, except turn 1
 * of {@linkcode FAULTY}, which `fault` produces.
 */
function faultOn(
  fault: (turn: Turn, options: ResponderOptions) => Reply | Promise<Reply>,
): Responder {
  return {
    begin: () => "Hello.",
    respond: (turn, options) =>
      turn.call.callId === FAULTY && turn.responseId === 1
        ? fault(turn, options)
        : REPLY,
  };
}

/** Opens a call and takes its `config` and begin message. */
async function openCall(
  server: TestServer,
  callId: string,
): Promise<RetellClient> {
  const client = await connectAsRetell(server.url(callId));
  await client.untilComplete(0, FRAME_MS);
  return client;
}

/** The canary asks for turn `id` and must hear {@linkcode REPLY}. */
async function canaryTurn(canary: RetellClient, id: number): Promise<void> {
  canary.send(responseRequired(id));
  assert.equal(spoken(await canary.untilComplete(id, FRAME_MS), id), REPLY);
}

/**
 * Runs a call through a faulty turn 1 next to the canary: `during` checks
 * the faulty call's turn 1 while the canary takes a turn; afterwards both
 * calls take another turn, the faulty one as response 10. Asserts no unhandled rejection.
 */
async function throughFault(
  responder: Responder,
  during: (faulty: RetellClient, server: TestServer) => Promise<void>,
): Promise<void> {
  using unhandled = recordUnhandledRejections();
  {
    await using server = startTestServer({
      responder,
      responderTimeoutMs: 300,
    });
    await using canary = await openCall(server, "canary_call");
    await using faulty = await openCall(server, FAULTY);
    faulty.send(responseRequired(1));
    await Promise.all([during(faulty, server), canaryTurn(canary, 1)]);
    // The call goes on after the fault (`during` may have used a few ids).
    faulty.send(responseRequired(10));
    assert.equal(spoken(await faulty.untilComplete(10, FRAME_MS), 10), REPLY);
    await canaryTurn(canary, 2);
  }
  await unhandled.settle();
  assert.deepEqual(unhandled.reasons, []);
}

/** Turn 1 of the faulty call must end with the fallback text, complete. */
async function endsWithFallback(
  faulty: RetellClient,
  server: TestServer,
  said = "",
): Promise<void> {
  const frames = await faulty.untilComplete(1, FRAME_MS);
  assert.equal(spoken(frames, 1), `${said}${DEFAULT_FALLBACK_TEXT}`);
  const failed = await server.logs.waitFor("responder_failed");
  assert.equal(failed.call_id, FAULTY);
  assert.equal(failed.response_id, 1);
}

Deno.test("a responder that throws synchronously costs its call one turn, no other call", async () => {
  await throughFault(
    faultOn(() => {
      throw new Error("Cannot answer: broken on purpose");
    }),
    endsWithFallback,
  );
});

Deno.test("a responder that rejects costs its call one turn, no other call", async () => {
  await throughFault(
    faultOn(() => Promise.reject(new Error("Cannot answer: rejected"))),
    endsWithFallback,
  );
});

Deno.test("a responder that rejects mid-stream ends the turn with the fallback after its text", async () => {
  await throughFault(
    faultOn(async function* () {
      yield "Well, ";
      await Promise.resolve();
      throw new Error("Cannot go on: broken mid-stream");
    }),
    (faulty, server) => endsWithFallback(faulty, server, "Well, "),
  );
});

Deno.test("a responder that hangs times out into the fallback while other calls are answered", async () => {
  await throughFault(
    faultOn(() => new Promise<Reply>(() => {})),
    endsWithFallback,
  );
});

Deno.test("a responder that yields forever is stopped by the next request", async () => {
  const stopped = Promise.withResolvers<void>();
  await throughFault(
    faultOn(async function* (_turn, { signal }) {
      try {
        while (!signal.aborted) {
          yield "la ";
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      } finally {
        stopped.resolve();
      }
    }),
    async (faulty) => {
      // It keeps talking; Retell's caller barges in (a newer request).
      const frames = await faulty.take(3, FRAME_MS);
      assert.ok(frames.every((frame) => frame.response_id === 1));
      faulty.send(responseRequired(2));
      const rest = await faulty.untilComplete(2, FRAME_MS);
      await stopped.promise;
      // Frames under 1 may have been on their way; none follow one under 2.
      const firstOf2 = rest.findIndex((frame) => frame.response_id === 2);
      assert.ok(rest.slice(firstOf2).every((frame) => frame.response_id === 2));
      assert.equal(spoken(rest, 2), REPLY);
      faulty.send(responseRequired(3));
      assert.equal(spoken(await faulty.untilComplete(3, FRAME_MS), 3), REPLY);
    },
  );
});

Deno.test("a model server that resets mid-stream costs its call one turn, no other call", async () => {
  await using llm = startFakeLlm();
  const logs = captureLogs();
  const model = createLlmResponder({
    apiKey: "sk-test-key-1234567890",
    baseUrl: llm.baseUrl,
    model: "test-model",
    log: logs.log,
    prompt: "You help callers.",
  });
  llm.enqueue({ dropConnection: true, afterSteps: [{ text: "Half an " }] });
  await throughFault(
    faultOn((turn, options) => model.respond(turn, options)),
    (faulty, server) => endsWithFallback(faulty, server, "Half an "),
  );
  assert.equal(llm.requests.length, 1);
});

/**
 * A responder whose turn 1 on {@linkcode FAULTY} streams `chunks` pieces of
 * `size` characters, yielding to the event loop between them, and resolves
 * `stopped` with whether its signal aborted when it ends.
 */
function longTalker(
  chunks: number,
  size: number,
  stopped: PromiseWithResolvers<boolean>,
): Responder {
  return faultOn(async function* (_turn, { signal }) {
    try {
      for (let i = 0; i < chunks && !signal.aborted; i++) {
        yield "x".repeat(size - 1) + " ";
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } finally {
      stopped.resolve(signal.aborted);
    }
  });
}

/** The `ended` promise of the live call `callId`; fails when there is none. */
function endOf(server: TestServer, callId: string): Promise<unknown> {
  const call = [...server.retell.calls].find((call) => call.callId === callId);
  assert.ok(call !== undefined, `No live call ${callId}`);
  return call.ended;
}

Deno.test("a Retell side that closes mid-reply stops the reply; other calls go on", async () => {
  using unhandled = recordUnhandledRejections();
  const stopped = Promise.withResolvers<boolean>();
  {
    await using server = startTestServer({
      responder: longTalker(10_000, 20, stopped),
    });
    await using canary = await openCall(server, "canary_call");
    const faulty = await openCall(server, FAULTY);
    faulty.send(responseRequired(1));
    await faulty.take(2, FRAME_MS);
    await canaryTurn(canary, 1);
    const ended = endOf(server, FAULTY);
    await faulty.close();
    // The reply stops because the call closed, not because it ran out.
    assert.equal(await stopped.promise, true);
    await ended;
    const lines = server.logs.events("call_ended").filter((record) =>
      record.call_id === FAULTY
    );
    assert.equal(lines.length, 1);
    await canaryTurn(canary, 2);
  }
  await unhandled.settle();
  assert.deepEqual(unhandled.reasons, []);
});

Deno.test("a Retell side that never reads does not hold up other calls", async () => {
  using unhandled = recordUnhandledRejections();
  const stopped = Promise.withResolvers<boolean>();
  {
    // 64 KiB a chunk for up to 32 MiB: far more than loopback buffers hold.
    await using server = startTestServer({
      responder: longTalker(512, 65_536, stopped),
    });
    await using canary = await openCall(server, "canary_call");
    let ended: Promise<unknown>;
    {
      using deaf = await connectDeaf(server.url(FAULTY));
      await deaf.sendText(JSON.stringify(responseRequired(1)));
      // The canary is answered while the deaf call's reply piles up.
      for (let id = 1; id <= 5; id++) await canaryTurn(canary, id);
      ended = endOf(server, FAULTY);
    }
    // Closing the connection ends the call and stops its reply.
    await ended;
    await stopped.promise;
    await canaryTurn(canary, 6);
  }
  await unhandled.settle();
  assert.deepEqual(unhandled.reasons, []);
});

/** A store that works until `failing` is set, then throws or rejects. */
function breakableStore(mode: "throw" | "reject"): {
  store: CallStore;
  fail(): void;
} {
  const memory = createMemoryCallStore({ ttlMs: 60_000 });
  let failing = false;
  const guard = <A extends unknown[], T>(
    operation: (...args: A) => Promise<T>,
  ) =>
  (...args: A): Promise<T> => {
    if (!failing) return operation(...args);
    const error = new Error("Cannot reach the call store: connection refused");
    if (mode === "throw") throw error;
    return Promise.reject(error);
  };
  return {
    store: {
      get: guard(memory.get),
      markGreeted: guard(memory.markGreeted),
      saveDetails: guard(memory.saveDetails),
      touch: guard(memory.touch),
      claimToolRun: guard(memory.claimToolRun),
      getToolRun: guard(memory.getToolRun),
      saveToolResult: guard(memory.saveToolResult),
      close: () => memory.close(),
    },
    fail() {
      failing = true;
    },
  };
}

for (const mode of ["throw", "reject"] as const) {
  Deno.test(`a call store that starts to ${mode} mid-call costs no turn on any call`, async () => {
    using unhandled = recordUnhandledRejections();
    const breakable = breakableStore(mode);
    {
      await using server = startTestServer({
        responder: faultOn(() => REPLY),
        callStore: breakable.store,
      });
      await using canary = await openCall(server, "canary_call");
      await using faulty = await openCall(server, FAULTY);
      faulty.send(responseRequired(1));
      assert.equal(spoken(await faulty.untilComplete(1, FRAME_MS), 1), REPLY);
      breakable.fail();
      faulty.send(responseRequired(2));
      assert.equal(spoken(await faulty.untilComplete(2, FRAME_MS), 2), REPLY);
      await canaryTurn(canary, 1);
      const failed = await server.logs.waitFor("call_store_failed");
      assert.match(String(failed.error), /connection refused/);
      // A new call still opens and is greeted while the store is down.
      await using late = await openCall(server, "late_call");
      late.send(responseRequired(1));
      assert.equal(spoken(await late.untilComplete(1, FRAME_MS), 1), REPLY);
      const ended = endOf(server, FAULTY);
      await faulty.close();
      await ended;
      await canaryTurn(canary, 2);
    }
    await unhandled.settle();
    assert.deepEqual(unhandled.reasons, []);
  });
}

Deno.test({
  name: "a Redis call store killed mid-call costs no turn on any call",
  ignore: redisMissing !== undefined,
  async fn() {
    using unhandled = recordUnhandledRejections();
    {
      await using redis = await startRedisServer();
      const logs = captureLogs();
      const opened = await openCallStore(
        { backend: "redis", redisUrl: redis.url },
        { log: logs.log, timeoutMs: 300 },
      );
      assert.ok(opened.ok);
      try {
        await using server = startTestServer({
          responder: faultOn(() => REPLY),
          callStore: opened.store,
        }, logs);
        await using canary = await openCall(server, "canary_call");
        await using faulty = await openCall(server, FAULTY);
        faulty.send(responseRequired(1));
        assert.equal(spoken(await faulty.untilComplete(1, FRAME_MS), 1), REPLY);
        await redis.stop("SIGKILL");
        faulty.send(responseRequired(2));
        assert.equal(spoken(await faulty.untilComplete(2, FRAME_MS), 2), REPLY);
        await canaryTurn(canary, 1);
        // A new call opens and is greeted while Redis is gone.
        await using late = await openCall(server, "late_call");
        late.send(responseRequired(1));
        assert.equal(spoken(await late.untilComplete(1, FRAME_MS), 1), REPLY);
        await logs.waitFor("call_store_degraded");
        await canaryTurn(canary, 2);
      } finally {
        await opened.store.close();
      }
    }
    await unhandled.settle();
    assert.deepEqual(unhandled.reasons, []);
  },
});
