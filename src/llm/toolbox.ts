/**
 * The tools one LLM responder offers the model: the built-in `end_call`
 * and `transfer_call`, the user's tools, and what each call returned.
 *
 * @module
 */
import type OpenAI from "openai";
import type { Logger } from "../log.ts";
import type { CallContext } from "../responder.ts";
import { runToolOnce } from "./tool_runs.ts";
import type { LlmTool, ToolOutcome } from "./tools.ts";

/** Function definitions of the built-in tools, in chat-completions form. */
function builtInTools(transferNumber: string | undefined) {
  const message = {
    type: "object",
    properties: {
      message: {
        type: "string",
        description: "What to say first, in one short sentence.",
      },
    },
    required: ["message"],
    additionalProperties: false,
  };
  const tools = [{
    type: "function" as const,
    function: {
      name: "end_call",
      description:
        "Hang up. Use it when the caller says goodbye or the conversation is over. The message is the goodbye spoken before hanging up.",
      parameters: message,
    },
  }];
  if (transferNumber !== undefined) {
    tools.push({
      type: "function" as const,
      function: {
        name: "transfer_call",
        description:
          "Transfer the caller to a human colleague. Use it when the caller asks for a person or you cannot help. The message is spoken before the transfer.",
        parameters: message,
      },
    });
  }
  return tools;
}

/** The tools one responder offers the model, and what each call returned. */
export interface Toolbox {
  /** Function definitions for a request, the built-in tools first. */
  readonly specs: OpenAI.Chat.ChatCompletionFunctionTool[];
  /** The user tool of this name, if any. */
  find(name: string): LlmTool | undefined;
  /**
   * Runs a tool, or returns what it gave earlier in the same call for the
   * same arguments, so a re-asked turn reuses it (PROTOCOL.md §5.9): on
   * this socket from memory, across sockets and instances through the
   * call store.
   */
  runOnce(
    tool: LlmTool,
    key: string,
    args: unknown,
    call: CallContext,
    toolCallId: string,
  ): Promise<ToolOutcome>;
}

/** Options of {@linkcode createToolbox}. */
export interface ToolboxOptions {
  /** The user's tools. */
  tools: readonly LlmTool[];
  /** Offers `transfer_call` when set. */
  transferNumber: string | undefined;
  /** Where reuse, waits and store failures are logged. */
  log: Logger;
  /** Longest wait for a run another socket claimed, from its claim. */
  waitMs: number;
}

/**
 * Collects the built-in tools and the user's tools of one responder.
 *
 * @throws {TypeError} When a tool's name is used twice or clashes with a built-in tool.
 */
export function createToolbox(options: ToolboxOptions): Toolbox {
  const { tools, transferNumber, log, waitMs } = options;
  const userTools = new Map<string, LlmTool>();
  for (const tool of tools) {
    if (
      userTools.has(tool.name) || tool.name === "end_call" ||
      tool.name === "transfer_call"
    ) {
      throw new TypeError(
        `Cannot add tool "${tool.name}": the name is already taken`,
      );
    }
    userTools.set(tool.name, tool);
  }
  const specs = [
    ...builtInTools(transferNumber),
    ...[...userTools.values()].map((tool) => ({
      type: "function" as const,
      function: {
        name: tool.name,
        description: tool.description,
        parameters: { ...tool.parameters },
      },
    })),
  ];
  // Per socket, and gone with it; the call store spans sockets.
  const toolResults = new WeakMap<
    CallContext,
    Map<string, Promise<ToolOutcome>>
  >();

  return {
    specs,
    find: (name) => userTools.get(name),
    runOnce(tool, key, args, call, toolCallId) {
      let results = toolResults.get(call);
      if (results === undefined) {
        results = new Map();
        toolResults.set(call, results);
      }
      const cacheKey = `${tool.name}\u0000${key}`;
      let outcome = results.get(cacheKey);
      if (outcome === undefined) {
        const known = results;
        outcome = runToolOnce({
          tool,
          args,
          key,
          call,
          toolCallId,
          log,
          waitMs,
        })
          .then((ran) => {
            if (ran !== undefined) return ran;
            // Not kept: the next ask looks in the store again.
            known.delete(cacheKey);
            return unknownOutcome(tool.name);
          });
        results.set(cacheKey, outcome);
      } else {
        log.info("tool_reused", {
          call_id: call.callId,
          tool: tool.name,
          tool_call_id: toolCallId,
          from: "socket",
        });
      }
      return outcome;
    },
  };
}

/** What the model is told when a run claimed elsewhere gave no result in time. */
function unknownOutcome(name: string): ToolOutcome {
  return {
    content:
      `${name} was already started with these arguments earlier in this call, before the line reconnected, and its result is not known. Do not call it again with the same arguments: tell the caller you could not confirm the result yet.`,
    successful: false,
  };
}
