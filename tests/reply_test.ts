import assert from "node:assert/strict";
import { createServerMetrics } from "../src/metrics.ts";
import type { OutboundEvent } from "../src/protocol/outbound.ts";
import {
  type ProduceReply,
  type ReplyLiveness,
  type ReplyOptions,
  type ReplyResult,
  runReply,
} from "../src/reply.ts";
import type { ResponsePart } from "../src/responder.ts";
import { startCallSpan } from "../src/tracing.ts";
import { chunk, done } from "./_support/frames.ts";
import { captureLogs } from "./_support/logs.ts";
import { sampleOf } from "./_support/metrics.ts";
import { waitUntil } from "./_support/wait.ts";

const FALLBACK = "Sorry, say that again?";

/** A promise the test settles by hand, to order events without sleeping. */
function gate<T = void>() {
  return Promise.withResolvers<T>();
}

/**
 * Starts one run with every input explicit: frames go to `sent`, log lines
 * to `logs`, and `stop()` plays the session aborting the run.
 */
function start(
  produce: ProduceReply,
  options: Partial<Pick<ReplyOptions, "timeoutMs" | "stallMs">> = {},
) {
  const sent: OutboundEvent[] = [];
  const logs = captureLogs();
  const metrics = createServerMetrics();
  const controller = new AbortController();
  const waiters = new Set<() => void>();
  let liveness: ReplyLiveness = "live";
  let result: ReplyResult | undefined;
  const running = runReply({
    callId: "call_reply",
    responseId: 4,
    kind: "response_required",
    controller,
    liveness: () => liveness,
    send: (event) => {
      sent.push(event);
      for (const waiter of [...waiters]) waiter();
    },
    timeoutMs: options.timeoutMs ?? 2_000,
    stallMs: options.stallMs ?? 0,
    fallbackText: FALLBACK,
    log: logs.log,
    metrics,
    // Tracing is off in this process: the shared no-op turn span.
    span: startCallSpan("call_reply").startTurn(4, "response_required"),
  }, produce);
  void running.then((value) => {
    result = value;
    for (const waiter of [...waiters]) waiter();
  });
  return {
    sent,
    logs,
    metrics,
    /** Resolves once `count` events have been sent. */
    sentAtLeast(count: number): Promise<void> {
      return waitUntil(
        () => sent.length >= count,
        waiters,
        2_000,
        () => `Sent ${sent.length} events, not ${count}`,
      );
    },
    /** The run's result, within a bounded wait. */
    async finished(): Promise<ReplyResult> {
      await waitUntil(
        () => result !== undefined,
        waiters,
        3_000,
        () => "The run did not finish",
      );
      return result!;
    },
    /** What the session does when a newer request arrives or the call closes. */
    stop(why: "superseded" | "closed"): void {
      liveness = why;
      controller.abort(new DOMException(`Stopped: ${why}`, "AbortError"));
    },
  };
}

/** The fields of the run's one `turn_finished` line, time stamp left out. */
function turnFinished(logs: ReturnType<typeof captureLogs>) {
  const lines = logs.events("turn_finished");
  assert.equal(lines.length, 1, "one turn_finished line per run");
  const { time: _time, ...fields } = lines[0]!;
  return fields;
}

Deno.test("runReply() sends a whole-string reply as one complete frame", async () => {
  const run = start(() => "Hello there.");
  const result = await run.finished();
  assert.deepStrictEqual(run.sent, [done(4, "Hello there.")]);
  assert.equal(result.outcome, "completed");
  assert.deepStrictEqual(Object.keys(result.marks), [
    "first_frame_ms",
    "first_sentence_ms",
  ]);
  assert.deepStrictEqual(turnFinished(run.logs), {
    level: "info",
    event: "turn_finished",
    call_id: "call_reply",
    response_id: 4,
    outcome: "completed",
    first_frame_ms: result.marks.first_frame_ms,
    first_sentence_ms: result.marks.first_sentence_ms,
    total_ms: result.totalMs,
  });
});

Deno.test("runReply() streams text as it comes, then a final frame", async (t) => {
  const release = gate();
  const run = start(async function* (): AsyncGenerator<ResponsePart> {
    yield "Let me ";
    yield "";
    yield "see. ";
    await release.promise;
    yield "Done.";
  });

  await t.step("sends each piece before the next is ready", async () => {
    await run.sentAtLeast(2);
    assert.deepStrictEqual(run.sent, [chunk(4, "Let me "), chunk(4, "see. ")]);
  });

  await t.step(
    "skips empty pieces and completes with an empty frame",
    async () => {
      release.resolve();
      const result = await run.finished();
      assert.deepStrictEqual(run.sent, [
        chunk(4, "Let me "),
        chunk(4, "see. "),
        chunk(4, "Done."),
        done(4),
      ]);
      assert.equal(result.outcome, "completed");
    },
  );
});

Deno.test("runReply() records the responder's marks, the first of each name", async () => {
  const run = start(async function* ({ mark }) {
    mark("first_token");
    yield "Hi.";
    mark("first_token");
  });
  const result = await run.finished();
  const { first_token_ms: firstToken, first_frame_ms: firstFrame } =
    result.marks;
  assert.equal(typeof firstToken, "number");
  assert.ok(
    firstToken! <= firstFrame! && firstFrame! <= result.totalMs,
    JSON.stringify(result),
  );
  assert.equal(turnFinished(run.logs).first_token_ms, firstToken);
});

Deno.test("runReply() marks the first frame that ends a sentence", async (t) => {
  await t.step(
    "the frame whose accumulated text ends a sentence, quotes allowed",
    async () => {
      const release = gate();
      const run = start(async function* (): AsyncGenerator<ResponsePart> {
        yield "She said ";
        yield '"fine.';
        await release.promise;
        yield '" ';
        yield "More.";
      });
      await run.sentAtLeast(2);
      release.resolve();
      const result = await run.finished();
      const { first_frame_ms: firstFrame, first_sentence_ms: firstSentence } =
        result.marks;
      assert.ok(firstSentence! >= firstFrame!, JSON.stringify(result.marks));
      assert.equal(turnFinished(run.logs).first_sentence_ms, firstSentence);
      assert.equal(
        sampleOf(
          run.metrics.render(),
          'retell_turn_first_sentence_seconds_count{kind="response_required"}',
        ),
        1,
      );
    },
  );

  await t.step("a complete frame counts when no sentence ended", async () => {
    const release = gate();
    const run = start(async function* (): AsyncGenerator<ResponsePart> {
      yield "Hmm";
      await release.promise;
    });
    await run.sentAtLeast(1);
    release.resolve();
    const result = await run.finished();
    assert.ok(
      result.marks.first_sentence_ms! >= result.marks.first_frame_ms!,
      JSON.stringify(result.marks),
    );
  });

  await t.step("no mark when nothing was spoken", async () => {
    const run = start(async function* (): AsyncGenerator<ResponsePart> {
      yield { type: "end_call" };
    });
    const result = await run.finished();
    assert.equal(result.marks.first_sentence_ms, undefined);
  });
});

Deno.test("runReply() puts actions on the next response frame", async (t) => {
  await t.step("a trailing end_call rides on the final frame", async () => {
    const run = start(async function* (): AsyncGenerator<ResponsePart> {
      yield "Goodbye!";
      yield { type: "end_call" };
    });
    await run.finished();
    assert.deepStrictEqual(run.sent, [
      chunk(4, "Goodbye!"),
      done(4, "", { end_call: true }),
    ]);
  });

  await t.step("an action before text rides on that text's frame", async () => {
    const run = start(async function* (): AsyncGenerator<ResponsePart> {
      yield { type: "transfer_call", number: "+14155550123" };
      yield { type: "press_digit", digits: "1" };
      yield "Transferring you.";
    });
    await run.finished();
    assert.deepStrictEqual(run.sent, [
      {
        ...chunk(4, "Transferring you."),
        transfer_number: "+14155550123",
        digit_to_press: "1",
      },
      done(4),
    ]);
  });

  await t.step("tool-call records go out at once, in order", async () => {
    const run = start(async function* (): AsyncGenerator<ResponsePart> {
      yield { type: "end_call" };
      yield {
        type: "tool_call_invocation",
        toolCallId: "tc_1",
        name: "lookup",
        arguments: "{}",
      };
      yield { type: "tool_call_result", toolCallId: "tc_1", content: "ok" };
    });
    await run.finished();
    assert.deepStrictEqual(run.sent, [
      {
        response_type: "tool_call_invocation",
        tool_call_id: "tc_1",
        name: "lookup",
        arguments: "{}",
      },
      {
        response_type: "tool_call_result",
        tool_call_id: "tc_1",
        content: "ok",
      },
      done(4, "", { end_call: true }),
    ]);
  });
});

Deno.test("runReply() ends with the fallback text when the responder throws", async (t) => {
  await t.step("before replying", async () => {
    const run = start(() => {
      throw new Error("model unavailable");
    });
    const result = await run.finished();
    assert.deepStrictEqual(run.sent, [done(4, FALLBACK)]);
    assert.equal(result.outcome, "failed");
    const [failure] = run.logs.events("responder_failed");
    assert.deepStrictEqual(
      [failure?.level, failure?.call_id, failure?.response_id, failure?.error],
      ["error", "call_reply", 4, "model unavailable"],
    );
    assert.equal(turnFinished(run.logs).outcome, "failed");
  });

  await t.step(
    "midway, with a space after text and no pending action",
    async () => {
      const run = start(async function* (): AsyncGenerator<ResponsePart> {
        yield "Let me check.";
        yield { type: "end_call" };
        throw new RangeError("stream broke");
      });
      const result = await run.finished();
      assert.deepStrictEqual(run.sent, [
        chunk(4, "Let me check."),
        done(4, ` ${FALLBACK}`),
      ]);
      assert.equal(result.outcome, "failed");
      assert.equal(
        run.logs.events("responder_failed")[0]?.error,
        "RangeError: stream broke",
      );
    },
  );

  await t.step("midway, with no extra space after a space", async () => {
    const run = start(async function* () {
      yield "Well, ";
      throw new Error("stream broke");
    });
    await run.finished();
    assert.deepStrictEqual(run.sent, [
      chunk(4, "Well, "),
      done(4, FALLBACK),
    ]);
  });
});

Deno.test("runReply() ends with the fallback text when the responder stalls", async (t) => {
  await t.step("before its first piece, aborting its signal", async () => {
    let reason: unknown;
    const run = start(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener("abort", () => {
            reason = signal.reason;
            reject(signal.reason);
          })
        ),
      { timeoutMs: 30 },
    );
    const result = await run.finished();
    assert.deepStrictEqual(run.sent, [done(4, FALLBACK)]);
    assert.equal(result.outcome, "timed_out");
    assert.equal(turnFinished(run.logs).outcome, "timed_out");
    assert.ok(reason instanceof DOMException);
    assert.equal(reason.name, "TimeoutError");
    assert.equal(
      run.logs.events("responder_failed")[0]?.error,
      "TimeoutError: No reply from the responder within 30 ms",
    );
  });

  await t.step("between pieces, even when it ignores its signal", async () => {
    const never = gate();
    const run = start(async function* () {
      yield "One moment.";
      await never.promise;
    }, { timeoutMs: 30 });
    const result = await run.finished();
    assert.deepStrictEqual(run.sent, [
      chunk(4, "One moment."),
      done(4, ` ${FALLBACK}`),
    ]);
    assert.equal(result.outcome, "timed_out");
    never.resolve();
  });
});

Deno.test("runReply() sends nothing more once the run is not live", async (t) => {
  await t.step("superseded midway: the generator is closed", async () => {
    const release = gate();
    const cleanedUp = gate();
    let reason: unknown;
    const run = start(async function* ({ signal }) {
      try {
        yield "Great, ";
        await release.promise;
        reason = signal.reason;
        yield "this must never be sent";
        yield "nor this";
      } finally {
        cleanedUp.resolve();
      }
    });
    await run.sentAtLeast(1);
    run.stop("superseded");
    const result = await run.finished();
    release.resolve();
    await cleanedUp.promise;
    assert.deepStrictEqual(run.sent, [chunk(4, "Great, ")]);
    assert.equal(result.outcome, "superseded");
    assert.equal((reason as DOMException).message, "Stopped: superseded");
    assert.equal(turnFinished(run.logs).outcome, "superseded");
  });

  await t.step("closed while the responder ignores its signal", async () => {
    const never = gate<string>();
    const started = gate();
    const run = start(() => {
      started.resolve();
      return never.promise;
    });
    await started.promise;
    run.stop("closed");
    const result = await run.finished();
    never.resolve("Too late.");
    assert.deepStrictEqual(run.sent, []);
    assert.equal(result.outcome, "closed");
    assert.equal(result.marks.first_frame_ms, undefined);
  });

  await t.step("a whole reply ready as the run stops is not sent", async () => {
    const run = start(() => "Too late.");
    run.stop("closed");
    const result = await run.finished();
    assert.deepStrictEqual(run.sent, []);
    assert.equal(result.outcome, "closed");
  });

  await t.step(
    "a piece ready as the run stops is the last one pulled",
    async () => {
      let pulls = 0;
      let closedEarly = false;
      const run = start(() => ({
        [Symbol.asyncIterator]: (): AsyncIterator<ResponsePart> => ({
          next() {
            pulls++;
            // Three pieces at most, so a runner that kept pulling would end.
            const step = Promise.resolve({
              value: `piece ${pulls}`,
              done: pulls > 3,
            });
            // The session stops the run after the piece is ready but before
            // the runner has looked at it.
            if (pulls === 2) void step.then(() => run.stop("superseded"));
            return step;
          },
          return() {
            closedEarly = true;
            return Promise.resolve({ value: undefined, done: true });
          },
        }),
      }));
      const result = await run.finished();
      assert.deepStrictEqual(run.sent, [chunk(4, "piece 1")]);
      assert.equal(pulls, 2);
      assert.equal(closedEarly, true);
      assert.equal(result.outcome, "superseded");
    },
  );

  await t.step(
    "a failure after the run stopped sends no fallback",
    async () => {
      const run = start(({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener("abort", () => reject(new Error("aborted")))
        )
      );
      run.stop("superseded");
      const result = await run.finished();
      assert.deepStrictEqual(run.sent, []);
      assert.equal(result.outcome, "superseded");
      assert.deepStrictEqual(run.logs.events("responder_failed"), []);
    },
  );
});

Deno.test("runReply() tells the metrics each turn's outcome and latencies", async (t) => {
  const series = (kind: string) => ({
    firstFrame: `retell_turn_first_frame_seconds_count{kind="${kind}"}`,
    complete: `retell_turn_complete_seconds_count{kind="${kind}"}`,
  });

  await t.step(
    "a completed turn: first frame, complete, first token",
    async () => {
      const run = start(async function* ({ mark }) {
        mark("first_token");
        yield "Hello.";
      });
      const result = await run.finished();
      const text = run.metrics.render();
      const { firstFrame, complete } = series("response_required");
      assert.equal(
        sampleOf(
          text,
          'retell_turns_total{kind="response_required",outcome="completed"}',
        ),
        1,
      );
      assert.equal(sampleOf(text, firstFrame), 1);
      assert.equal(sampleOf(text, complete), 1);
      assert.equal(sampleOf(text, "retell_model_first_token_seconds_count"), 1);
      assert.equal(
        sampleOf(
          text,
          'retell_turn_first_frame_seconds_sum{kind="response_required"}',
        ),
        result.marks.first_frame_ms! / 1000,
      );
    },
  );

  await t.step("a superseded turn: counted, never complete", async () => {
    const run = start(async function* ({ signal }) {
      yield "Let me see.";
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
    });
    await run.sentAtLeast(1);
    run.stop("superseded");
    await run.finished();
    const text = run.metrics.render();
    const { firstFrame, complete } = series("response_required");
    assert.equal(
      sampleOf(
        text,
        'retell_turns_total{kind="response_required",outcome="superseded"}',
      ),
      1,
    );
    assert.equal(sampleOf(text, firstFrame), 1);
    assert.equal(sampleOf(text, complete), 0);
    assert.equal(sampleOf(text, "retell_model_first_token_seconds_count"), 0);
  });

  await t.step("a model error the responder reports, by kind", async () => {
    const run = start(({ countModelError }) => {
      countModelError?.("first_token_timeout");
      throw new Error("Model request failed (first_token_timeout)");
    });
    assert.equal((await run.finished()).outcome, "failed");
    const text = run.metrics.render();
    assert.equal(
      sampleOf(text, 'retell_model_errors_total{kind="first_token_timeout"}'),
      1,
    );
    assert.equal(
      sampleOf(
        text,
        'retell_turns_total{kind="response_required",outcome="failed"}',
      ),
      1,
    );
  });
});

Deno.test("runReply() warns once when a live turn sends nothing for stallMs", async (t) => {
  await t.step("silent after a first piece, then silent again", async () => {
    const resume = gate();
    const never = gate();
    const run = start(async function* () {
      yield "One moment.";
      await resume.promise;
      yield " Still here.";
      await never.promise;
    }, { stallMs: 40, timeoutMs: 1_000 });
    const warning = await run.logs.waitFor("turn_stalled");
    assert.deepStrictEqual(
      [warning.level, warning.call_id, warning.response_id, warning.silent_ms],
      ["warn", "call_reply", 4, 40],
    );
    assert.equal(sampleOf(run.metrics.render(), "retell_turn_stalls_total"), 1);
    // A frame after the warning, then a silence longer than stallMs that
    // only the responder timeout ends: still one warning.
    resume.resolve();
    const result = await run.finished();
    assert.equal(result.outcome, "timed_out");
    assert.deepStrictEqual(run.sent, [
      chunk(4, "One moment."),
      chunk(4, " Still here."),
      done(4, ` ${FALLBACK}`),
    ]);
    assert.equal(run.logs.events("turn_stalled").length, 1);
    assert.equal(sampleOf(run.metrics.render(), "retell_turn_stalls_total"), 1);
    never.resolve();
  });

  await t.step("not when stallMs is 0", async () => {
    const run = start(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason))
        ),
      { stallMs: 0, timeoutMs: 60 },
    );
    assert.equal((await run.finished()).outcome, "timed_out");
    assert.deepStrictEqual(run.logs.events("turn_stalled"), []);
  });
});
