/**
 * The rules one frame breaks on its own, whatever else happened on the call:
 * binary, not JSON, not an event, an unknown or missing `response_type`,
 * wrong fields. Each fault is worded for a person, from the parse result's
 * data. Section numbers refer to `PROTOCOL.md`.
 *
 * @module
 */
import { formatIssues, type Issue } from "../protocol/issues.ts";
import type { OutboundParseResult } from "../protocol/outbound_parse.ts";
import { responseName } from "./_wording.ts";
import type { Fault } from "./violation.ts";

/**
 * The fault of a binary frame: Retell accepts only text frames (§1.4).
 *
 * @param data The frame's payload: ArrayBuffer, a typed array, a Blob.
 * @returns The fault.
 */
export function binaryFrameFault(data: unknown): Fault {
  const size = byteSize(data);
  return {
    code: "binary_frame",
    message: `The server sent a binary frame${
      size === undefined ? "" : ` (${size} bytes)`
    }; Retell accepts only text frames and closes the socket with code 1007 (error_llm_websocket_corrupt_payload).`,
  };
}

/**
 * The fault of a text frame {@linkcode parseOutbound} refused.
 *
 * @param text The frame's payload.
 * @param result What parseOutbound made of it.
 * @returns The fault.
 */
export function textFrameFault(
  text: string,
  result: Exclude<OutboundParseResult, { ok: true }>,
): Fault {
  switch (result.kind) {
    case "not_json":
      return {
        code: "not_json",
        message: `The server sent ${
          preview(text)
        }, which is not JSON; Retell logs "Error in parsing LLM websocket message" and drops it.`,
      };
    case "not_event":
      return {
        code: "not_event",
        message: result.object !== undefined
          ? `The server sent ${
            preview(text)
          }, whose "response_type" is not a string; Retell cannot read it and drops it.`
          : `The server sent ${
            preview(text)
          }, which is JSON but not an object; every frame must be one JSON object, so Retell drops it.`,
      };
    case "unknown_type":
      return {
        code: "unknown_response_type",
        message: `The server sent response_type ${
          JSON.stringify(result.responseType)
        }, which is not one Retell knows (config, response, agent_interrupt, ping_pong, update_agent, tool_call_invocation, tool_call_result, metadata); Retell drops it.`,
      };
    case "invalid":
      return invalidFault(result.object, result.responseType, result.issues);
    case "null_optional":
      return withId(
        {
          code: "invalid_frame",
          message:
            `The server sent a ${result.responseType} frame with null for ${
              result.nullFields.map((key) => `"${key}"`).join(", ")
            }; Retell tolerates null there in practice, but the documented form leaves an optional field out.`,
        },
        result.event.response_type === "response"
          ? result.event.response_id
          : undefined,
      );
    case "missing_response_type":
      return withId({
        code: "missing_response_type",
        message: result.asResponse === undefined
          ? `The server sent a frame without "response_type"; Retell reads such a frame as a response, and this one is not a valid response either (${
            formatIssues(result.issues)
          }), so it is dropped.`
          : `The server sent response ${result.asResponse.response_id} without "response_type"; Retell still reads it as a response (old protocol), but every frame must set "response_type".`,
      }, result.asResponse?.response_id);
  }
}

/** A frame Retell drops for a wrong, missing or unknown field. */
function invalidFault(
  object: Record<string, unknown>,
  responseType: string,
  issues: Issue[],
): Fault {
  const id = responseType === "response" &&
      Number.isSafeInteger(object.response_id)
    ? object.response_id as number
    : undefined;
  const flag = object.content_complete;
  const message = typeof flag === "string"
    ? `${
      id === undefined ? "A frame" : responseName(id, true)
    } has "content_complete": ${
      JSON.stringify(flag)
    }, a string instead of the JSON boolean ${
      flag === "false" ? "false" : "true"
    }, so Retell drops the whole frame${
      flag === "true" && id !== undefined
        ? " and the response does not complete"
        : ""
    } (${formatIssues(issues)}).`
    : `The server sent an invalid ${responseType} frame (${
      formatIssues(issues)
    }); Retell drops it silently.`;
  return withId({ code: "invalid_frame", message }, id);
}

function withId(fault: Fault, responseId: number | undefined) {
  if (responseId !== undefined) fault.responseId = responseId;
  return fault;
}

/** A short quoted excerpt of a frame for a message. */
function preview(text: string): string {
  const limit = 60;
  return JSON.stringify(
    text.length > limit ? `${text.slice(0, limit)}…` : text,
  );
}

/** Size of a binary frame in bytes, when it can be told. */
function byteSize(data: unknown): number | undefined {
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (data instanceof Blob) return data.size;
  return undefined;
}
