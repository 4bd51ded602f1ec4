import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../src/config/load.ts";
import { createServerMetrics } from "../src/metrics.ts";
import type { Responder } from "../src/responder.ts";
import { DUMMY_GREETING, DUMMY_REPLY } from "../src/responders/dummy.ts";
import { serveRetell } from "../src/serve.ts";
import { createRetellServer } from "../src/server.ts";
import {
  configEvent,
  defaultConfig,
  responseRequired,
  said,
  spoken,
} from "./_support/frames.ts";
import { startFakeLlm, tokens } from "./_support/llm_server.ts";
import { captureLogs } from "./_support/logs.ts";
import { sampleOf } from "./_support/metrics.ts";
import { connectAsRetell, handshakeStatus } from "./_support/retell_client.ts";
import { startTestServer } from "./_support/server.ts";

const EXAMPLE = new URL("../examples/agents.json", import.meta.url).pathname;
const SECRET = "s3cret-0123456789abcdef";

/** A responder that says `text` to everything, greeting included. */
function saying(text: string): Responder {
  return {
    begin: () => text,
    respond: () => text,
  };
}

Deno.test("examples/agents.json: both agents answer over real sockets, each under its name", async () => {
  await using llm = startFakeLlm({ defaultScript: tokens("Panels ", "ship.") });
  const config = loadConfig(
    new Map([
      ["AGENTS_FILE", EXAMPLE],
      ["OPENAI_API_KEY", "sk-test"],
      ["OPENAI_BASE_URL", llm.baseUrl],
    ]),
  );
  assert.deepStrictEqual(config.agents.map(({ name }) => name), [
    "sales",
    "support",
  ]);
  const metrics = createServerMetrics({
    agents: ["default", "sales", "support"],
  });
  await using server = startTestServer({ config, metrics });
  assert.deepStrictEqual(server.retell.agentNames, [
    "default",
    "sales",
    "support",
  ]);

  {
    await using sales = await connectAsRetell(server.url("sales/call_sales"));
    assert.deepStrictEqual(
      await sales.next(),
      configEvent({
        auto_reconnect: true,
        call_details: true,
        transcript_with_tool_calls: false,
      }),
    );
    assert.equal(
      spoken(await sales.untilComplete(0), 0),
      "Hi, this is Sam from Acme sales. What can I do for you?",
    );
    sales.send(responseRequired(1, [said("user", "When do panels ship?")]));
    assert.equal(spoken(await sales.untilComplete(1), 1), "Panels ship.");
    const request = await llm.waitForRequest(0);
    assert.equal(request.body.model, "gpt-4o-mini");
    assert.equal(request.body.temperature, 0.7);
    assert.match(JSON.stringify(request.body.messages), /You are Sam/);
  }
  {
    await using support = await connectAsRetell(
      server.url("support/call_support"),
    );
    assert.deepStrictEqual(
      await support.next(),
      configEvent({
        auto_reconnect: true,
        call_details: false,
        transcript_with_tool_calls: false,
      }),
    );
    assert.equal(spoken(await support.untilComplete(0), 0), DUMMY_GREETING);
    support.send(responseRequired(1, [said("user", "My panel is broken")]));
    assert.equal(spoken(await support.untilComplete(1), 1), DUMMY_REPLY);
  }
  await Promise.all([...server.retell.calls].map((call) => call.ended));

  for (const event of ["call_started", "turn_finished", "call_ended"]) {
    const agents = new Set(server.logs.events(event).map((r) => r.agent));
    assert.deepStrictEqual(agents, new Set(["sales", "support"]), event);
  }
  const text = metrics.render();
  for (const agent of ["sales", "support"]) {
    assert.equal(
      sampleOf(
        text,
        `retell_turns_total{agent="${agent}",kind="response_required",outcome="completed"}`,
      ),
      1,
      agent,
    );
    assert.equal(
      sampleOf(
        text,
        `retell_calls_ended_total{agent="${agent}",reason="normal"}`,
      ),
      1,
      agent,
    );
  }
  assert.equal(sampleOf(text, 'retell_live_calls{agent="default"}'), 0);
});
