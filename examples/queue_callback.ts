/**
 * Speaking without being asked: a caller who wants a person hears that
 * everyone is busy; the agent keeps the line, watches the queue in the
 * background, and as soon as someone is free it cuts in with an
 * `agent_interrupt` that carries the transfer. The queue check here is a
 * timer standing in for your own queue API.
 *
 * Run it from the repository root, then call it with `deno task simulate`:
 *
 *   ALLOW_LOOPBACK=true deno run --env-file=.env --no-prompt -P=server examples/queue_callback.ts
 *
 * @module
 */
import { type CallAction, type Responder, serveRetell } from "../src/mod.ts";

const HUMAN_DESK = "+14155550123";
const QUEUE_CHECK_MS = 300;

/** The interrupt: two sentences, the transfer riding on the second. */
async function* someoneIsFree(): AsyncGenerator<string | CallAction> {
  yield "Good news, someone is free now. ";
  yield { type: "transfer_call", number: HUMAN_DESK };
  yield "Transferring you.";
}

const queue: Responder = {
  begin: () => "Hello! Ask for a person and I will find one for you.",
  respond(turn) {
    const { call } = turn;
    const said = turn.transcript.at(-1)?.content.toLowerCase() ?? "";
    if (!said.includes("person")) return "Just say: a person, please.";
    const check = setTimeout(async () => {
      const outcome = await call.interrupt(someoneIsFree());
      if (outcome !== "spoken") call.updateAgent({ reminderMaxCount: 1 });
    }, QUEUE_CHECK_MS);
    call.signal.addEventListener("abort", () => clearTimeout(check));
    call.updateAgent({ reminderMaxCount: 0 });
    return "Everyone is busy right now. Stay on the line and I will tell you.";
  },
};

await serveRetell({ responder: queue });
