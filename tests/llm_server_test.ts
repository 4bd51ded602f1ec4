import assert from "node:assert/strict";
import OpenAI from "openai";
import {
  type FakeLlm,
  type LlmRequest,
  startFakeLlm,
  tokens,
} from "./_support/llm_server.ts";

function clientFor(fake: FakeLlm): OpenAI {
  return new OpenAI({
    apiKey: "test-key",
    baseURL: fake.baseUrl,
    maxRetries: 0,
  });
}

const messages = [
  { role: "system" as const, content: "Be brief." },
  { role: "user" as const, content: "Hello?" },
];

/** The outcome, or "pending" if it has not settled within `ms`. */
async function outcomeWithin(
  request: LlmRequest,
  ms: number,
): Promise<"completed" | "aborted" | "pending"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"pending">((resolve) => {
    timer = setTimeout(() => resolve("pending"), ms);
  });
  try {
    return await Promise.race([request.outcome, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("fake LLM streams text in order and records the request", async () => {
  await using fake = startFakeLlm();
  fake.enqueue(tokens("Hel", "lo", ", ", "world"));
  const client = clientFor(fake);

  const stream = await client.chat.completions.create({
    model: "gpt-test",
    messages,
    stream: true,
    temperature: 0.2,
  });
  const pieces: string[] = [];
  const finishReasons: unknown[] = [];
  let role: unknown;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    assert.equal(chunk.model, "gpt-test");
    const choice = chunk.choices[0]!;
    role ??= choice.delta.role;
    if (choice.delta.content) pieces.push(choice.delta.content);
    if (choice.finish_reason) finishReasons.push(choice.finish_reason);
  }
  assert.deepStrictEqual(pieces, ["Hel", "lo", ", ", "world"]);
  assert.equal(pieces.join(""), "Hello, world");
  assert.equal(role, "assistant");
  assert.deepStrictEqual(finishReasons, ["stop"]);

  assert.equal(fake.requests.length, 1);
  const request = fake.requests[0]!;
  assert.equal(await request.outcome, "completed");
  assert.equal(request.body.model, "gpt-test");
  assert.equal(request.body.stream, true);
  assert.equal(request.body.temperature, 0.2);
  assert.deepStrictEqual(request.body.messages, messages);
  assert.equal(request.headers.get("authorization"), "Bearer test-key");
  assert.equal(request.tokenTimes.length, 4);
  for (let i = 1; i < request.tokenTimes.length; i++) {
    assert.ok(request.tokenTimes[i]! >= request.tokenTimes[i - 1]!);
  }
  assert.ok(Math.abs(request.tokenTimes[0]! - Date.now()) < 60_000);
});

Deno.test("fake LLM streams a split tool call the way OpenAI does", async () => {
  await using fake = startFakeLlm();
  const args = JSON.stringify({ city: "Zürich", unit: "celsius" });
  fake.enqueue({
    steps: [
      { text: "Let me check." },
      {
        toolCall: { id: "call_abc", name: "get_weather", arguments: args },
        split: 4,
      },
    ],
  });
  const client = clientFor(fake);

  const stream = await client.chat.completions.create({
    model: "gpt-test",
    messages,
    stream: true,
    tools: [{
      type: "function",
      function: { name: "get_weather", parameters: { type: "object" } },
    }],
  });
  const calls: Array<{ id: string; name: string; arguments: string }> = [];
  let toolDeltas = 0;
  let text = "";
  let finish: unknown;
  for await (const chunk of stream) {
    const choice = chunk.choices[0]!;
    text += choice.delta.content ?? "";
    finish = choice.finish_reason ?? finish;
    for (const delta of choice.delta.tool_calls ?? []) {
      toolDeltas++;
      const call = calls[delta.index] ??= { id: "", name: "", arguments: "" };
      if (delta.id) call.id = delta.id;
      if (delta.function?.name) call.name = delta.function.name;
      call.arguments += delta.function?.arguments ?? "";
      if (toolDeltas > 1) {
        assert.equal(delta.id, undefined);
        assert.equal(delta.function?.name, undefined);
      }
    }
  }
  assert.equal(text, "Let me check.");
  assert.equal(toolDeltas, 5);
  assert.deepStrictEqual(calls, [
    { id: "call_abc", name: "get_weather", arguments: args },
  ]);
  assert.equal(finish, "tool_calls");
  assert.equal(fake.requests[0]!.tokenTimes.length, 2);
  assert.ok(Array.isArray(fake.requests[0]!.body.tools));
});

Deno.test("fake LLM numbers whole tool calls and honours an explicit finish", async () => {
  await using fake = startFakeLlm();
  fake.enqueue({
    steps: [
      { toolCall: { id: "call_1", name: "a", arguments: "{}" } },
      { toolCall: { id: "call_2", name: "b", arguments: '{"x":1}' } },
      { finish: "length" },
    ],
  });
  const stream = await clientFor(fake).chat.completions.create({
    model: "gpt-test",
    messages,
    stream: true,
  });
  const deltas: unknown[] = [];
  const finishReasons: unknown[] = [];
  for await (const chunk of stream) {
    const choice = chunk.choices[0]!;
    for (const call of choice.delta.tool_calls ?? []) {
      deltas.push([
        call.index,
        call.id,
        call.function?.name,
        call.function?.arguments,
      ]);
    }
    if (choice.finish_reason) finishReasons.push(choice.finish_reason);
  }
  assert.deepStrictEqual(deltas, [
    [0, "call_1", "a", "{}"],
    [1, "call_2", "b", '{"x":1}'],
  ]);
  assert.deepStrictEqual(finishReasons, ["length"]);
});

Deno.test("fake LLM returns an HTTP error as OpenAI.APIError", async () => {
  await using fake = startFakeLlm();
  fake.enqueue({
    status: 429,
    error: { message: "Rate limit reached", type: "requests", code: "rl" },
  });
  const client = clientFor(fake);

  const error = await client.chat.completions.create({
    model: "gpt-test",
    messages,
    stream: true,
  }).then(() => undefined, (error: unknown) => error);
  assert.ok(error instanceof OpenAI.APIError, `got ${error}`);
  assert.ok(error instanceof OpenAI.RateLimitError);
  assert.equal(error.status, 429);
  assert.match(error.message, /Rate limit reached/);
  assert.equal(error.code, "rl");
  assert.equal(error.type, "requests");
  assert.equal(await fake.requests[0]!.outcome, "completed");
});

Deno.test("fake LLM dropConnection surfaces as an error mid-stream", async () => {
  await using fake = startFakeLlm();
  fake.enqueue({ dropConnection: true, afterSteps: [{ text: "partial" }] });
  const client = clientFor(fake);

  const stream = await client.chat.completions.create({
    model: "gpt-test",
    messages,
    stream: true,
  });
  const pieces: string[] = [];
  await assert.rejects(async () => {
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) pieces.push(content);
    }
  });
  assert.deepStrictEqual(pieces, ["partial"]);
  assert.equal(await fake.requests[0]!.outcome, "completed");
});

Deno.test("fake LLM sees an AbortController abort as aborted, 20 times in a row", async () => {
  await using fake = startFakeLlm();
  const client = clientFor(fake);
  const rounds = 20;
  const tally = { aborted: 0, completed: 0, pending: 0 };
  const detectMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // If the abort does not reach the server, it writes "late" after the
    // delay and the outcome is "completed".
    fake.enqueue({
      steps: [{ text: "first" }, { delayMs: 500 }, { text: "late" }],
    });
    const abort = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "gpt-test", messages, stream: true },
      { signal: abort.signal },
    );
    const seen: string[] = [];
    let abortedAt = 0;
    // The SDK ends the iteration quietly when its signal aborts.
    for await (const chunk of stream) {
      seen.push(chunk.choices[0]?.delta.content ?? "");
      abortedAt = performance.now();
      abort.abort();
    }
    assert.deepStrictEqual(seen, ["first"]);
    const outcome = await outcomeWithin(fake.requests[round]!, 3000);
    tally[outcome]++;
    if (outcome === "aborted") detectMs.push(performance.now() - abortedAt);
  }
  assert.deepStrictEqual(
    tally,
    { aborted: rounds, completed: 0, pending: 0 },
    `outcomes of ${rounds} aborted streams: ${JSON.stringify(tally)}; ` +
      `aborts noticed after ${detectMs.map((ms) => ms.toFixed(1))} ms`,
  );
});

Deno.test("fake LLM sees breaking out of for-await as aborted", async () => {
  await using fake = startFakeLlm();
  const client = clientFor(fake);
  const rounds = 20;
  const tally = { aborted: 0, completed: 0, pending: 0 };
  for (let round = 0; round < rounds; round++) {
    fake.enqueue({
      steps: [{ text: "first" }, { delayMs: 500 }, { text: "late" }],
    });
    const stream = await client.chat.completions.create({
      model: "gpt-test",
      messages,
      stream: true,
    });
    for await (const chunk of stream) {
      assert.equal(chunk.choices[0]?.delta.content, "first");
      break;
    }
    tally[await outcomeWithin(fake.requests[round]!, 3000)]++;
  }
  assert.deepStrictEqual(
    tally,
    { aborted: rounds, completed: 0, pending: 0 },
    `outcomes of ${rounds} streams left by break: ${JSON.stringify(tally)}`,
  );
});

Deno.test("fake LLM detects an abort while the script hangs", async () => {
  await using fake = startFakeLlm();
  fake.enqueue({ steps: [{ text: "first" }, { hang: true }] });
  const client = clientFor(fake);
  const abort = new AbortController();
  const stream = await client.chat.completions.create(
    { model: "gpt-test", messages, stream: true },
    { signal: abort.signal },
  );
  for await (const _ of stream) abort.abort();
  assert.equal(await outcomeWithin(fake.requests[0]!, 3000), "aborted");
});

/** A streamed completion from the fake, read one chunk at a time. */
async function streamFrom(fake: FakeLlm) {
  const stream = await clientFor(fake).chat.completions.create({
    model: "gpt-test",
    messages,
    stream: true,
  });
  return stream[Symbol.asyncIterator]();
}

Deno.test("fake LLM waitFor steps hold the stream until released", async () => {
  await using fake = startFakeLlm();
  const release = Promise.withResolvers<void>();
  fake.enqueue({
    steps: [{ text: "a" }, { waitFor: release.promise }, { text: "b" }],
  });
  const iterator = await streamFrom(fake);
  const first = await iterator.next();
  assert.equal(first.done, false);
  assert.equal(first.value.choices[0]?.delta.content, "a");
  const request = await fake.waitForRequest(0);
  assert.equal(await outcomeWithin(request, 50), "pending");
  assert.equal(request.tokenTimes.length, 1);
  release.resolve();
  const rest: string[] = [];
  for (
    let next = await iterator.next();
    !next.done;
    next = await iterator.next()
  ) {
    const content = next.value.choices[0]?.delta.content;
    if (content) rest.push(content);
  }
  assert.deepStrictEqual(rest, ["b"]);
  assert.equal(await request.outcome, "completed");
  assert.equal(request.tokenTimes.length, 2);
});

Deno.test("fake LLM disposes cleanly while a request hangs", async () => {
  const fake = startFakeLlm();
  fake.enqueue({ steps: [{ text: "first" }, { hang: true }] });
  const iterator = await streamFrom(fake);
  assert.equal((await iterator.next()).done, false);
  const request = await fake.waitForRequest(0);
  const pending = assert.rejects(
    fake.waitForRequest(1, 60_000),
    /disposed while waiting for a request/,
  );
  await fake[Symbol.asyncDispose]();
  await pending;
  assert.equal(await request.outcome, "aborted");
  // The cut body surfaces on the client side as an error.
  await assert.rejects(async () => {
    for (let next = await iterator.next(); !next.done;) {
      next = await iterator.next();
    }
  });
});

Deno.test("fake LLM uses queued scripts in order, then the default", async () => {
  await using fake = startFakeLlm({ defaultScript: tokens("default") });
  fake.enqueue(tokens("one"), tokens("two"));
  const client = clientFor(fake);
  const texts: string[] = [];
  for (let i = 0; i < 3; i++) {
    const stream = await client.chat.completions.create({
      model: `m${i}`,
      messages,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
    }
    texts.push(text);
  }
  assert.deepStrictEqual(texts, ["one", "two", "default"]);
  assert.deepStrictEqual(fake.requests.map((r) => r.body.model), [
    "m0",
    "m1",
    "m2",
  ]);
});

Deno.test("fake LLM refuses what it cannot serve", async (t) => {
  await using fake = startFakeLlm();
  const client = clientFor(fake);

  await t.step("no script queued and no default: 500", async () => {
    const error = await client.chat.completions.create({
      model: "gpt-test",
      messages,
      stream: true,
    }).then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof OpenAI.InternalServerError, `got ${error}`);
    assert.match(error.message, /no script queued for request #0/);
  });

  await t.step("a non-streaming request: 400, script kept", async () => {
    fake.enqueue(tokens("kept"));
    const error = await client.chat.completions.create({
      model: "gpt-test",
      messages,
    }).then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof OpenAI.BadRequestError, `got ${error}`);
    assert.match(error.message, /must always stream/);
    const stream = await client.chat.completions.create({
      model: "gpt-test",
      messages,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
    }
    assert.equal(text, "kept");
  });

  await t.step("other paths: 404", async () => {
    const response = await fetch(`${fake.baseUrl}/models`);
    assert.equal(response.status, 404);
    const body = await response.json();
    assert.match(body.error.message, /only POST \/v1\/chat\/completions/);
  });

  assert.equal(fake.requests.length, 3);
});

Deno.test("fake LLM waitForRequest times out with a clear error", async () => {
  await using fake = startFakeLlm({ defaultScript: tokens("hi") });
  await assert.rejects(
    fake.waitForRequest(0, 30),
    /FakeLlm: request #0 did not arrive within 30 ms \(0 request\(s\) received\)/,
  );
  const waiting = fake.waitForRequest(0);
  const stream = await clientFor(fake).chat.completions.create({
    model: "gpt-test",
    messages,
    stream: true,
  });
  for await (const _ of stream) { /* drain */ }
  assert.equal(await waiting, fake.requests[0]);
});
