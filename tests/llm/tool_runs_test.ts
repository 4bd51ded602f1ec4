import assert from "node:assert/strict";
import { z } from "zod";
import type { CallStore } from "../../src/call_store/call_store.ts";
import { createMemoryCallStore } from "../../src/call_store/memory.ts";
import { runToolOnce } from "../../src/llm/tool_runs.ts";
import { defineTool, type LlmTool } from "../../src/llm/tools.ts";
import type { CallContext } from "../../src/responder.ts";
import { offlineCall } from "../_support/call.ts";
import { captureLogs, type LogCapture } from "../_support/logs.ts";

const CALL_ID = "call_tools";
const ARGS = { slot: "09:00" };
const KEY = '{"slot":"09:00"}';

/**
 * A booking tool that counts its runs, says when the first started, and
 * finishes when `release` settles.
 */
function bookingTool(release: Promise<unknown> = Promise.resolve()) {
  const counter = { runs: 0 };
  const started = Promise.withResolvers<void>();
  const tool: LlmTool = defineTool({
    name: "book_slot",
    description: "Books a slot.",
    parameters: z.object({ slot: z.string() }),
    handler: async ({ slot }) => {
      const runs = ++counter.runs;
      started.resolve();
      await release;
      return `Booked ${slot}, run ${runs}.`;
    },
  });
  return { tool, counter, started: started.promise };
}

/** One socket's view of the call: its own signal, the shared store. */
function socketOf(store: CallStore | undefined) {
  const controller = new AbortController();
  const call = offlineCall({
    callId: CALL_ID,
    signal: controller.signal,
    store,
  });
  return { call, controller };
}

function run(
  tool: LlmTool,
  call: CallContext,
  logs: LogCapture,
  options: { toolCallId?: string; waitMs?: number } = {},
) {
  return runToolOnce({
    tool,
    args: ARGS,
    key: KEY,
    call,
    toolCallId: options.toolCallId ?? "tc_1",
    log: logs.log,
    waitMs: options.waitMs ?? 5_000,
  });
}

/**
 * A store, and a first socket whose run of the booking tool has started and
 * holds until `release()`.
 */
async function heldFirstRun() {
  const store = createMemoryCallStore({ ttlMs: 3_600_000 });
  const logs = captureLogs();
  const release = Promise.withResolvers<void>();
  const { tool, counter, started } = bookingTool(release.promise);
  const first = run(tool, socketOf(store).call, logs);
  await started;
  return { store, logs, tool, counter, first, release: release.resolve };
}

Deno.test("runToolOnce() runs a tool once per call across sockets sharing a store", async (t) => {
  const store = createMemoryCallStore({ ttlMs: 3_600_000 });
  const logs = captureLogs();
  const { tool, counter } = bookingTool();

  await t.step(
    "the first socket claims the run and saves the result",
    async () => {
      const { call } = socketOf(store);
      assert.deepStrictEqual(await run(tool, call, logs), {
        content: "Booked 09:00, run 1.",
        successful: true,
      });
      assert.equal(counter.runs, 1);
    },
  );

  await t.step("a later socket reuses the saved result", async () => {
    const { call } = socketOf(store);
    assert.deepStrictEqual(
      await run(tool, call, logs, { toolCallId: "tc_2" }),
      {
        content: "Booked 09:00, run 1.",
        successful: true,
      },
    );
    assert.equal(counter.runs, 1);
    const [reused] = logs.events("tool_reused");
    assert.equal(reused?.from, "store");
    assert.equal(reused?.call_id, CALL_ID);
    assert.equal(reused?.tool_call_id, "tc_2");
  });

  await t.step("other arguments are another run", async () => {
    const { call } = socketOf(store);
    const outcome = await runToolOnce({
      tool,
      args: { slot: "13:30" },
      key: '{"slot":"13:30"}',
      call,
      toolCallId: "tc_3",
      log: logs.log,
      waitMs: 5_000,
    });
    assert.equal(outcome?.content, "Booked 13:30, run 2.");
  });
});

Deno.test("runToolOnce() waits for a run another socket is still running", async (t) => {
  await t.step("and returns its result once saved", async () => {
    const { store, logs, tool, counter, first, release } = await heldFirstRun();
    const second = run(tool, socketOf(store).call, logs, {
      toolCallId: "tc_2",
    });
    // The second socket found the claim and is looking at the store.
    await logs.waitFor("tool_waiting");
    release();
    const [a, b] = await Promise.all([first, second]);
    assert.deepStrictEqual(b, a);
    assert.equal(counter.runs, 1);
    assert.equal(logs.events("tool_waiting").length, 1);
    assert.equal(
      typeof logs.events("tool_reused")[0]?.waited_ms,
      "number",
    );
  });

  await t.step(
    "and gives up, unknown, after waitMs from the claim",
    async () => {
      const { store, logs, tool, counter, first, release } =
        await heldFirstRun();
      const second = await run(tool, socketOf(store).call, logs, {
        toolCallId: "tc_2",
        waitMs: 150,
      });
      assert.equal(second, undefined);
      assert.equal(counter.runs, 1, "the tool did not run again");
      const [unknown] = logs.events("tool_result_unknown");
      assert.equal(unknown?.tool_call_id, "tc_2");
      assert.ok((unknown?.waited_ms as number) >= 100, JSON.stringify(unknown));
      release();
      await first;
      // Asked again once the first run is done: its result, not a new run.
      const third = await run(tool, socketOf(store).call, logs, {
        toolCallId: "tc_3",
      });
      assert.equal(third?.content, "Booked 09:00, run 1.");
    },
  );

  await t.step("and stops waiting when its call ends", async () => {
    const { store, logs, tool, first, release } = await heldFirstRun();
    const { call, controller } = socketOf(store);
    const second = run(tool, call, logs, {
      toolCallId: "tc_2",
      waitMs: 60_000,
    });
    await logs.waitFor("tool_waiting");
    controller.abort();
    const startedAt = performance.now();
    assert.equal(await second, undefined);
    assert.ok(performance.now() - startedAt < 1_000);
    release();
    await first;
  });
});

Deno.test("runToolOnce() runs the tool when the store fails, and logs it", async () => {
  const down = () => Promise.reject(new Error("the test store is down"));
  const broken: CallStore = {
    get: down,
    markGreeted: down,
    saveDetails: down,
    touch: down,
    claimToolRun: down,
    getToolRun: down,
    saveToolResult: down,
    close: () => Promise.resolve(),
  };
  const logs = captureLogs();
  const { tool, counter } = bookingTool();
  const outcome = await run(tool, socketOf(broken).call, logs);
  assert.equal(outcome?.content, "Booked 09:00, run 1.");
  assert.equal(counter.runs, 1);
  assert.deepStrictEqual(
    logs.events("call_store_failed").map((line) => [
      line.call_id,
      line.operation,
      line.tool,
    ]),
    [
      [CALL_ID, "claimToolRun", "book_slot"],
      [CALL_ID, "saveToolResult", "book_slot"],
    ],
  );
});

Deno.test("runToolOnce() runs the tool every time without a store", async () => {
  const logs = captureLogs();
  const { tool, counter } = bookingTool();
  await run(tool, socketOf(undefined).call, logs);
  await run(tool, socketOf(undefined).call, logs);
  assert.equal(counter.runs, 2, "reuse without a store is the caller's cache");
});
