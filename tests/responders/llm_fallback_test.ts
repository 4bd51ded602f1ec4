import assert from "node:assert/strict";
import { createServerMetrics } from "../../src/metrics.ts";
import {
  createLlmResponder,
  type LlmResponderOptions,
} from "../../src/responders/llm.ts";
import { DEFAULT_FALLBACK_TEXT } from "../../src/session.ts";
import { chunk, responseRequired, spoken } from "../_support/frames.ts";
import { type FakeLlm, startFakeLlm, tokens } from "../_support/llm_server.ts";
import { captureLogs, type LogCapture } from "../_support/logs.ts";
import { sampleOf } from "../_support/metrics.ts";
import {
  connectAsRetell,
  type RetellClient,
} from "../_support/retell_client.ts";
import { startTestServer } from "../_support/server.ts";

const PRIMARY_KEY = "sk-primary-key-1234567890";
const FALLBACK_KEY = "sk-fallback-key-1234567890";

/** Two fake models, a server whose responder asks the first then the second, and Retell. */
async function setUp(options: Partial<LlmResponderOptions> = {}): Promise<
  & {
    primary: FakeLlm;
    fallback: FakeLlm;
    retell: RetellClient;
    logs: LogCapture;
    metricsText(): string;
  }
  & AsyncDisposable
> {
  const primary = startFakeLlm();
  const fallback = startFakeLlm();
  const logs = captureLogs();
  const metrics = createServerMetrics();
  const responder = createLlmResponder({
    apiKey: PRIMARY_KEY,
    baseUrl: primary.baseUrl,
    model: "primary-model",
    fallback: {
      model: "fallback-model",
      baseUrl: fallback.baseUrl,
      apiKey: FALLBACK_KEY,
    },
    log: logs.log,
    beginMessage: "Hi.",
    firstTokenTimeoutMs: 150,
    ...options,
  });
  const server = startTestServer({
    responder,
    metrics,
    callConfig: { call_details: false },
  }, logs);
  const retell = await connectAsRetell(server.url("call_fallback"));
  await retell.take(2);
  return {
    primary,
    fallback,
    retell,
    logs,
    metricsText: () => metrics.render(),
    async [Symbol.asyncDispose]() {
      await retell.close();
      await server[Symbol.asyncDispose]();
      await primary[Symbol.asyncDispose]();
      await fallback[Symbol.asyncDispose]();
    },
  };
}

Deno.test("llm responder asks the fallback model when the primary fails before speaking", async (t) => {
  await using env = await setUp();
  const { primary, fallback, retell, logs } = env;
  let id = 0;

  async function fallbackTurn(
    script: Parameters<FakeLlm["enqueue"]>[0],
    reason: string,
  ) {
    id++;
    primary.enqueue(script);
    fallback.enqueue(tokens("Fallback ", `answer ${id}.`));
    retell.send(responseRequired(id));
    const frames = await retell.untilComplete(id);
    assert.equal(spoken(frames, id), `Fallback answer ${id}.`);
    const switched = logs.events("model_fallback").at(-1)!;
    assert.deepStrictEqual(
      {
        call_id: switched.call_id,
        response_id: switched.response_id,
        reason: switched.reason,
        model: switched.model,
        fallback_model: switched.fallback_model,
      },
      {
        call_id: "call_fallback",
        response_id: id,
        reason,
        model: "primary-model",
        fallback_model: "fallback-model",
      },
    );
    const asked = fallback.requests.at(-1)!;
    assert.equal(asked.body.model, "fallback-model");
    assert.equal(asked.headers.get("authorization"), `Bearer ${FALLBACK_KEY}`);
    assert.deepStrictEqual(
      asked.body.messages,
      primary.requests.at(-1)!.body.messages,
    );
  }

  await t.step("on an HTTP 500", async () => {
    await fallbackTurn({ status: 500, error: { message: "boom" } }, "http");
  });

  await t.step("on a connection reset", async () => {
    await fallbackTurn({ dropConnection: true }, "stream");
  });

  await t.step("on a first-token timeout, closing the primary", async () => {
    await fallbackTurn({ steps: [{ hang: true }] }, "first_token_timeout");
    assert.equal(await primary.requests.at(-1)!.outcome, "aborted");
  });

  await t.step("counting each request by role and outcome", () => {
    const text = env.metricsText();
    const count = (role: string, outcome: string) =>
      sampleOf(
        text,
        `retell_model_requests_total{role="${role}",outcome="${outcome}"}`,
      );
    assert.equal(count("primary", "failed"), 3);
    assert.equal(count("fallback", "ok"), 3);
    assert.equal(count("fallback", "failed"), 0);
  });

  await t.step("a healthy primary is used without the fallback", async () => {
    primary.enqueue(tokens("Primary."));
    retell.send(responseRequired(++id));
    assert.equal(spoken(await retell.untilComplete(id), id), "Primary.");
    assert.equal(fallback.requests.length, 3);
  });

  await t.step("never logging either key", () => {
    const everything = JSON.stringify(logs.records);
    assert.equal(everything.includes(PRIMARY_KEY), false);
    assert.equal(everything.includes(FALLBACK_KEY), false);
  });
});

Deno.test("llm responder apologises when both models fail or the primary fails after speaking", async (t) => {
  await using env = await setUp();
  const { primary, fallback, retell, logs } = env;

  await t.step("both fail: the apology is spoken", async () => {
    primary.enqueue({ status: 503, error: { message: "down" } });
    fallback.enqueue({ status: 500, error: { message: "also down" } });
    retell.send(responseRequired(1));
    const frames = await retell.untilComplete(1);
    assert.equal(spoken(frames, 1), DEFAULT_FALLBACK_TEXT);
    const failures = logs.events("llm_failed");
    assert.deepStrictEqual(failures.map((failure) => failure.model), [
      "primary-model",
      "fallback-model",
    ]);
  });

  await t.step(
    "the primary fails after speaking: no fallback, the apology ends it",
    async () => {
      primary.enqueue({
        dropConnection: true,
        afterSteps: [{ text: "Half " }],
      });
      retell.send(responseRequired(2));
      const frames = await retell.untilComplete(2);
      assert.equal(spoken(frames, 2), `Half ${DEFAULT_FALLBACK_TEXT}`);
      assert.equal(fallback.requests.length, 1);
      assert.equal(logs.events("model_fallback").length, 1);
    },
  );
});

Deno.test("llm responder closes both upstream requests of a superseded turn", async (t) => {
  // Long enough that the second step supersedes the turn well before it.
  await using env = await setUp({ firstTokenTimeoutMs: 400 });
  const { primary, fallback, retell } = env;

  await t.step(
    "superseded while the fallback streams: both requests are closed",
    async () => {
      primary.enqueue({ steps: [{ hang: true }] });
      fallback.enqueue({ steps: [{ text: "Let me see " }, { hang: true }] });
      retell.send(responseRequired(1));
      assert.deepStrictEqual(await retell.next(), chunk(1, "Let me see "));
      primary.enqueue(tokens("Newer."));
      retell.send(responseRequired(2));
      assert.equal(spoken(await retell.untilComplete(2), 2), "Newer.");
      assert.equal(await primary.requests[0]!.outcome, "aborted");
      assert.equal(await fallback.requests[0]!.outcome, "aborted");
    },
  );

  await t.step(
    "superseded while the primary waits: the fallback is never asked",
    async () => {
      primary.enqueue({ steps: [{ hang: true }] });
      retell.send(responseRequired(3));
      const waiting = await primary.waitForRequest(2);
      primary.enqueue(tokens("Newest."));
      retell.send(responseRequired(4));
      assert.equal(spoken(await retell.untilComplete(4), 4), "Newest.");
      assert.equal(await waiting.outcome, "aborted");
      assert.equal(fallback.requests.length, 1);
    },
  );
});
