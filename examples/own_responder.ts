/**
 * Your own responder: it repeats what the caller said, checks in when the
 * caller goes quiet, and hangs up after a goodbye. Everything else (port,
 * allowlist, logs, the stop) comes from the environment, as for `main.ts`.
 *
 * Run it from the repository root, then call it with `deno task simulate`:
 *
 *   ALLOW_LOOPBACK=true deno run --env-file=.env --no-prompt -P=server examples/own_responder.ts
 *
 * @module
 */
import { type Responder, serveRetell } from "../src/mod.ts";

const echo: Responder = {
  begin: () => "Hello! Say something and I will repeat it.",
  async *respond(turn) {
    if (turn.kind === "reminder") {
      yield "Are you still there?";
      return;
    }
    const said = turn.transcript.at(-1)?.content ?? "nothing";
    yield "You said: ";
    yield said;
    if (said.toLowerCase().includes("bye")) yield { type: "end_call" };
  },
};

await serveRetell({ responder: echo });
