/**
 * Calls that survive Retell's reconnects: on another server in the same
 * process sharing a store, on a restarted process sharing a Deno KV file,
 * and on another process sharing a real redis-server.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { createMemoryCallStore } from "../src/call_store/memory.ts";
import { defineTool } from "../src/llm/tools.ts";
import { createLlmResponder } from "../src/responders/llm.ts";
import { redisMissing, startRedisServer } from "./call_store/_redis_server.ts";
import {
  configEvent,
  done,
  ping,
  pong,
  responseRequired,
  said,
  spoken,
} from "./_support/frames.ts";
import { type LlmScript, startFakeLlm, tokens } from "./_support/llm_server.ts";
import { captureLogs } from "./_support/logs.ts";
import { connectAsRetell, type Frame } from "./_support/retell_client.ts";
import { startTestServer } from "./_support/server.ts";
import { MAIN_ARGS, startServerProcess } from "./_support/server_process.ts";

/** The config frame `main.ts` sends with the default settings. */
const MAIN_CONFIG = configEvent({
  auto_reconnect: true,
  call_details: true,
  transcript_with_tool_calls: false,
});
const DUMMY_GREETING = "How may I help you?";
const DUMMY_REPLY = "I am sorry, can you say that again?";

/** A script in which the model asks for `book_slot` with these arguments. */
function bookSlotCall(id: string, args: string): LlmScript {
  return { steps: [{ toolCall: { id, name: "book_slot", arguments: args } }] };
}

/** Frames of one type. */
function ofType(frames: Frame[], type: string): Frame[] {
  return frames.filter((frame) => frame.response_type === type);
}

/**
 * Two servers in this process, like two instances, sharing one store, each
 * with an LLM responder whose `book_slot` tool runs until released.
 */
function twoInstances(toolWaitMs?: number) {
  const store = createMemoryCallStore({ ttlMs: 3_600_000 });
  const llm = startFakeLlm();
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const counter = { runs: 0 };
  const bookSlot = defineTool({
    name: "book_slot",
    description: "Books a slot.",
    parameters: z.object({ slot: z.string() }),
    handler: async ({ slot }) => {
      counter.runs++;
      started.resolve();
      await release.promise;
      return `Booked ${slot}.`;
    },
  });
  const instance = () => {
    const logs = captureLogs();
    const responder = createLlmResponder({
      apiKey: "sk-test",
      baseUrl: llm.baseUrl,
      model: "test-model",
      log: logs.log,
      beginMessage: "Hello.",
      tools: [bookSlot],
      ...(toolWaitMs !== undefined && { toolWaitMs }),
    });
    return startTestServer({
      responder,
      callStore: store,
      callConfig: { call_details: false },
    }, logs);
  };
  const a = instance();
  const b = instance();
  return {
    llm,
    a,
    b,
    counter,
    started: started.promise,
    release: () => release.resolve(),
    async [Symbol.asyncDispose]() {
      release.resolve();
      await a[Symbol.asyncDispose]();
      await b[Symbol.asyncDispose]();
      await llm[Symbol.asyncDispose]();
    },
  };
}

const ASKED = [said("agent", "Hello."), said("user", "Book nine, please.")];

/** Opens the call on `a`, has the model start `book_slot`, then drops the socket. */
async function startBookingThenDrop(env: ReturnType<typeof twoInstances>) {
  const first = await connectAsRetell(env.a.url("call_tool"));
  assert.deepStrictEqual(await first.take(2), [
    configEvent({ call_details: false }),
    done(0, "Hello."),
  ]);
  env.llm.enqueue(bookSlotCall("tc_1", '{"slot":"09:00"}'));
  first.send(responseRequired(1, ASKED));
  await env.started;
  // Retell's drop is a 1006; a client cannot send one, and the server
  // treats every close alike.
  await first.close();
}

Deno.test("a reconnected socket waits for a tool the first socket is still running", async () => {
  await using env = twoInstances();
  await startBookingThenDrop(env);

  await using second = await connectAsRetell(env.b.url("call_tool"));
  assert.deepStrictEqual(
    await second.next(),
    configEvent({ call_details: false }),
  );
  env.llm.enqueue(
    bookSlotCall("tc_2", '{ "slot": "09:00" }'),
    tokens("You are booked at nine."),
  );
  second.send(responseRequired(1, ASKED));
  await env.b.logs.waitFor("tool_waiting");
  env.release();
  const frames = await second.untilComplete(1);

  assert.equal(env.counter.runs, 1, "the tool ran once, on the first socket");
  assert.deepStrictEqual(ofType(frames, "tool_call_result"), [{
    response_type: "tool_call_result",
    tool_call_id: "tc_2",
    content: "Booked 09:00.",
    successful: true,
  }]);
  assert.equal(spoken(frames, 1), "You are booked at nine.");
  const toolMessage = (env.llm.requests[2]!.body.messages as Frame[]).at(-1);
  assert.deepStrictEqual(toolMessage, {
    role: "tool",
    tool_call_id: "tc_2",
    content: "Booked 09:00.",
  });
  assert.equal(env.b.logs.events("tool_reused")[0]?.from, "store");
  assert.equal(env.b.logs.events("call_reconnected").length, 1);
});

Deno.test("a reconnected socket tells the model when a tool started before gave no result in time", async () => {
  await using env = twoInstances(100);
  await startBookingThenDrop(env);

  await using second = await connectAsRetell(env.b.url("call_tool"));
  await second.next();
  env.llm.enqueue(
    bookSlotCall("tc_2", '{"slot":"09:00"}'),
    tokens("I could not confirm the booking yet."),
  );
  second.send(responseRequired(1, ASKED));
  const frames = await second.untilComplete(1);

  assert.equal(env.counter.runs, 1, "the tool did not run again");
  const [result] = ofType(frames, "tool_call_result");
  assert.equal(result?.successful, false);
  assert.match(String(result?.content), /result is not known/);
  assert.equal(spoken(frames, 1), "I could not confirm the booking yet.");
  assert.equal(env.b.logs.events("tool_result_unknown").length, 1);
});

Deno.test("a call continues on a restarted process that shares its Deno KV file", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "reconnect_kv_" });
  try {
    const env = {
      RESPONDER: "dummy",
      CALL_STORE: "kv",
      KV_PATH: `${dir}/calls.sqlite`,
      LOG_LEVEL: "debug",
    };
    const callId = `call_${crypto.randomUUID()}`;
    const asked = [said("agent", DUMMY_GREETING), said("user", "Hello?")];

    const first = await startServerProcess({ env });
    const retell = await connectAsRetell(first.url(callId));
    try {
      assert.deepStrictEqual(await retell.take(2), [
        MAIN_CONFIG,
        done(0, DUMMY_GREETING),
      ]);
      retell.send(responseRequired(1, asked));
      assert.deepStrictEqual(await retell.next(), done(1, DUMMY_REPLY));
      await first.waitForLog(
        "call_store_saved",
        undefined,
        (r) => r.operation === "markGreeted",
      );
      first.child.kill("SIGKILL");
      const dropped = await retell.closed;
      assert.equal(
        dropped.wasClean,
        false,
        `an abnormal drop: ${dropped.code}`,
      );
    } finally {
      await retell.close();
      await first[Symbol.asyncDispose]();
    }

    await using second = await startServerProcess({ env });
    await using again = await connectAsRetell(second.url(callId));
    assert.deepStrictEqual(await again.next(), MAIN_CONFIG);
    again.send(ping(1));
    assert.deepStrictEqual(await again.next(), pong(1), "no second greeting");
    again.send(
      responseRequired(2, [
        ...asked,
        said("agent", DUMMY_REPLY),
        said("user", "Hi?"),
      ]),
    );
    assert.deepStrictEqual(await again.next(), done(2, DUMMY_REPLY));
    const reconnected = await second.waitForLog("call_reconnected");
    assert.equal(reconnected.call_id, callId);
    assert.equal(typeof reconnected.gap_ms, "number");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "a call moves to another process sharing redis-server: no second greeting, no second tool run",
  ignore: redisMissing !== undefined,
  async fn() {
    await using redis = await startRedisServer();
    await using llm = startFakeLlm();
    const bookings: unknown[] = [];
    await using booking = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        const { slot, name } = await request.json();
        bookings.push({ slot, name });
        return new Response(
          `Booked ${slot} for ${name}, booking ${bookings.length}.`,
        );
      },
    );
    const env = {
      RESPONDER: "llm",
      OPENAI_API_KEY: "sk-test",
      OPENAI_MODEL: "test-model",
      OPENAI_BASE_URL: llm.baseUrl,
      BEGIN_MESSAGE: "Hello, this is the clinic.",
      CALL_DETAILS: "false",
      CALL_STORE: "redis",
      REDIS_URL: redis.url,
      LOG_LEVEL: "debug",
    };
    const start = () =>
      startServerProcess({
        args: [
          ...MAIN_ARGS.slice(0, -1),
          "tests/_reconnect_server.ts",
          `http://127.0.0.1:${booking.addr.port}/book`,
        ],
        env,
      });
    const [first, second] = await Promise.all([start(), start()]);
    await using _second = second;
    const callId = `call_${crypto.randomUUID()}`;
    const config = configEvent({
      auto_reconnect: true,
      call_details: false,
      transcript_with_tool_calls: false,
    });
    const asked = [
      said("agent", "Hello, this is the clinic."),
      said("user", "Book nine for Dana, please."),
    ];

    const retell = await connectAsRetell(first.url(callId));
    try {
      assert.deepStrictEqual(await retell.take(2), [
        config,
        done(0, "Hello, this is the clinic."),
      ]);
      await first.waitForLog(
        "call_store_saved",
        undefined,
        (r) => r.operation === "markGreeted",
      );
      llm.enqueue(
        bookSlotCall("tc_1", '{"slot":"09:00","name":"Dana"}'),
        tokens("You are booked at nine."),
      );
      retell.send(responseRequired(1, asked));
      const frames = await retell.untilComplete(1);
      assert.equal(
        ofType(frames, "tool_call_result")[0]?.content,
        "Booked 09:00 for Dana, booking 1.",
      );
      first.child.kill("SIGKILL");
      assert.equal((await retell.closed).wasClean, false, "an abnormal drop");
    } finally {
      await retell.close();
      await first[Symbol.asyncDispose]();
    }

    await using again = await connectAsRetell(second.url(callId));
    assert.deepStrictEqual(await again.next(), config);
    again.send(ping(1));
    assert.deepStrictEqual(await again.next(), pong(1), "no second greeting");
    llm.enqueue(
      bookSlotCall("tc_2", '{"name":"Dana","slot":"09:00"}'),
      tokens("Yes, Dana, you are booked at nine."),
    );
    again.send(responseRequired(2, [
      ...asked,
      said("agent", "You are booked at nine."),
      said("user", "Sorry, the line dropped. Am I booked?"),
    ]));
    const frames = await again.untilComplete(2);

    assert.deepStrictEqual(bookings, [{ slot: "09:00", name: "Dana" }]);
    assert.deepStrictEqual(ofType(frames, "tool_call_result"), [{
      response_type: "tool_call_result",
      tool_call_id: "tc_2",
      content: "Booked 09:00 for Dana, booking 1.",
      successful: true,
    }]);
    assert.equal(
      spoken(frames, 2),
      "One moment while I book that. Yes, Dana, you are booked at nine.",
    );
    const reconnected = await second.waitForLog("call_reconnected");
    assert.equal(reconnected.call_id, callId);
    const reused = await second.waitForLog("tool_reused");
    assert.equal(reused.from, "store");
  },
});
