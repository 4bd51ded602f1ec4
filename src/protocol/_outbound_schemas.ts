/**
 * The strict zod schemas of the events the server sends, one per
 * `response_type`, each checked against its hand-written interface with
 * `satisfies`. Private to this folder: `encodeOutbound` and `parseOutbound`
 * are the ways in.
 *
 * @module
 */
import { z } from "zod";
import type {
  AgentInterruptEvent,
  ConfigEvent,
  MetadataEvent,
  OutboundEvent,
  PingPongEvent,
  ResponseEvent,
  ToolCallInvocationEvent,
  ToolCallResultEvent,
  UpdateAgentEvent,
} from "./outbound.ts";

const integer = z.number().int().nonnegative();
const unit = z.number().min(0).max(1);

const actions = {
  no_interruption_allowed: z.boolean().optional(),
  end_call: z.boolean().optional(),
  transfer_number: z.string().min(1).optional(),
  show_transferee_as_caller: z.boolean().optional(),
  digit_to_press: z.string().min(1).optional(),
};

/** The schema of each outbound event, by its `response_type`. */
export const OUTBOUND_SCHEMAS = {
  config: z.strictObject({
    response_type: z.literal("config"),
    config: z.strictObject({
      auto_reconnect: z.boolean().optional(),
      call_details: z.boolean().optional(),
      transcript_with_tool_calls: z.boolean().optional(),
    }),
  }) satisfies z.ZodType<ConfigEvent>,
  response: z.strictObject({
    response_type: z.literal("response"),
    response_id: integer,
    content: z.string(),
    content_complete: z.boolean(),
    ...actions,
  }) satisfies z.ZodType<ResponseEvent>,
  agent_interrupt: z.strictObject({
    response_type: z.literal("agent_interrupt"),
    interrupt_id: integer,
    content: z.string(),
    content_complete: z.boolean(),
    ...actions,
  }) satisfies z.ZodType<AgentInterruptEvent>,
  ping_pong: z.strictObject({
    response_type: z.literal("ping_pong"),
    timestamp: z.number(),
  }) satisfies z.ZodType<PingPongEvent>,
  update_agent: z.strictObject({
    response_type: z.literal("update_agent"),
    agent_config: z.strictObject({
      responsiveness: unit.optional(),
      interruption_sensitivity: unit.optional(),
      reminder_trigger_ms: z.number().positive().optional(),
      reminder_max_count: integer.optional(),
    }),
  }) satisfies z.ZodType<UpdateAgentEvent>,
  tool_call_invocation: z.strictObject({
    response_type: z.literal("tool_call_invocation"),
    tool_call_id: z.string().min(1),
    name: z.string().min(1),
    arguments: z.string(),
  }) satisfies z.ZodType<ToolCallInvocationEvent>,
  tool_call_result: z.strictObject({
    response_type: z.literal("tool_call_result"),
    tool_call_id: z.string().min(1),
    content: z.string(),
    successful: z.boolean().optional(),
  }) satisfies z.ZodType<ToolCallResultEvent>,
  metadata: z.strictObject({
    response_type: z.literal("metadata"),
    metadata: z.record(z.string(), z.unknown()),
  }) satisfies z.ZodType<MetadataEvent>,
} as const satisfies Record<
  OutboundEvent["response_type"],
  z.ZodType<OutboundEvent>
>;
