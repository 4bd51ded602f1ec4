/**
 * One request to the chat model: streamed under a first-token and a stall
 * deadline, with failures classified for the log.
 *
 * @module
 */
import type OpenAI from "openai";
import { createWatchdog } from "../watchdog.ts";
import { describeError, type Logger } from "../log.ts";
import type { ModelErrorKind, ResponderOptions } from "../responder.ts";
import {
  type ChatChunk,
  type ChatFailure,
  type ChatTarget,
  streamChat,
} from "./chat_stream.ts";
import type { ChatToolCall } from "./messages.ts";
import { createToolCallAssembler } from "./tool_calls.ts";

/** Options of {@linkcode streamRound}. */
export interface RoundOptions {
  /** Where the request goes. */
  target: ChatTarget;
  /** The request. */
  body: OpenAI.Chat.ChatCompletionCreateParamsStreaming;
  /** The turn's signal: aborting it ends the round quietly. */
  signal: AbortSignal;
  /** Records `first_token` on the turn's latency line. */
  mark: (name: string) => void;
  /** Counts the round's failure, when it fails. */
  countModelError: ResponderOptions["countModelError"];
  /** Longest wait in ms for the first token. */
  firstTokenTimeoutMs: number;
  /** Longest gap in ms between two pieces of the stream. */
  stallTimeoutMs: number;
  /** Turns a text delta into the piece to speak, "" when none is ready. */
  speak: (delta: string) => string;
  /** Where `llm_failed` goes. */
  log: Logger;
  /** The call id, for the log line. */
  callId: string;
  /** The response id, for the log line. */
  responseId: number;
}

/** What the model wrote in one round. */
export interface RoundResult {
  /** The whole text, as the model wrote it. */
  text: string;
  /** The tool calls it asked for. */
  toolCalls: ChatToolCall[];
}

/**
 * Streams one request to the model: yields the spoken pieces as the text
 * arrives, under a first-token and a stall deadline, and returns the whole
 * text with the tool calls; undefined when the turn was aborted.
 *
 * @throws {Error} When the request fails, after logging `llm_failed`.
 */
export async function* streamRound(
  options: RoundOptions,
): AsyncGenerator<string, RoundResult | undefined> {
  const { signal, firstTokenTimeoutMs, stallTimeoutMs } = options;
  const request = new AbortController();
  let failure: ModelErrorKind | undefined;
  let gotToken = false;
  const watchdog = createWatchdog(() => {
    failure = gotToken ? "stall" : "first_token_timeout";
    request.abort(
      new DOMException(
        gotToken
          ? `The model's stream stalled for ${stallTimeoutMs} ms`
          : `No first token from the model within ${firstTokenTimeoutMs} ms`,
        "TimeoutError",
      ),
    );
  });
  const startedAt = performance.now();
  const toolCalls = createToolCallAssembler();
  let text = "";
  watchdog.arm(firstTokenTimeoutMs);
  // One listener instead of AbortSignal.any: no WeakRef per request.
  const onAbort = () => request.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort);
  const stream = streamChat(options.target, options.body, request.signal);
  let next: IteratorResult<ChatChunk, ChatFailure | undefined> | undefined;
  try {
    while (!(next = await stream.next()).done) {
      const delta = next.value.choices?.[0]?.delta;
      if (delta === undefined) continue;
      if (delta.content) {
        if (!gotToken) options.mark("first_token");
        gotToken = true;
        watchdog.arm(stallTimeoutMs);
        text += delta.content;
        const piece = options.speak(delta.content);
        if (piece !== "") yield piece;
      }
      for (const piece of delta.tool_calls ?? []) {
        gotToken = true;
        watchdog.arm(stallTimeoutMs);
        toolCalls.push(piece);
      }
    }
  } finally {
    watchdog.stop();
    signal.removeEventListener("abort", onAbort);
    // Left early (a superseded turn returns this generator at a yield):
    // returning the stream cancels the response body, which is what closes
    // the upstream request (PITFALLS: aborting alone may not).
    if (next?.done !== true) await stream.return(undefined);
  }
  const failed = next.value;
  if (signal.aborted) return undefined;
  if (failure === undefined && failed === undefined) {
    return { text, toolCalls: toolCalls.calls() };
  }
  const detail = describeFailure(failed, failure, request.signal.reason);
  const redacted = options.target.apiKey === ""
    ? detail.error
    : detail.error.replaceAll(options.target.apiKey, "[redacted]");
  options.log.error("llm_failed", {
    call_id: options.callId,
    response_id: options.responseId,
    model: options.body.model,
    ...detail,
    error: redacted,
    elapsed_ms: Math.round(performance.now() - startedAt),
  });
  options.countModelError?.(detail.kind);
  throw new Error(
    `Cannot get a reply from the model: ${redacted} (${detail.kind})`,
    { cause: failed ?? request.signal.reason },
  );
}

/** Classifies a failed model request for the log. */
function describeFailure(
  failed: ChatFailure | undefined,
  timedOut: ModelErrorKind | undefined,
  timeoutReason: unknown,
): { kind: ModelErrorKind; status?: number; error: string } {
  if (timedOut !== undefined) {
    return { kind: timedOut, error: describeError(timeoutReason) };
  }
  return failed!;
}
