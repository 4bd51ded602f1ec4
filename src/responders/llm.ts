/**
 * The responder that puts an OpenAI-compatible chat model behind the call:
 * streamed token by token, cancelled the moment Retell moves on, with tools.
 *
 * @module
 */
import { beforeDeadline, TIMED_OUT } from "../deadline.ts";
import { createMarkdownStripper } from "../llm/markdown.ts";
import {
  type ChatMessage,
  type ChatToolCall,
  toChatMessages,
} from "../llm/messages.ts";
import {
  type ModelEndpoint,
  streamRoundWithFallback,
} from "../llm/fallback_model.ts";
import { createCallTemplateFiller } from "../llm/call_template.ts";
import { hasPlaceholders } from "../llm/template.ts";
import { createToolbox } from "../llm/toolbox.ts";
import type { LlmTool, ToolOutcome } from "../llm/tools.ts";
import type { Logger } from "../log.ts";
import type {
  Responder,
  ResponderOptions,
  ResponsePart,
  Turn,
} from "../responder.ts";

/** The system prompt used when none is configured. */
export const DEFAULT_AGENT_PROMPT: string =
  "You are a friendly, helpful voice agent on a phone call. Everything you write is spoken aloud " +
  "by text-to-speech, so answer in short, natural spoken sentences, one or two at a time. Never " +
  "use markdown, bullet points, numbered lists, headings, emoji, URLs or code. Spell out what a " +
  "listener needs to hear, such as times and amounts. If you did not understand the caller, ask " +
  "them to repeat. When the caller is done and says goodbye, end the call.";

/** Added to the prompt when Retell asks for a reminder (the caller went quiet). */
export const DEFAULT_REMINDER_INSTRUCTION: string =
  "The caller has been silent for a while. Do not repeat your last answer: check in briefly, " +
  "for example by asking whether they are still there or need more time.";

/** Spoken once in a turn whose tool runs past the progress delay. */
export const DEFAULT_TOOL_PROGRESS_LINE: string =
  "Still working on it, thank you for waiting.";

/** Options of {@linkcode createLlmResponder}. */
export interface LlmResponderOptions {
  /** The provider's API key; never logged. */
  apiKey: string;
  /**
   * Base URL of an OpenAI-compatible chat-completions API.
   *
   * @default {"https://api.openai.com/v1"}
   */
  baseUrl?: string;
  /** Model name. */
  model: string;
  /**
   * A second model, asked at once for the same turn when `model` fails
   * (HTTP or network error, no first token in time, a broken stream) before
   * anything was spoken. Its base URL and key default to the primary's.
   */
  fallback?: LlmFallbackOptions | undefined;
  /** Where log lines go. */
  log: Logger;
  /**
   * System prompt; `{{name}}` and `{{name|default}}` placeholders are
   * filled from the call's dynamic variables, and one left unfilled is
   * removed (logged once per call as `placeholder_unfilled`).
   *
   * @default {DEFAULT_AGENT_PROMPT}
   */
  prompt?: string;
  /**
   * The greeting, with placeholders filled the same way; empty lets the caller speak first.
   *
   * @default {"Hello! How can I help you today?"}
   */
  beginMessage?: string;
  /** Sampling temperature; the provider's default when left out. */
  temperature?: number | undefined;
  /** Longest reply in tokens (`max_tokens`); the provider's default when left out. */
  maxTokens?: number | undefined;
  /**
   * Longest wait in ms for the model's first token of a request.
   *
   * @default {8000}
   */
  firstTokenTimeoutMs?: number;
  /**
   * Longest gap in ms between two pieces of the model's stream.
   *
   * @default {8000}
   */
  stallTimeoutMs?: number;
  /** Offers the `transfer_call` tool, sending callers to this number. */
  transferNumber?: string | undefined;
  /** Your own tools, made with `defineTool`. */
  tools?: readonly LlmTool[];
  /**
   * Most rounds of tool calls in one turn before the model must answer.
   *
   * @default {4}
   */
  maxToolRounds?: number;
  /**
   * Longest wait in ms for a tool run that another socket of the call
   * claimed (Retell reconnected while it ran, here or on another instance
   * sharing the call store), counted from its claim. Past it the model is
   * told the result is not known, and the tool is not run again.
   *
   * @default {10000}
   */
  toolWaitMs?: number;
  /**
   * A tool still running after this many ms gets
   * {@linkcode LlmResponderOptions.toolProgressLine}, once per turn, as a
   * frame of the same response (the tool's turn stays open for its
   * result; an `agent_interrupt` would cancel it, PROTOCOL.md §5.5). 0 is
   * off.
   *
   * @default {2500}
   */
  toolProgressMs?: number;
  /**
   * What the agent says when a tool runs past `toolProgressMs`.
   *
   * @default {DEFAULT_TOOL_PROGRESS_LINE}
   */
  toolProgressLine?: string;
  /**
   * Added to the prompt for `reminder_required`.
   *
   * @default {DEFAULT_REMINDER_INSTRUCTION}
   */
  reminderInstruction?: string;
}

/** The fallback model of {@linkcode LlmResponderOptions.fallback}. */
export interface LlmFallbackOptions {
  /** Model name. */
  model: string;
  /** Base URL of its API; the primary's when left out. */
  baseUrl?: string | undefined;
  /** Its provider's key; the primary's when left out. Never logged. */
  apiKey?: string | undefined;
}

/**
 * Creates the responder that answers with an OpenAI-compatible chat model.
 *
 * Each text delta is sent to Retell as soon as it arrives (markdown markers
 * removed on the way). A newer `response_id`, or the call closing, aborts
 * the request to the model at once and cancels its response body. The model
 * can end the call, transfer it (when a number is configured) and call your
 * tools; a tool runs at most once per call for the same arguments, also
 * across sockets Retell reconnects and instances sharing the call store
 * (the run is claimed in {@linkcode CallContext.store} first). Upstream
 * failures (HTTP errors, network errors, no first token in time, a stalled
 * stream) are logged with the provider's status and message and end the
 * turn with a short spoken apology.
 *
 * @param options Provider, model, prompt, timeouts and tools.
 * @returns The responder.
 * @throws {TypeError} When a tool's name is used twice or clashes with a built-in tool.
 *
 * @example With Ollama on this machine
 * ```ts ignore
 * import { createLlmResponder, createLogger, createRetellServer } from "./src/mod.ts";
 *
 * const log = createLogger();
 * const responder = createLlmResponder({
 *   apiKey: "ollama",
 *   baseUrl: "http://localhost:11434/v1",
 *   model: "llama3.2",
 *   log,
 * });
 * Deno.serve({ port: 8080 }, createRetellServer({ responder, log }).handler);
 * ```
 */
export function createLlmResponder(options: LlmResponderOptions): Responder {
  const { log, model } = options;
  const baseUrl = options.baseUrl ?? "https://api.openai.com/v1";
  const primary = modelEndpoint(model, baseUrl, options.apiKey);
  const fallback = options.fallback === undefined ? undefined : modelEndpoint(
    options.fallback.model,
    options.fallback.baseUrl ?? baseUrl,
    options.fallback.apiKey ?? options.apiKey,
  );
  const prompt = options.prompt ?? DEFAULT_AGENT_PROMPT;
  const beginMessage = options.beginMessage ??
    "Hello! How can I help you today?";
  const firstTokenTimeoutMs = options.firstTokenTimeoutMs ?? 8_000;
  const stallTimeoutMs = options.stallTimeoutMs ?? 8_000;
  const maxToolRounds = options.maxToolRounds ?? 4;
  const reminderInstruction = options.reminderInstruction ??
    DEFAULT_REMINDER_INSTRUCTION;
  const transferNumber = options.transferNumber;
  const toolProgressMs = options.toolProgressMs ?? 2_500;
  const toolProgressLine = options.toolProgressLine ??
    DEFAULT_TOOL_PROGRESS_LINE;

  const tools = createToolbox({
    tools: options.tools ?? [],
    transferNumber,
    log,
    waitMs: options.toolWaitMs ?? 10_000,
  });

  const fill = createCallTemplateFiller(log);

  return {
    beginAfterCallDetails: hasPlaceholders(beginMessage),
    begin: (call) => fill(beginMessage, call),
    respond: (turn, options) => startedEarly(answer(turn, options)),
  };

  /** Answers one turn: the model's rounds, with tools between them. */
  async function* answer(
    turn: Turn,
    { signal, mark, countModelError, countModelRequest }: ResponderOptions,
  ): AsyncGenerator<ResponsePart> {
    const { call } = turn;
    const messages: ChatMessage[] = toChatMessages({
      prompt: fill(prompt, call),
      transcript: turn.transcript,
      reminderInstruction: turn.kind === "reminder"
        ? reminderInstruction
        : undefined,
    });
    const strip = createMarkdownStripper();
    let lastSpoken = "";
    // Set after a tool has run: the next piece starts a new sentence and
    // needs a space; model tokens in a row are joined exactly as written.
    let boundary = false;
    // One progress line per turn, however many tools run long.
    let progressSpoken = false;
    const speak = (piece: string, startsSentence = boundary) => {
      const text = startsSentence && needsSpace(lastSpoken, piece)
        ? ` ${piece}`
        : piece;
      lastSpoken = text;
      boundary = false;
      return text;
    };

    for (let round = 0; round <= maxToolRounds; round++) {
      if (signal.aborted) return;
      const offerTools = round < maxToolRounds;
      const result = yield* streamRoundWithFallback({
        primary,
        fallback,
        countModelRequest,
        body: {
          model,
          messages,
          stream: true,
          ...(options.temperature !== undefined &&
            { temperature: options.temperature }),
          ...(options.maxTokens !== undefined &&
            { max_tokens: options.maxTokens }),
          ...(offerTools && { tools: tools.specs }),
        },
        signal,
        mark,
        countModelError,
        firstTokenTimeoutMs,
        stallTimeoutMs,
        speak: (delta) => {
          const speakable = strip.push(delta);
          return speakable === "" ? "" : speak(speakable);
        },
        log,
        callId: call.callId,
        responseId: turn.responseId,
      });
      if (result === undefined) return;

      const { text, toolCalls: requested } = result;
      if (requested.length === 0) return;
      messages.push({
        role: "assistant",
        content: text === "" ? null : text,
        tool_calls: requested,
      });
      for (const toolCall of requested) {
        const name = toolCall.function.name;
        if (
          name === "end_call" ||
          (name === "transfer_call" && transferNumber !== undefined)
        ) {
          const spoken = messageArgument(toolCall.function.arguments);
          if (spoken !== "") yield speak(spoken, true);
          log.info("llm_action", {
            call_id: call.callId,
            response_id: turn.responseId,
            action: name,
          });
          yield name === "end_call"
            ? { type: "end_call" }
            : { type: "transfer_call", number: transferNumber! };
          return;
        }
        const outcome = yield* useTool(toolCall);
        if (outcome === undefined) return;
        messages.push({
          role: "tool",
          tool_call_id: toolCall.id,
          content: outcome.content,
        });
      }
    }

    /**
     * Runs one call of a user tool: holding line (when nothing was said
     * yet), invocation record, the tool (at most once per call for equal
     * arguments), result record. Bad arguments go back to the model.
     */
    async function* useTool(
      toolCall: ChatToolCall,
    ): AsyncGenerator<ResponsePart, ToolOutcome | undefined> {
      const name = toolCall.function.name;
      const tool = tools.find(name);
      if (tool === undefined) {
        log.warn("tool_unknown", {
          call_id: call.callId,
          response_id: turn.responseId,
          tool: name,
        });
        return {
          content: `Cannot call tool "${name}": there is no such tool`,
          successful: false,
        };
      }
      const parsed = await tool.parse(toolCall.function.arguments);
      if (!parsed.ok) {
        log.warn("tool_arguments_invalid", {
          call_id: call.callId,
          response_id: turn.responseId,
          tool: name,
          error: parsed.error,
        });
        return { content: parsed.error, successful: false };
      }
      // Never start a tool for a turn nobody will hear.
      if (signal.aborted) return undefined;
      if (lastSpoken === "" && tool.holdingLine) {
        yield speak(tool.holdingLine, true);
      }
      yield {
        type: "tool_call_invocation",
        toolCallId: toolCall.id,
        name,
        arguments: toolCall.function.arguments,
      };
      const running = tools.runOnce(
        tool,
        parsed.key,
        parsed.value,
        call,
        toolCall.id,
      );
      if (
        toolProgressMs > 0 && !progressSpoken &&
        await beforeDeadline(
            running.then(() => true, () => true),
            toolProgressMs,
          ) === TIMED_OUT
      ) {
        progressSpoken = true;
        log.info("tool_progress", {
          call_id: call.callId,
          response_id: turn.responseId,
          tool: name,
          after_ms: toolProgressMs,
        });
        yield speak(toolProgressLine, true);
      }
      const outcome = await running;
      boundary = true;
      yield {
        type: "tool_call_result",
        toolCallId: toolCall.id,
        content: outcome.content,
        successful: outcome.successful,
      };
      return outcome;
    }
  }
}

/**
 * Runs `reply` to its first part at once, so the model request leaves
 * before the reply is iterated: under load each await between the request
 * arriving and the iteration starting waits behind other calls' work.
 */
function startedEarly<T>(reply: AsyncGenerator<T>): AsyncIterableIterator<T> {
  let first: Promise<IteratorResult<T>> | undefined = reply.next();
  // Whoever iterates sees a failure; a reply never iterated (its turn
  // stopped first, which aborts its request) must not leave it unhandled.
  first.catch(() => {});
  const iterator: AsyncIterableIterator<T> = {
    next() {
      const step = first ?? reply.next();
      first = undefined;
      return step;
    },
    return(value?: T) {
      first = undefined;
      return reply.return(value);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** One model and where its requests go. */
function modelEndpoint(
  model: string,
  baseUrl: string,
  apiKey: string,
): ModelEndpoint {
  return { target: { baseUrl, apiKey }, model };
}

/** Whether two spoken pieces need a space between them. */
function needsSpace(before: string, after: string): boolean {
  return before !== "" && !/\s$/.test(before) && !/^\s/.test(after);
}

/** The `message` argument of a built-in tool, or "" when missing or malformed. */
function messageArgument(argumentsText: string): string {
  try {
    const parsed: unknown = JSON.parse(argumentsText);
    const message = (parsed as { message?: unknown } | null)?.message;
    return typeof message === "string" ? message.trim() : "";
  } catch {
    return "";
  }
}
