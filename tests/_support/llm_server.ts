/**
 * A scripted stand-in for the OpenAI chat-completions API, served over real
 * HTTP on 127.0.0.1, for tests of responders that use the `openai` client.
 */

/** A fake model behind `POST /v1/chat/completions`. */
export interface FakeLlm extends AsyncDisposable {
  /** Base URL to give the OpenAI client: `http://127.0.0.1:<port>/v1`. */
  readonly baseUrl: string;
  /** Every request received on POST /v1/chat/completions, in order (none with `keepRequests: false`). */
  readonly requests: readonly LlmRequest[];
  /** Queues the script for the next request(s); scripts are used in FIFO order; when the queue is empty use the default script given at creation (or fail the request with 500 and a clear message). */
  enqueue(...scripts: LlmScript[]): void;
  /** Resolves with the request once the n-th (0-based) request has arrived (bounded by timeoutMs, default 3000, rejecting with a clear error). */
  waitForRequest(index: number, timeoutMs?: number): Promise<LlmRequest>;
}

/** One request the fake model received. */
export interface LlmRequest {
  /** Parsed JSON body (model, messages, tools, stream, temperature, max_tokens/max_completion_tokens, ...). */
  readonly body: Record<string, unknown>;
  /** Request headers (to check Authorization is sent, e.g. "Bearer test-key"). */
  readonly headers: Headers;
  /** Resolves to "completed" when the server wrote the whole script, or "aborted" when the client went away (the response did not complete / the stream was cancelled / a write failed) before the end. Must resolve in both cases, never hang: this is how tests prove that cancelling a turn closes the upstream request. */
  readonly outcome: Promise<"completed" | "aborted">;
  /** performance.timeOrigin + performance.now() at which each script step that writes a token was written (for benchmarks), in order. */
  readonly tokenTimes: readonly number[];
}

/** One step of a streamed answer. */
export type LlmStep =
  /** One SSE chunk with `choices[0].delta.content = text`. */
  | { text: string }
  /**
   * A tool call. Without `split`, one chunk carries id, name and all the
   * arguments. With `split`, a first chunk carries id, type and name (empty
   * arguments), then `split` chunks carry only `index` and a piece of the
   * arguments, the way OpenAI streams them. `index` defaults to the call's
   * position among the script's tool calls.
   */
  | {
    toolCall: { id: string; name: string; arguments: string; index?: number };
    split?: number;
  }
  /** Waits, on a timer that is cleared if the client aborts. */
  | { delayMs: number }
  /** Waits until the promise settles (or the client aborts). */
  | { waitFor: Promise<unknown> }
  /** Sends nothing more until the client aborts; the response stays open. */
  | { hang: true }
  /** A chunk with this `finish_reason` and an empty delta. */
  | { finish: "stop" | "tool_calls" | "length" };

/** How the fake model answers one request. */
export type LlmScript =
  /**
   * 200 `text/event-stream`: each step, then (unless a finish step was given)
   * a finish chunk, `"tool_calls"` if tool calls were sent and `"stop"`
   * otherwise, then `data: [DONE]`.
   */
  | { steps: LlmStep[] }
  /** An HTTP error with OpenAI's JSON error body `{"error":{...}}`. */
  | { status: number; error: { message: string; type?: string; code?: string } }
  /**
   * Sends the steps, then cuts the response body mid-stream (no finish chunk,
   * no `[DONE]`), as a network error would. Its outcome is "completed" once
   * the cut is made.
   */
  | { dropConnection: true; afterSteps?: LlmStep[] };

/** Convenience: a script that streams each string as one token. */
export function tokens(...texts: string[]): LlmScript {
  return { steps: texts.map((text) => ({ text })) };
}

const encoder = new TextEncoder();

function now(): number {
  return performance.timeOrigin + performance.now();
}

function jsonError(
  status: number,
  error: { message: string; type?: string; code?: string },
): Response {
  return Response.json({
    error: {
      message: error.message,
      type: error.type ?? "invalid_request_error",
      param: null,
      code: error.code ?? null,
    },
  }, { status });
}

/** Splits text into `count` pieces by code point; the last takes the rest. */
function splitInto(text: string, count: number): string[] {
  const points = [...text];
  const size = Math.ceil(points.length / count);
  const pieces: string[] = [];
  for (let i = 0; i < count; i++) {
    pieces.push(points.slice(i * size, (i + 1) * size).join(""));
  }
  return pieces;
}

/** Marks the deliberate errors that cut a response body. */
class StreamCut extends Error {
  constructor(what: string) {
    super(`FakeLlm: ${what}`);
  }
}

/** A streamed answer in flight, so disposal can stop it. */
interface ActiveStream {
  stop(): void;
}

/**
 * Starts the fake model on 127.0.0.1 and an ephemeral port. Requests are
 * answered by queued scripts in order, then by `defaultScript`, else with a
 * 500. Other paths answer 404, and a body without `stream: true` answers 400
 * (without using a script). Disposing stops every stream still running (its
 * outcome becomes "aborted" and its body is cut), rejects pending
 * `waitForRequest` calls, and waits for the listener to close.
 */
export function startFakeLlm(
  options: {
    defaultScript?: LlmScript;
    /** False for long runs (the soak): requests are answered but not kept. */
    keepRequests?: boolean;
  } = {},
): FakeLlm {
  const requests: LlmRequest[] = [];
  let received = 0;
  const scripts: LlmScript[] = [];
  const active = new Set<ActiveStream>();
  const waiters = new Set<{ index: number; resolve(): void }>();
  const rejectors = new Set<(error: Error) => void>();
  let disposed = false;

  function record(request: Request, body: Record<string, unknown>) {
    const outcome = Promise.withResolvers<"completed" | "aborted">();
    let settled = false;
    const tokenTimes: number[] = [];
    const entry: LlmRequest = {
      body,
      headers: new Headers(request.headers),
      outcome: outcome.promise,
      tokenTimes,
    };
    received++;
    if (options.keepRequests !== false) requests.push(entry);
    for (const waiter of [...waiters]) {
      if (waiter.index < requests.length) waiter.resolve();
    }
    return {
      entry,
      tokenTimes,
      settle(value: "completed" | "aborted") {
        if (settled) return;
        settled = true;
        outcome.resolve(value);
      },
    };
  }

  function stream(
    info: Deno.ServeHandlerInfo,
    steps: readonly LlmStep[],
    ending: "finish" | "drop",
    recorded: ReturnType<typeof record>,
  ): Response {
    const model = typeof recorded.entry.body.model === "string"
      ? recorded.entry.body.model
      : "fake-model";
    const created = Math.floor(Date.now() / 1000);
    const aborted = Promise.withResolvers<void>();
    let isAborted = false;
    let ended = false;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    /** True while Deno waits for a chunk: it has taken all we enqueued. */
    let drained = false;
    let onPull: (() => void) | undefined;

    function abort() {
      if (isAborted || ended) return;
      isAborted = true;
      recorded.settle("aborted");
      aborted.resolve();
      onPull?.();
      try {
        controller.error(new StreamCut("stream stopped"));
      } catch { /* already closed or errored */ }
    }
    const handle: ActiveStream = { stop: abort };

    let first = true;
    /** Enqueues one event; false (and aborted) if the client is gone. */
    function write(data: string): boolean {
      if (isAborted) return false;
      try {
        controller.enqueue(encoder.encode(`data: ${data}\n\n`));
        drained = false;
        return true;
      } catch {
        abort();
        return false;
      }
    }
    function chunk(
      delta: Record<string, unknown>,
      finishReason: string | null = null,
    ): boolean {
      if (first) {
        delta = { role: "assistant", ...delta };
        first = false;
      }
      return write(JSON.stringify({
        id: "chatcmpl-test",
        object: "chat.completion.chunk",
        created,
        model,
        choices: [{ index: 0, delta, finish_reason: finishReason }],
      }));
    }
    /** Waits `ms`, or less if the stream is stopped. */
    function sleep(ms: number): Promise<void> {
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        aborted.promise.then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    /** Resolves once every chunk enqueued so far has been taken (or on abort). */
    function untilDrained(): Promise<void> {
      if (drained || isAborted) return Promise.resolve();
      return new Promise((resolve) => {
        onPull = () => {
          onPull = undefined;
          resolve();
        };
      });
    }

    async function run() {
      let toolCalls = 0;
      let finished = false;
      for (const step of steps) {
        if (isAborted) return;
        if ("text" in step) {
          if (!chunk({ content: step.text })) return;
          recorded.tokenTimes.push(now());
        } else if ("toolCall" in step) {
          const call = step.toolCall;
          const index = call.index ?? toolCalls;
          toolCalls++;
          const head = {
            index,
            id: call.id,
            type: "function",
            function: {
              name: call.name,
              arguments: step.split === undefined ? call.arguments : "",
            },
          };
          if (!chunk({ tool_calls: [head] })) return;
          if (step.split !== undefined) {
            const count = Math.max(1, Math.floor(step.split));
            for (const piece of splitInto(call.arguments, count)) {
              const delta = { index, function: { arguments: piece } };
              if (!chunk({ tool_calls: [delta] })) return;
            }
          }
          recorded.tokenTimes.push(now());
        } else if ("delayMs" in step) {
          await sleep(step.delayMs);
        } else if ("waitFor" in step) {
          const released = step.waitFor.then(() => {}, () => {});
          await Promise.race([released, aborted.promise]);
        } else if ("hang" in step) {
          await aborted.promise;
        } else if ("finish" in step) {
          if (!chunk({}, step.finish)) return;
          finished = true;
        }
      }
      if (isAborted) return;
      if (ending === "drop") {
        // Erroring a stream discards what is still queued, so first let
        // Deno take every chunk already written.
        await untilDrained();
        if (isAborted) return;
        ended = true;
        recorded.settle("completed");
        controller.error(new StreamCut("connection dropped by the script"));
        return;
      }
      if (!finished && !chunk({}, toolCalls > 0 ? "tool_calls" : "stop")) {
        return;
      }
      if (!write("[DONE]")) return;
      ended = true;
      recorded.settle("completed");
      controller.close();
    }

    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
      pull() {
        drained = true;
        onPull?.();
      },
      cancel() {
        abort();
      },
    }, { highWaterMark: 0 });
    // The client going away rejects `completed` (and cancels the body);
    // request.signal is not watched: in Deno's legacy mode it also aborts
    // after a response that completed, with a notice on stderr.
    info.completed.catch(() => abort());
    active.add(handle);
    run().catch(() => abort()).finally(() => active.delete(handle));
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      },
    });
  }

  async function handler(
    request: Request,
    info: Deno.ServeHandlerInfo,
  ): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname !== "/v1/chat/completions" || request.method !== "POST") {
      return jsonError(404, {
        message: `FakeLlm serves only POST /v1/chat/completions, not ` +
          `${request.method} ${pathname}`,
        code: "not_found",
      });
    }
    let body: Record<string, unknown> = {};
    let invalid: string | undefined;
    try {
      const parsed: unknown = await request.json();
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        body = parsed as Record<string, unknown>;
      } else invalid = "FakeLlm: the request body is not a JSON object";
    } catch (error) {
      invalid = `FakeLlm: the request body is not JSON: ${error}`;
    }
    const recorded = record(request, body);
    const index = received - 1;
    if (invalid === undefined && body.stream !== true) {
      invalid = `FakeLlm: request #${index} has stream: ` +
        `${JSON.stringify(body.stream)}; the responder must always stream`;
    }
    if (invalid !== undefined) {
      recorded.settle("completed");
      return jsonError(400, { message: invalid });
    }
    const script = disposed
      ? undefined
      : scripts.shift() ?? options.defaultScript;
    if (script === undefined) {
      recorded.settle("completed");
      return jsonError(500, {
        message: disposed
          ? `FakeLlm: request #${index} arrived after disposal`
          : `FakeLlm: no script queued for request #${index} and no ` +
            `defaultScript given; call enqueue() before the request`,
        type: "server_error",
      });
    }
    if ("status" in script) {
      recorded.settle("completed");
      return jsonError(script.status, script.error);
    }
    if ("dropConnection" in script) {
      return stream(info, script.afterSteps ?? [], "drop", recorded);
    }
    return stream(info, script.steps, "finish", recorded);
  }

  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      // Deno reports a body stream's error here; the cuts are deliberate.
      onError(error) {
        if (error instanceof StreamCut) {
          return new Response(null, { status: 500 });
        }
        return jsonError(500, {
          message: `FakeLlm failed: ${error}`,
          type: "server_error",
        });
      },
    },
    handler,
  );

  function waitForRequest(
    index: number,
    timeoutMs = 3000,
  ): Promise<LlmRequest> {
    const arrived = requests[index];
    if (arrived) return Promise.resolve(arrived);
    if (disposed) {
      return Promise.reject(
        new Error(`FakeLlm: cannot wait for request #${index} after disposal`),
      );
    }
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
        rejectors.delete(fail);
      };
      const waiter = {
        index,
        resolve() {
          settle();
          resolve(requests[index]!);
        },
      };
      const fail = (error: Error) => {
        settle();
        reject(error);
      };
      const timer = setTimeout(() =>
        fail(
          new Error(
            `FakeLlm: request #${index} did not arrive within ${timeoutMs} ms ` +
              `(${requests.length} request(s) received)`,
          ),
        ), timeoutMs);
      waiters.add(waiter);
      rejectors.add(fail);
    });
  }

  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    requests,
    enqueue(...more) {
      scripts.push(...more);
    },
    waitForRequest,
    async [Symbol.asyncDispose]() {
      disposed = true;
      for (const fail of [...rejectors]) {
        fail(new Error("FakeLlm: disposed while waiting for a request"));
      }
      for (const handle of [...active]) handle.stop();
      await server.shutdown();
    },
  };
}
