/**
 * The sample scenario of docs/simulator.md ("Write a scenario") passes
 * against the responder it says it needs: the `llm` responder with a begin
 * message that names `{{customer_name}}`, here over a scripted model.
 */
import assert from "node:assert/strict";
import { createLlmResponder } from "../../src/responders/llm.ts";
import { parseScenario } from "../../src/simulator/scenario.ts";
import { runScenario } from "../../src/simulator/scenario_runner.ts";
import { startFakeLlm, tokens } from "../_support/llm_server.ts";
import { captureLogs } from "../_support/logs.ts";
import { startTestServer } from "../_support/server.ts";

/** The first JSON block after the heading "### Write a scenario". */
async function docScenario(): Promise<{ intro: string; json: string }> {
  const doc = await Deno.readTextFile("docs/simulator.md");
  const section = doc.slice(doc.indexOf("### Write a scenario"));
  const block = /^([\s\S]*?)```json\n([\s\S]*?)```/.exec(section);
  assert.ok(
    block,
    "docs/simulator.md has no JSON block under Write a scenario",
  );
  return { intro: block[1]!, json: block[2]! };
}

Deno.test("the docs' sample scenario passes against the llm responder it names", async () => {
  const { intro, json } = await docScenario();
  assert.match(intro, /needs the `llm` responder/);
  const parsed = parseScenario(json);
  if (!parsed.ok) throw new Error(parsed.reason);

  await using llm = startFakeLlm();
  llm.enqueue(
    // The barge-in: the first words of the line, superseded by the whole.
    tokens("Let me ", "look at your booking."),
    tokens("Sure, Dana. ", "Your cleaning is now on Friday."),
    // The silence: a reminder.
    tokens("Is there anything else I can do?"),
    {
      steps: [{
        toolCall: {
          id: "call_end",
          name: "end_call",
          arguments: '{"message":"Have a nice day."}',
        },
      }],
    },
  );
  const logs = captureLogs();
  await using server = startTestServer({
    responder: createLlmResponder({
      apiKey: "test-key",
      baseUrl: llm.baseUrl,
      model: "test-model",
      log: logs.log,
      beginMessage: "Hi {{customer_name}}, this is the cleaning desk.",
    }),
  }, logs);
  const report = await runScenario(parsed.scenario, {
    url: server.url("").slice(0, -1),
  });
  assert.deepStrictEqual(
    { violations: report.violations, failures: report.failures },
    { violations: [], failures: [] },
  );
  assert.ok(report.ok);
  assert.equal(report.turns.at(-1)?.action?.type, "end_call");
});
