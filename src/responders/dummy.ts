/**
 * The responder that needs no model: it greets and then asks the caller to
 * repeat themselves. Useful to check the wiring from Retell to this server.
 *
 * @module
 */
import type { Responder } from "../responder.ts";

/** What the dummy agent says when the call starts. */
export const DUMMY_GREETING = "How may I help you?";

/** What the dummy agent says to everything else. */
export const DUMMY_REPLY = "I am sorry, can you say that again?";

/**
 * Creates the dummy responder: {@linkcode DUMMY_GREETING} as the begin
 * message and {@linkcode DUMMY_REPLY} for every response and reminder, each
 * in one complete frame.
 *
 * @returns The responder.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CallContext } from "../responder.ts";
 * import { createDummyResponder } from "./dummy.ts";
 *
 * const responder = createDummyResponder();
 * const signal = new AbortController().signal;
 * // The dummy reads nothing of the call, so a bare one will do.
 * const call = { callId: "c1", details: undefined, signal } as CallContext;
 * const options = { signal, mark: () => {} };
 * assert.equal(await responder.begin(call, options), "How may I help you?");
 * ```
 */
export function createDummyResponder(): Responder {
  return {
    begin: () => DUMMY_GREETING,
    respond: () => DUMMY_REPLY,
  };
}
