/**
 * Fills a template for one call from its dynamic variables, warning once
 * per call about each placeholder it could not fill.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { CallContext } from "../responder.ts";
import { fillTemplate } from "./template.ts";

/**
 * Fills `text` from the call's `retell_llm_dynamic_variables`.
 *
 * @param text The template.
 * @param call The call whose variables fill it.
 * @returns The filled text, unfilled placeholders removed.
 */
export type CallTemplateFiller = (text: string, call: CallContext) => string;

/**
 * Creates a filler that logs `placeholder_unfilled` (warn, with the call id
 * and the placeholder's name) the first time each name goes unfilled on a
 * call, however many templates and turns use it.
 *
 * @param log Where `placeholder_unfilled` goes.
 * @returns The filler.
 */
export function createCallTemplateFiller(log: Logger): CallTemplateFiller {
  // Names already reported, by call; forgotten with the call.
  const reported = new WeakMap<CallContext, Set<string>>();
  return function fillForCall(text, call) {
    return fillTemplate(
      text,
      call.details?.retell_llm_dynamic_variables,
      (name) => {
        let names = reported.get(call);
        if (names === undefined) reported.set(call, names = new Set());
        if (names.has(name)) return;
        names.add(name);
        log.warn("placeholder_unfilled", {
          call_id: call.callId,
          placeholder: name,
        });
      },
    );
  };
}
