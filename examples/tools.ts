/**
 * A tool for the `llm` responder: the model can look up a doctor's free
 * appointment slots from a clinic's API. Everything else (the model, the
 * prompt, port, allowlist, logs, the stop) comes from the environment, as
 * for `main.ts`; set `RESPONDER=llm` and the `OPENAI_` variables in `.env`.
 *
 * Run it from the repository root, with the clinic API's base URL as the
 * argument (default https://clinic.example), then call it with
 * `deno task simulate`:
 *
 *   ALLOW_LOOPBACK=true deno run --env-file=.env --no-prompt -P=server examples/tools.ts
 *
 * @module
 */
import { z } from "zod";
import { defineTool, serveRetell } from "../src/mod.ts";

const clinicApi = Deno.args[0] ?? "https://clinic.example";

const checkAvailability = defineTool({
  name: "check_availability",
  description: "Free appointment slots of a doctor on a date (YYYY-MM-DD).",
  parameters: z.object({ doctor: z.string(), date: z.string() }),
  holdingLine: "One moment while I check.",
  handler: async ({ doctor, date }, { signal }) => {
    const url = new URL("/slots", clinicApi);
    url.search = new URLSearchParams({ doctor, date }).toString();
    const response = await fetch(url, { signal });
    if (!response.ok) {
      throw new Error(`Cannot read the slots: status ${response.status}`);
    }
    return await response.json(); // sent to the model as JSON
  },
});

await serveRetell({ tools: [checkAvailability] });
