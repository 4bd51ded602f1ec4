/**
 * A front desk that uses the call handle and the call hooks: it screens
 * callers by number when the call details arrive (a blocked number hears
 * one line and the call ends; a known one is greeted by name), tunes
 * reminders and tells a web frontend where the call is, reads a
 * disclaimer the caller cannot talk over, transfers on request, ends a
 * call that runs too long from a timer, and writes one record per call
 * for the CRM when it ends.
 *
 * Run it from the repository root, then call it with `deno task simulate`:
 *
 *   ALLOW_LOOPBACK=true deno run --env-file=.env --no-prompt -P=server examples/front_desk.ts
 *
 * @module
 */
import { createLogger, type Responder, serveRetell } from "../src/mod.ts";

const BLOCKED = new Set(["+15550000666"]);
const CUSTOMERS: Record<string, string> = { "+14155550100": "Dana" };
const HUMAN_DESK = "+14155550123";
const LONGEST_CALL_MS = 10 * 60_000;

const log = createLogger();

const frontDesk: Responder = {
  begin(call) {
    const name = call.details?.retell_llm_dynamic_variables?.customer_name;
    return name ? `Hi ${name}, thanks for calling.` : "Hi, thanks for calling.";
  },
  async *respond(turn) {
    const said = turn.transcript.at(-1)?.content.toLowerCase() ?? "";
    if (said.includes("person")) {
      yield "Connecting you to the desk.";
      yield { type: "transfer_call", number: HUMAN_DESK };
      return;
    }
    yield "Before we start: ";
    yield { type: "no_interruption_allowed" };
    yield "this call may be recorded. How can I help?";
  },
  async onCallDetails(details, call) {
    const from = details.from_number ?? "";
    if (BLOCKED.has(from)) {
      await call.end("Sorry, this line cannot take your call. Goodbye.");
      return;
    }
    call.updateAgent({ reminderTriggerMs: 15_000, reminderMaxCount: 2 });
    call.setMetadata({ screen: "welcome" });
    const timer = setTimeout(
      () => call.end("We are out of time for today. Goodbye!"),
      LONGEST_CALL_MS,
    );
    call.signal.addEventListener("abort", () => clearTimeout(timer));
    const name = CUSTOMERS[from];
    return name === undefined
      ? {}
      : { dynamicVariables: { customer_name: name } };
  },
  onCallEnded(summary) {
    log.info("crm_record", {
      call_id: summary.callId,
      duration_ms: summary.durationMs,
      turns: summary.turns,
    });
  },
};

await serveRetell({ responder: frontDesk, log });
