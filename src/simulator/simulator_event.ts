/**
 * What a simulated call reports, as it happens: {@linkcode SimulatorEvent}
 * and its members, told apart by `type`. Section numbers refer to
 * `PROTOCOL.md`.
 *
 * @module
 */
import type { CallDetails } from "../protocol/inbound.ts";
import type {
  AgentConfigUpdate,
  CallAction,
  CallConfig,
} from "../protocol/outbound.ts";
import type { Violation } from "./violation.ts";
import type { ResponseRecord } from "./response_record.ts";

/** The socket opened. */
export interface OpenEvent {
  /** Discriminator. */
  type: "open";
  /** Ms since the socket opened (0 here). */
  at: number;
  /** The call id appended to the URL. */
  callId: string;
  /** The full URL dialled. */
  url: string;
}

/** The server sent its `config` (§4.1). */
export interface ConfigReceivedEvent {
  /** Discriminator. */
  type: "config";
  /** Ms since the socket opened. */
  at: number;
  /** The settings. */
  config: CallConfig;
}

/** The simulator sent `call_details`, because the server's config asked for it (§3.2). */
export interface CallDetailsSentEvent {
  /** Discriminator. */
  type: "call_details";
  /** Ms since the socket opened. */
  at: number;
  /** The call object sent. */
  call: CallDetails;
}

/** The simulator sent `response_required` or `reminder_required` (§3.4). */
export interface RequestSentEvent {
  /** Discriminator. */
  type: "request";
  /** Ms since the socket opened. */
  at: number;
  /** The id the reply must come under. */
  responseId: number;
  /** `response` for a caller's line, `reminder` after silence. */
  kind: "response" | "reminder";
  /** The caller's line, for `kind: "response"`. */
  said?: string;
}

/** A piece of the agent's reply, accepted under the latest request (§5.2). */
export interface AgentTextEvent {
  /** Discriminator. */
  type: "agent_text";
  /** Ms since the socket opened. */
  at: number;
  /** The id it came under. */
  responseId: number;
  /** The delta. */
  content: string;
}

/** A response completed: its full text, latency and action. */
export interface ResponseCompleteEvent extends ResponseRecord {
  /** Discriminator. */
  type: "response_complete";
  /** Ms since the socket opened. */
  at: number;
}

/** A response was cut short by a newer request: the caller barged in (§5.3). */
export interface ResponseInterruptedEvent extends ResponseRecord {
  /** Discriminator. */
  type: "response_interrupted";
  /** Ms since the socket opened. */
  at: number;
  /**
   * The id of the newer request, or `agent_interrupt` when the server's
   * interrupt cancelled it (§4.3).
   */
  by: number | "agent_interrupt";
}

/** A completed response or interrupt asked for an action, which Retell would now run (§5.6). */
export interface ActionEvent {
  /** Discriminator. */
  type: "action";
  /** Ms since the socket opened. */
  at: number;
  /** The response that carried it; undefined for an `agent_interrupt`. */
  responseId: number | undefined;
  /** The action. */
  action: CallAction;
}

/** A chunk of an `agent_interrupt` (§4.3). */
export interface AgentInterruptReceivedEvent {
  /** Discriminator. */
  type: "agent_interrupt";
  /** Ms since the socket opened. */
  at: number;
  /** The server's interrupt id. */
  interruptId: number;
  /** The delta. */
  content: string;
  /** Whether this is the interrupt's last chunk. */
  complete: boolean;
}

/** The server changed agent settings (§4.5). */
export interface UpdateAgentReceivedEvent {
  /** Discriminator. */
  type: "update_agent";
  /** Ms since the socket opened. */
  at: number;
  /** The settings. */
  agentConfig: AgentConfigUpdate;
}

/** The server recorded a tool call (§4.6). */
export interface ToolCallInvocationReceivedEvent {
  /** Discriminator. */
  type: "tool_call_invocation";
  /** Ms since the socket opened. */
  at: number;
  /** The tool call's id. */
  toolCallId: string;
  /** The tool's name. */
  name: string;
  /** The arguments, stringified JSON. */
  arguments: string;
}

/** The server recorded a tool's result (§4.7). */
export interface ToolCallResultReceivedEvent {
  /** Discriminator. */
  type: "tool_call_result";
  /** Ms since the socket opened. */
  at: number;
  /** The tool call's id. */
  toolCallId: string;
  /** The result text. */
  content: string;
  /** The outcome, when the server reported one. */
  successful?: boolean;
}

/** The server sent `metadata` for a web call's frontend (§4.8). */
export interface MetadataReceivedEvent {
  /** Discriminator. */
  type: "metadata";
  /** Ms since the socket opened. */
  at: number;
  /** The metadata. */
  metadata: Record<string, unknown>;
}

/** The server echoed a keepalive (§4.4). */
export interface PingEchoEvent {
  /** Discriminator. */
  type: "ping_echo";
  /** Ms since the socket opened. */
  at: number;
  /** The ping's timestamp. */
  timestamp: number;
  /** Ms from sending the ping to its echo. */
  rttMs: number;
}

/** The server broke a protocol rule. */
export interface ViolationEvent {
  /** Discriminator. */
  type: "violation";
  /** Ms since the socket opened. */
  at: number;
  /** What rule, in plain words. */
  violation: Violation;
}

/** The socket closed. */
export interface ClosedEvent {
  /** Discriminator. */
  type: "closed";
  /** Ms since the socket opened. */
  at: number;
  /** The close code. */
  code: number;
  /** The close reason, often empty. */
  reason: string;
  /** Whether the server closed it (or it dropped), rather than the simulator. */
  byServer: boolean;
}

/** Everything a simulated call reports, told apart by `type`. */
export type SimulatorEvent =
  | OpenEvent
  | ConfigReceivedEvent
  | CallDetailsSentEvent
  | RequestSentEvent
  | AgentTextEvent
  | ResponseCompleteEvent
  | ResponseInterruptedEvent
  | ActionEvent
  | AgentInterruptReceivedEvent
  | UpdateAgentReceivedEvent
  | ToolCallInvocationReceivedEvent
  | ToolCallResultReceivedEvent
  | MetadataReceivedEvent
  | PingEchoEvent
  | ViolationEvent
  | ClosedEvent;
