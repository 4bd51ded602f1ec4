/**
 * Run as its own process by `reconnect_test.ts`: the server `main.ts`
 * starts, from the same settings and call store, with one tool added,
 * `book_slot`, which posts its arguments to the booking endpoint given as
 * the first argument and returns the endpoint's answer.
 */
import { z } from "zod";
import { defineTool, serveRetell } from "../src/mod.ts";

const [bookingUrl] = Deno.args;
if (bookingUrl === undefined) {
  throw new TypeError("Cannot start: give the booking endpoint's URL");
}

const bookSlot = defineTool({
  name: "book_slot",
  description: "Books an appointment slot for the caller.",
  parameters: z.object({ slot: z.string(), name: z.string() }),
  holdingLine: "One moment while I book that.",
  handler: async (args, { signal }) => {
    const response = await fetch(bookingUrl, {
      method: "POST",
      body: JSON.stringify(args),
      signal,
    });
    return await response.text();
  },
});

await serveRetell({ tools: [bookSlot] });
