/**
 * OpenTelemetry spans for calls, turns and tool runs, recorded by Deno's
 * built-in OpenTelemetry (`OTEL_DENO=true`) through `npm:@opentelemetry/api`.
 *
 * One `retell.call` span per call is the parent of one `retell.turn` span
 * per turn, which is the parent of one `execute_tool {name}` span per tool
 * run (the GenAI semantic conventions' name). Turns carry the call id,
 * response id, kind, outcome and the first-frame and first-token times, as
 * attributes (`retell.turn.first_frame_ms`) and as events (`first_frame`).
 *
 * When tracing is off, the API's tracer hands out a non-recording span: the
 * cost is that one span object and one `isRecording()` check per call. Every
 * turn and tool run of such a call is a shared no-op object, so turns cost
 * nothing. Deno registers its tracer before any module runs; no other
 * provider is needed.
 *
 * @module
 */
import {
  type Context,
  context,
  type Span,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { CallEndReason, TurnKind, TurnOutcome } from "./metrics.ts";

/** The instrumentation scope name of every span here. */
export const TRACER_NAME = "retell-llm-server";

/** A call's span, the parent of its turns. */
export interface CallSpan {
  /** Whether spans are recorded; false when tracing is off. */
  readonly recording: boolean;
  /**
   * Starts the span of one turn under this call.
   *
   * @param responseId The request's `response_id`.
   * @param kind The request's `interaction_type`.
   */
  startTurn(responseId: number, kind: TurnKind): TurnSpan;
  /**
   * Ends the call span.
   *
   * @param reason How the call ended.
   * @param closeCode The socket's close code.
   */
  end(reason: CallEndReason, closeCode: number): void;
}

/** A turn's span, the parent of its tool runs. */
export interface TurnSpan {
  /** Whether spans are recorded; false when tracing is off. */
  readonly recording: boolean;
  /**
   * Records a latency mark such as `first_frame` or `first_token`: an event
   * of that name now, and the attribute `retell.turn.<name>_ms`.
   *
   * @param name The mark's name.
   * @param ms Milliseconds since the request arrived.
   */
  mark(name: string, ms: number): void;
  /**
   * Runs `fn` with this turn's span active, so spans started inside it
   * (Deno's `fetch` spans for the model request) become its children.
   *
   * @returns What `fn` returns.
   */
  run<T>(fn: () => T): T;
  /**
   * Starts the span of one tool run under this turn.
   *
   * @param name The tool's name.
   * @param toolCallId The model's id for this tool call.
   */
  startToolRun(name: string, toolCallId: string): ToolRunSpan;
  /**
   * Ends the turn span; `failed` and `timed_out` mark it as an error.
   *
   * @param outcome How the turn ended.
   * @param error What went wrong, for the span status.
   */
  end(outcome: TurnOutcome, error?: string): void;
}

/** A tool run's span. */
export interface ToolRunSpan {
  /** Whether spans are recorded; false when tracing is off. */
  readonly recording: boolean;
  /**
   * Runs `fn` with this tool run's span active, so spans started inside it
   * (the tool's own `fetch`) become its children.
   *
   * @returns What `fn` returns.
   */
  run<T>(fn: () => T): T;
  /**
   * Ends the tool run span; an `error` marks it as failed.
   *
   * @param error What went wrong, for the span status.
   */
  end(error?: string): void;
}

const NOOP_TOOL_RUN: ToolRunSpan = {
  recording: false,
  run: (fn) => fn(),
  end(): void {},
};

const NOOP_TURN: TurnSpan = {
  recording: false,
  mark(): void {},
  run: (fn) => fn(),
  startToolRun: () => NOOP_TOOL_RUN,
  end(): void {},
};

const NOOP_CALL: CallSpan = {
  recording: false,
  startTurn: () => NOOP_TURN,
  end(): void {},
};

// With tracing off this is the API's proxy tracer, whose spans do not
// record; with OTEL_DENO=true it is Deno's own tracer.
const tracer = trace.getTracer(TRACER_NAME);

/**
 * Starts the span of one call, under whatever span is active (with Deno's
 * HTTP instrumentation on, the upgrade request's).
 *
 * @param callId The call id from the socket path.
 * @returns The call span, or a shared no-op when tracing is off.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { startCallSpan } from "./tracing.ts";
 *
 * // Tracing is off unless the process runs with OTEL_DENO=true.
 * const call = startCallSpan("call_123");
 * const turn = call.startTurn(1, "response_required");
 * turn.mark("first_frame", 180);
 * turn.end("completed");
 * call.end("normal", 1000);
 * assert.equal(call.recording, false);
 * ```
 */
export function startCallSpan(callId: string): CallSpan {
  const span = tracer.startSpan("retell.call");
  if (!span.isRecording()) return NOOP_CALL;
  span.setAttribute("retell.call_id", callId);
  const parent = trace.setSpan(context.active(), span);
  return {
    recording: true,
    startTurn(responseId, kind): TurnSpan {
      return startTurnSpan(parent, callId, responseId, kind);
    },
    end(reason, closeCode): void {
      span.setAttributes({
        "retell.call.end_reason": reason,
        "retell.call.close_code": closeCode,
      });
      span.end();
    },
  };
}

function startTurnSpan(
  parent: Context,
  callId: string,
  responseId: number,
  kind: TurnKind,
): TurnSpan {
  const span = tracer.startSpan("retell.turn", {
    attributes: {
      "retell.call_id": callId,
      "retell.response_id": responseId,
      "retell.turn.kind": kind,
    },
  }, parent);
  const active = trace.setSpan(parent, span);
  return {
    recording: true,
    mark(name, ms): void {
      span.addEvent(name);
      span.setAttribute(`retell.turn.${name}_ms`, ms);
    },
    run: (fn) => context.with(active, fn),
    startToolRun(name, toolCallId): ToolRunSpan {
      return startToolRunSpan(active, name, toolCallId);
    },
    end(outcome, error): void {
      span.setAttribute("retell.turn.outcome", outcome);
      if (outcome === "failed" || outcome === "timed_out") {
        setError(span, error ?? outcome);
      }
      span.end();
    },
  };
}

function startToolRunSpan(
  parent: Context,
  name: string,
  toolCallId: string,
): ToolRunSpan {
  const span = tracer.startSpan(`execute_tool ${name}`, {
    attributes: {
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": name,
      "gen_ai.tool.call.id": toolCallId,
    },
  }, parent);
  const active = trace.setSpan(parent, span);
  return {
    recording: true,
    run: (fn) => context.with(active, fn),
    end(error): void {
      if (error !== undefined) setError(span, error);
      span.end();
    },
  };
}

function setError(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
