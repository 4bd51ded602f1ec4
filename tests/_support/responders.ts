import type { Responder } from "../../src/responder.ts";

/**
 * A responder that greets with "Hello, slow here.", then answers every turn
 * with "Let me see. ". Ids in `hold` then wait until they are superseded (or
 * the call ends); the others go on with "Done." at once. A caller barging in
 * on a held turn is the way to finish it.
 */
export function slowResponder(
  hold: ReadonlySet<number> = new Set(),
): Responder {
  return {
    begin: () => "Hello, slow here.",
    async *respond(turn, { signal }) {
      yield "Let me see. ";
      if (hold.has(turn.responseId)) {
        await new Promise((resolve) =>
          signal.addEventListener("abort", resolve, { once: true })
        );
        return;
      }
      yield "Done.";
    },
  };
}
