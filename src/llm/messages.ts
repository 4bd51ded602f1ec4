/**
 * Turns Retell's transcript into the message list of an OpenAI-compatible
 * chat-completions request.
 *
 * @module
 */
import type { Utterance } from "../protocol/inbound.ts";

/** A tool call the model asked for, as chat-completions messages carry it. */
export interface ChatToolCall {
  /** The model's id for the call. */
  id: string;
  /** Always `"function"`. */
  type: "function";
  /** Which function, with what arguments. */
  function: {
    /** The tool's name. */
    name: string;
    /** The arguments as JSON text. */
    arguments: string;
  };
}

/** One message of a chat-completions request. */
export type ChatMessage =
  | {
    /** Instructions. */
    role: "system";
    /** The text. */
    content: string;
  }
  | {
    /** The caller. */
    role: "user";
    /** The text. */
    content: string;
  }
  | {
    /** The agent. */
    role: "assistant";
    /** What the agent said; null when it only called tools. */
    content: string | null;
    /** Tools the model called. */
    tool_calls?: ChatToolCall[];
  }
  | {
    /** A tool's result. */
    role: "tool";
    /** The call it answers. */
    tool_call_id: string;
    /** The result text. */
    content: string;
  };

/** Options of {@linkcode toChatMessages}. */
export interface ChatMessagesOptions {
  /** The system prompt, already filled; left out when empty. */
  prompt: string;
  /** The call's transcript, oldest first. */
  transcript: readonly Utterance[];
  /** Added to the system prompt when Retell asks for a reminder. */
  reminderInstruction?: string | undefined;
}

/**
 * Maps a transcript to chat messages: the system prompt first, `agent`
 * utterances as `assistant` and every other role as `user` (PROTOCOL.md
 * §3.5), consecutive utterances of one side merged, empty ones skipped.
 * For a reminder, the instruction is appended to the system prompt, so the
 * model checks in instead of answering the last question again.
 *
 * @param options Prompt, transcript and reminder instruction.
 * @returns The messages.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { toChatMessages } from "./messages.ts";
 *
 * assert.deepEqual(
 *   toChatMessages({
 *     prompt: "Be brief.",
 *     transcript: [
 *       { role: "agent", content: "Hi! " },
 *       { role: "user", content: "I need" },
 *       { role: "user", content: "a table for two." },
 *     ],
 *   }),
 *   [
 *     { role: "system", content: "Be brief." },
 *     { role: "assistant", content: "Hi!" },
 *     { role: "user", content: "I need\na table for two." },
 *   ],
 * );
 * ```
 */
export function toChatMessages(options: ChatMessagesOptions): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const system = options.reminderInstruction
    ? `${options.prompt}\n\n${options.reminderInstruction}`.trim()
    : options.prompt.trim();
  if (system !== "") messages.push({ role: "system", content: system });
  for (const utterance of options.transcript) {
    const content = utterance.content.trim();
    if (content === "") continue;
    const role = utterance.role === "agent" ? "assistant" : "user";
    const last = messages.at(-1);
    if (last !== undefined && last.role === role) {
      last.content = `${last.content}\n${content}`;
    } else {
      messages.push({ role, content });
    }
  }
  return messages;
}
