/**
 * Puts together the tool calls of a streamed chat-completions response: the
 * model sends each call in pieces, keyed by its index, and the id, the name
 * and the JSON arguments may each be split across pieces.
 *
 * @module
 */
import type { ChatToolCall } from "./messages.ts";

/** One piece of a streamed tool call, as `choices[0].delta.tool_calls` carries it. */
export interface ToolCallDelta {
  /** Which call of the response the piece belongs to. */
  index: number;
  /** The call's id, usually on its first piece only. */
  id?: string;
  /** Text to append to the call's name and arguments. */
  function?: {
    /** A piece of the tool's name. */
    name?: string;
    /** A piece of the arguments' JSON text. */
    arguments?: string;
  };
}

/** Collects the tool-call pieces of one model response. */
export interface ToolCallAssembler {
  /** Adds one piece to the call at its index. */
  push(delta: ToolCallDelta): void;
  /** The calls that have a name, in index order. */
  calls(): ChatToolCall[];
}

/**
 * Creates an assembler for the tool calls of one streamed response. A call
 * whose pieces carry no id gets one made up (`call_` and a UUID), since the
 * tool result must name it.
 *
 * @returns The assembler, empty.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createToolCallAssembler } from "./tool_calls.ts";
 *
 * const assembler = createToolCallAssembler();
 * assembler.push({ index: 0, id: "call_1", function: { name: "get_" } });
 * assembler.push({ index: 0, function: { name: "time", arguments: '{"zone":' } });
 * assembler.push({ index: 0, function: { arguments: '"UTC"}' } });
 * assert.deepEqual(assembler.calls(), [{
 *   id: "call_1",
 *   type: "function",
 *   function: { name: "get_time", arguments: '{"zone":"UTC"}' },
 * }]);
 * ```
 */
export function createToolCallAssembler(): ToolCallAssembler {
  const calls: ChatToolCall[] = [];
  return {
    push(piece) {
      const slot = calls[piece.index] ??= {
        id: "",
        type: "function",
        function: { name: "", arguments: "" },
      };
      if (piece.id) slot.id = piece.id;
      else if (slot.id === "") slot.id = `call_${crypto.randomUUID()}`;
      if (piece.function?.name) {
        slot.function.name += piece.function.name;
      }
      if (piece.function?.arguments) {
        slot.function.arguments += piece.function.arguments;
      }
    },
    calls() {
      return calls.filter((slot) =>
        slot !== undefined && slot.function.name !== ""
      );
    },
  };
}
