/**
 * A tool runs at most once per call for equal arguments, whichever socket
 * of the call asks and on whichever instance: the run is claimed in the
 * call store before the tool starts, and a run claimed elsewhere is waited
 * for, never repeated (PROTOCOL.md §5.9, §11).
 *
 * @module
 */
import type { CallStore } from "../call_store/call_store.ts";
import { describeError, type Logger } from "../log.ts";
import type { CallContext } from "../responder.ts";
import type { LlmTool, ToolOutcome } from "./tools.ts";

/** Options of {@linkcode runToolOnce}. */
export interface RunToolOnceOptions {
  /** The tool. */
  tool: LlmTool;
  /** Its parsed arguments. */
  args: unknown;
  /** The same for equal arguments, whatever their key order. */
  key: string;
  /** The call; its store, when it has one, holds the claim. */
  call: CallContext;
  /** The model's id for this call of the tool. */
  toolCallId: string;
  /** Where claims, waits and store failures are logged. */
  log: Logger;
  /**
   * Longest wait in ms, counted from the other socket's claim, for a run
   * claimed elsewhere to give its result.
   */
  waitMs: number;
}

/** First pause between two looks at a run claimed elsewhere, in ms; it doubles. */
const FIRST_POLL_MS = 50;
/** Longest pause between two looks, in ms. */
const MAX_POLL_MS = 500;

/**
 * Runs a tool unless the call's store says this run was claimed before.
 * Claimed here: the tool runs and its outcome is saved. Done elsewhere:
 * the saved outcome is returned. Running elsewhere: the store is polled
 * until the outcome is saved, `waitMs` after the claim, or the call ends.
 * A store that fails does not stop the tool: it runs as if claimed.
 *
 * @param options The tool, its arguments and key, the call, and the wait.
 * @returns The outcome, or `undefined` when a run claimed elsewhere gave
 * no result in time (it may still be running, or its instance died).
 */
export async function runToolOnce(
  options: RunToolOnceOptions,
): Promise<ToolOutcome | undefined> {
  const { tool, args, call, toolCallId, log } = options;
  const run = () => tool.run(args, { call, signal: call.signal, toolCallId });
  const { store, callId } = call;
  if (store === undefined) return run();
  const fields = { call_id: callId, tool: tool.name, tool_call_id: toolCallId };
  const runKey = await storeKey(tool.name, options.key);
  const failed = (operation: string) => (error: unknown) => {
    log.error("call_store_failed", {
      ...fields,
      operation,
      error: describeError(error),
    });
    return undefined;
  };

  const claim = await attempt(
    () => store.claimToolRun(callId, runKey),
    failed("claimToolRun"),
  );
  if (claim === undefined || claim.state === "claimed") {
    const outcome = await run();
    await attempt(
      () => store.saveToolResult(callId, runKey, outcome),
      failed("saveToolResult"),
    );
    return outcome;
  }
  if (claim.state === "done") {
    log.info("tool_reused", { ...fields, from: "store" });
    return claim.result;
  }
  log.info("tool_waiting", {
    ...fields,
    claimed_ms_ago: Math.max(0, Date.now() - claim.claimedAt),
  });
  const startedAt = Date.now();
  const outcome = await waitForRun({
    store,
    callId,
    runKey,
    deadline: Math.min(startedAt, claim.claimedAt) + options.waitMs,
    signal: call.signal,
    onError: failed("getToolRun"),
  });
  const waited = { waited_ms: Date.now() - startedAt };
  if (outcome === undefined) {
    log.warn("tool_result_unknown", { ...fields, ...waited });
  } else {
    log.info("tool_reused", { ...fields, from: "store", ...waited });
  }
  return outcome;
}

/** Options of {@linkcode waitForRun}. */
interface WaitOptions {
  store: CallStore;
  callId: string;
  runKey: string;
  /** Give up after this time, in ms since the epoch. */
  deadline: number;
  /** Give up when the call ends. */
  signal: AbortSignal;
  /** Reports a failed look; the wait goes on. */
  onError: (error: unknown) => undefined;
}

/** Looks at a run until it is done, the deadline passes or the call ends. */
async function waitForRun(
  options: WaitOptions,
): Promise<ToolOutcome | undefined> {
  const { store, callId, runKey, deadline, signal } = options;
  let pauseMs = FIRST_POLL_MS;
  while (!signal.aborted) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await pause(Math.min(pauseMs, left), signal);
    pauseMs = Math.min(2 * pauseMs, MAX_POLL_MS);
    const run = await attempt(
      () => store.getToolRun(callId, runKey),
      options.onError,
    );
    if (run?.state === "done") return run.result;
  }
  return undefined;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Settles like `work`, with `onError`'s answer when it rejects or throws. */
async function attempt<T>(
  work: () => Promise<T>,
  onError: (error: unknown) => undefined,
): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    return onError(error);
  }
}

/**
 * The run's key in the store: the tool's name and a hash of its arguments,
 * short and of fixed length whatever the arguments (a Deno KV key holds at
 * most 2 KiB).
 */
async function storeKey(name: string, key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(key),
  );
  const hex = Array.from(
    new Uint8Array(digest),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
  return `${name}:${hex}`;
}
