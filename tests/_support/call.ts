import { createCallHandle } from "../../src/call_handle.ts";
import type { CallStore } from "../../src/call_store/call_store.ts";
import { createLogger } from "../../src/log.ts";
import type { OutboundEvent } from "../../src/protocol/outbound.ts";
import type { CallContext } from "../../src/responder.ts";
import type { CallDetails } from "../../src/protocol/inbound.ts";

/** What {@linkcode offlineCall} builds the call from. */
export interface OfflineCallOptions {
  callId: string;
  details?: CallDetails | undefined;
  signal?: AbortSignal;
  store?: CallStore | undefined;
  /** Receives what the call's handle sends; dropped when left out. */
  send?: (event: OutboundEvent) => void;
}

/**
 * A call with no socket, for testing a responder or a tool on its own: its
 * handle is the real one, its events go to `send`.
 */
export function offlineCall(options: OfflineCallOptions): CallContext {
  const signal = options.signal ?? new AbortController().signal;
  const handle = createCallHandle({
    callId: options.callId,
    log: createLogger({ sink: () => {} }),
    send: options.send ?? (() => {}),
    signal,
    takeFloor: () => {},
    partTimeoutMs: 2_000,
  });
  return {
    callId: options.callId,
    details: options.details,
    signal,
    store: options.store,
    ...handle.actions,
  };
}
