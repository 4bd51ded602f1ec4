/**
 * One streamed chat-completions request, read straight off `fetch`: the
 * request, the server-sent events of the answer, and its failures as data.
 *
 * This replaces the `openai` client on the hot path. Its request pipeline
 * (option merging, header building, several awaits before `fetch`) and its
 * five stacked async iterators per event cost about twice the CPU of the
 * bare relay per request (`deno task bench:load --only=S4`: request to
 * upstream p99 1.8x, token to frame p99 1.6x of the bare relay before).
 *
 * The body is read through one reused 16 KiB buffer and decoded from it
 * directly: Deno's `fetch` otherwise gives every read a fresh 64 KiB buffer,
 * and for events of a few hundred bytes that pressure forces full garbage
 * collections that pause every call in the process.
 *
 * @module
 */
import type OpenAI from "openai";
import { describeError } from "../log.ts";

/** Where a chat-completions request goes. */
export interface ChatTarget {
  /** Base URL of the OpenAI-compatible API, such as `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
}

/** Why a streamed request failed. */
export interface ChatFailure {
  /** `http`: an error status; `network`: no response; `stream`: a broken or malformed stream, or an error event in it. */
  kind: "http" | "network" | "stream";
  /** The HTTP status, for `http`. */
  status?: number;
  /** What went wrong, in the provider's words where it gave any. */
  error: string;
}

/** One parsed event of a chat-completions stream. */
export type ChatChunk = OpenAI.Chat.ChatCompletionChunk;

const READ_BUFFER_BYTES = 16_384;

/**
 * Sends one streaming chat-completions request and yields each event of
 * the answer, parsed, until `[DONE]` or the end of the body. Leaving the
 * loop early, or aborting `signal` (also while the generator is not being
 * read), cancels the response body, which is what closes the upstream
 * request (PITFALLS: aborting alone may not).
 *
 * @param target Where to send it.
 * @param body The request body (`stream: true`).
 * @param signal Aborting it ends the request; the generator then returns a
 *   `stream` or `network` failure that the caller ignores.
 * @returns Undefined when the stream ended normally, otherwise the failure.
 */
export async function* streamChat(
  target: ChatTarget,
  body: OpenAI.Chat.ChatCompletionCreateParamsStreaming,
  signal: AbortSignal,
): AsyncGenerator<ChatChunk, ChatFailure | undefined> {
  let response: Response;
  try {
    response = await fetch(chatUrl(target.baseUrl), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        authorization: `Bearer ${target.apiKey}`,
      },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    return { kind: "network", error: describeError(error) };
  }
  if (!response.ok) return await httpFailure(response);
  if (response.body === null) {
    return { kind: "stream", error: "the response has no body" };
  }
  const reader = response.body.getReader({ mode: "byob" });
  // Aborting cancels the body even while nobody reads this generator.
  const cancel = () => void reader.cancel().catch(() => {});
  signal.addEventListener("abort", cancel);
  const decoder = new TextDecoder();
  let buffer = new ArrayBuffer(READ_BUFFER_BYTES);
  let pending = "";
  let data: string | undefined;
  let event = "";
  let finished = false;
  let ended = false;
  try {
    while (true) {
      let text: string;
      try {
        const { value, done } = await reader.read(new Uint8Array(buffer));
        if (done || value === undefined) {
          ended = true;
          // The last event may lack its closing blank line.
          text = decoder.decode() + "\n\n";
        } else {
          buffer = value.buffer as ArrayBuffer;
          text = decoder.decode(value, { stream: true });
        }
      } catch (error) {
        // The finally block still cancels the body.
        return { kind: "stream", error: describeError(error) };
      }
      pending = pending === "" ? text : pending + text;
      let start = 0;
      let newline: number;
      while ((newline = pending.indexOf("\n", start)) !== -1) {
        let end = newline;
        if (end > start && pending.charCodeAt(end - 1) === 13) end--;
        const line = pending.slice(start, end);
        start = newline + 1;
        if (line === "") {
          // A blank line dispatches the event gathered so far.
          if (data === undefined || finished) {
            data = undefined;
            event = "";
            continue;
          }
          const payload = data;
          const name = event;
          data = undefined;
          event = "";
          if (payload === "[DONE]") {
            // Read on to the end, so the request completes rather than
            // being cut; later events are ignored.
            finished = true;
            continue;
          }
          const parsed = parseEvent(payload, name);
          if ("failure" in parsed) return parsed.failure;
          yield parsed.chunk;
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.charCodeAt(0) === 32) value = value.slice(1);
        if (field === "data") {
          data = data === undefined ? value : `${data}\n${value}`;
        } else if (field === "event") event = value;
      }
      pending = start === 0 ? pending : pending.slice(start);
      if (ended) return undefined;
    }
  } finally {
    signal.removeEventListener("abort", cancel);
    if (!ended) cancel();
  }
}

/** `<baseUrl>/chat/completions`, with one slash between. */
function chatUrl(baseUrl: string): string {
  return `${
    baseUrl.endsWith("/") ? baseUrl.slice(0, -1) : baseUrl
  }/chat/completions`;
}

/** Parses one event's data: a chunk, or the error the provider sent in it. */
function parseEvent(
  payload: string,
  name: string,
): { chunk: ChatChunk } | { failure: ChatFailure } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return {
      failure: {
        kind: "stream",
        error: "Cannot read the model's stream: an event is not JSON",
      },
    };
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (name === "error" || (error !== undefined && error !== null)) {
    return {
      failure: { kind: "stream", error: providerMessage(error ?? parsed) },
    };
  }
  return { chunk: parsed as ChatChunk };
}

/** The failure of a response with an error status, read from its body. */
async function httpFailure(response: Response): Promise<ChatFailure> {
  const status = response.status;
  let text = "";
  try {
    text = await response.text();
  } catch {
    // The status says enough.
  }
  let message = text;
  try {
    const parsed = JSON.parse(text) as { error?: unknown } | null;
    message = providerMessage(parsed?.error ?? parsed);
  } catch {
    // Not JSON: the text itself.
  }
  return {
    kind: "http",
    status,
    error: message === ""
      ? `${status} status code (no body)`
      : `${status} ${message}`,
  };
}

/** The provider's `error.message`, or the error as JSON. */
function providerMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === "string" && message !== "") return message;
  if (message !== undefined && message !== null && message !== "") {
    return JSON.stringify(message);
  }
  return JSON.stringify(error);
}
