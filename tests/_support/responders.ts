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

/**
 * A responder that greets with "Hello." and streams every reply as
 * `chunks` pieces ("part 1 ", "part 2 ", ...), yielding to the event loop
 * between pieces as a model's stream does, so newer requests, pings and
 * the close land mid-reply. It stops when its signal aborts.
 */
export function streamingResponder(chunks = 4): Responder {
  return {
    begin: () => "Hello.",
    async *respond(_turn, { signal }) {
      for (let i = 1; i <= chunks; i++) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (signal.aborted) return;
        yield `part ${i} `;
      }
    },
  };
}

/** A responder that greets and answers every request with `text`. */
export function saying(text: string): Responder {
  return {
    begin: () => text,
    respond: () => text,
  };
}
