import assert from "node:assert/strict";
import {
  type ChatChunk,
  type ChatFailure,
  streamChat,
} from "../../src/llm/chat_stream.ts";

const BODY = {
  model: "test-model",
  stream: true as const,
  messages: [{ role: "user" as const, content: "Hi" }],
};

/**
 * A server on 127.0.0.1 that answers every request with `status` and these
 * pieces of body, each written separately; `cancelled` resolves true when
 * the client cancelled the body before its end.
 */
function rawServer(status: number, pieces: (string | Uint8Array)[]) {
  const cancelled = Promise.withResolvers<boolean>();
  const requests: { headers: Headers; body: unknown; url: string }[] = [];
  const encoder = new TextEncoder();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      requests.push({
        headers: request.headers,
        body: await request.json(),
        url: request.url,
      });
      let next = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          // One piece per pull, with a turn of the loop between, so the
          // client reads them apart.
          await new Promise((resolve) => timer = setTimeout(resolve, 1));
          const piece = pieces[next++];
          if (piece === undefined) {
            cancelled.resolve(false);
            controller.close();
            return;
          }
          controller.enqueue(
            typeof piece === "string" ? encoder.encode(piece) : piece,
          );
        },
        cancel() {
          clearTimeout(timer);
          cancelled.resolve(true);
        },
      });
      return new Response(body, {
        status,
        headers: { "content-type": "text/event-stream" },
      });
    },
  );
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1/`,
    requests,
    cancelled: cancelled.promise,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Every chunk's text and the result of the stream. */
async function read(
  baseUrl: string,
): Promise<{ texts: string[]; result: ChatFailure | undefined }> {
  const stream = streamChat(
    { baseUrl, apiKey: "sk-test" },
    BODY,
    new AbortController().signal,
  );
  const texts: string[] = [];
  let step: IteratorResult<ChatChunk, ChatFailure | undefined>;
  while (!(step = await stream.next()).done) {
    texts.push(step.value.choices[0]?.delta?.content ?? "");
  }
  return { texts, result: step.value };
}

function event(content: string): string {
  return `data: ${JSON.stringify({ choices: [{ delta: { content } }] })}\n\n`;
}

Deno.test("streamChat() reads events however the body is cut", async () => {
  const euro = new TextEncoder().encode(event("5 €"));
  const split = euro.indexOf(0xe2) + 1;
  await using server = rawServer(200, [
    ": a comment\n\n",
    event("One").slice(0, 10),
    event("One").slice(10),
    euro.slice(0, split),
    euro.slice(split),
    event("CRLF").replaceAll("\n", "\r\n"),
    'data: {"choices":\ndata: [{"delta":{"content":"two lines"}}]}\n\n',
    "data: [DONE]\n\n",
    event("after done"),
  ]);
  const { texts, result } = await read(server.baseUrl);
  assert.deepEqual(texts, ["One", "5 €", "CRLF", "two lines"]);
  assert.equal(result, undefined);
  assert.equal(await server.cancelled, false, "read to the end");
  const [request] = server.requests;
  assert.equal(request?.url.endsWith("/v1/chat/completions"), true);
  assert.equal(request?.headers.get("authorization"), "Bearer sk-test");
  assert.deepEqual(request?.body, BODY);
});

Deno.test("streamChat() reads a last event that lacks its blank line", async () => {
  await using server = rawServer(200, [event("Last").trimEnd()]);
  assert.deepEqual((await read(server.baseUrl)).texts, ["Last"]);
});

Deno.test("streamChat() returns the provider's error for an error status", async (t) => {
  const cases: [string, number, string, string][] = [
    [
      "JSON",
      429,
      '{"error":{"message":"Rate limit reached","type":"rate_limit"}}',
      "429 Rate limit reached",
    ],
    ["text", 502, "Bad gateway", "502 Bad gateway"],
    ["no body", 500, "", "500 status code (no body)"],
  ];
  for (const [name, status, body, error] of cases) {
    await t.step(name, async () => {
      await using server = rawServer(status, body === "" ? [] : [body]);
      const { texts, result } = await read(server.baseUrl);
      assert.deepEqual(texts, []);
      assert.deepEqual(result, { kind: "http", status, error });
    });
  }
});

Deno.test("streamChat() ends with a stream failure on an error event or bad JSON", async (t) => {
  await t.step("an error event", async () => {
    await using server = rawServer(200, [
      event("Partly"),
      'event: error\ndata: {"error":{"message":"overloaded"}}\n\n',
      event("never"),
    ]);
    const { texts, result } = await read(server.baseUrl);
    assert.deepEqual(texts, ["Partly"]);
    assert.deepEqual(result, { kind: "stream", error: "overloaded" });
    assert.equal(await server.cancelled, true, "the body is cancelled");
  });
  await t.step("an event that is not JSON", async () => {
    await using server = rawServer(200, ["data: {oops\n\n"]);
    const { result } = await read(server.baseUrl);
    assert.equal(result?.kind, "stream");
    assert.match(result?.error ?? "", /^Cannot read the model's stream: /);
  });
});

Deno.test("streamChat() returns a network failure when nothing answers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const { result } = await read(`http://127.0.0.1:${port}/v1`);
  assert.equal(result?.kind, "network");
});

Deno.test("streamChat() left early cancels the response body", async () => {
  await using server = rawServer(200, [
    event("First"),
    ...Array.from({ length: 100 }, () => event("more")),
  ]);
  const stream = streamChat(
    { baseUrl: server.baseUrl, apiKey: "" },
    BODY,
    new AbortController().signal,
  );
  for await (const chunk of stream) {
    assert.equal(chunk.choices[0]?.delta?.content, "First");
    break;
  }
  assert.equal(await server.cancelled, true);
});
