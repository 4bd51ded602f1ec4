/**
 * What a new socket needs to continue a call after Retell reconnects, on the
 * same instance or another one: whether the greeting was spoken, the call
 * details, and the tools that ran (PROTOCOL.md §5.7, §11). One small
 * interface; the backends are in-process memory, Deno KV and Redis.
 *
 * @module
 */
import type { ToolOutcome } from "../llm/tools.ts";
import type { CallDetails } from "../protocol/inbound.ts";

/** What the store holds about one call, besides its tool runs. */
export interface CallRecord {
  /** Whether the greeting (the begin message, response 0) was spoken. */
  readonly greeted: boolean;
  /** The call object from `call_details`, once saved. */
  readonly details: CallDetails | undefined;
  /** When the call was last written to, in ms since the epoch. */
  readonly lastActivityAt: number;
}

/** A tool run some socket of the call claimed before. */
export type ToolRun =
  | {
    /** Claimed, and no result saved yet: the tool may still be running. */
    readonly state: "running";
    /** When it was claimed, in ms since the epoch, to give up waiting at some point. */
    readonly claimedAt: number;
  }
  | {
    /** The tool ran; this is what it gave. */
    readonly state: "done";
    /** The saved outcome. */
    readonly result: ToolOutcome;
  };

/**
 * Answer of {@linkcode CallStore.claimToolRun}: `claimed` means this caller
 * won the run and must run the tool, then save its result; otherwise another
 * claim came first and the tool must not run again.
 */
export type ToolClaim = { readonly state: "claimed" } | ToolRun;

/**
 * Per-call state that outlives a socket. Every method but the two reads
 * (`get`, `getToolRun`) counts as activity: a call's entries expire together,
 * a set time (the store's TTL) after its last activity. Methods reject when
 * the backend fails; {@linkcode createFallbackCallStore} turns that into
 * in-process service.
 */
export interface CallStore {
  /**
   * Reads what is known about a call.
   *
   * @param callId The call id.
   * @returns The record, or `undefined` when nothing is stored or it expired.
   */
  get(callId: string): Promise<CallRecord | undefined>;
  /**
   * Records that the greeting was spoken, so a later socket does not repeat it.
   *
   * @param callId The call id.
   */
  markGreeted(callId: string): Promise<void>;
  /**
   * Saves the call object from `call_details`, replacing any saved before.
   *
   * @param callId The call id.
   * @param details The call object.
   */
  saveDetails(callId: string, details: CallDetails): Promise<void>;
  /**
   * Records activity, so the call's entries live another TTL.
   *
   * @param callId The call id.
   */
  touch(callId: string): Promise<void>;
  /**
   * Claims the run of a tool atomically: of any number of concurrent claims
   * of one key, from any instances sharing the backend, exactly one gets
   * `claimed`; the others get the state of that run.
   *
   * @param callId The call id.
   * @param key Identifies the run, for example the tool name and its arguments.
   * @returns Whether to run the tool.
   */
  claimToolRun(callId: string, key: string): Promise<ToolClaim>;
  /**
   * Reads the state of a tool run without claiming it.
   *
   * @param callId The call id.
   * @param key The run's key.
   * @returns The run, or `undefined` when it was never claimed or expired.
   */
  getToolRun(callId: string, key: string): Promise<ToolRun | undefined>;
  /**
   * Saves what a tool gave, marking the run done.
   *
   * @param callId The call id.
   * @param key The run's key, as claimed.
   * @param result The outcome.
   */
  saveToolResult(
    callId: string,
    key: string,
    result: ToolOutcome,
  ): Promise<void>;
  /** Releases the backend's connection or file; the store is unusable after. */
  close(): Promise<void>;
}
