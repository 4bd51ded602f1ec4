import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../src/config/load.ts";
import { RESPONDER_NAMES, SETTINGS } from "../src/config/settings.ts";
import { createServerMetrics } from "../src/metrics.ts";
import { saying } from "./_support/responders.ts";
import { DUMMY_GREETING, DUMMY_REPLY } from "../src/responders/dummy.ts";
import { serveRetell } from "../src/serve.ts";
import { createRetellServer } from "../src/server.ts";
import {
  configEvent,
  responseRequired,
  said,
  spoken,
} from "./_support/frames.ts";
import { startFakeLlm, tokens } from "./_support/llm_server.ts";
import { captureLogs } from "./_support/logs.ts";
import { sampleOf } from "./_support/metrics.ts";
import { connectAsRetell, handshakeStatus } from "./_support/retell_client.ts";
import { startTestServer } from "./_support/server.ts";
import { freePort } from "./_support/server_process.ts";

const EXAMPLE = new URL("../examples/agents.json", import.meta.url).pathname;
const SECRET = "s3cret-0123456789abcdef";

/** A responder that says `text` to everything, greeting included. */
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

Deno.test("the socket path: agent names, doubled slashes, 404 for an unknown agent", async (t) => {
  await using server = startTestServer({
    agents: [
      { name: "sales", responder: saying("Sales here.") },
      { name: "support", responder: saying("Support here.") },
    ],
  });
  const reached: Array<[string, string, string]> = [
    ["the environment's agent", "call_a", DUMMY_GREETING],
    ["it by name", "default/call_b", DUMMY_GREETING],
    ["a named agent", "sales/call_c", "Sales here."],
    ["a named agent, trailing slash", "support/call_d/", "Support here."],
    ["a doubled slash before the call id", "/call_e", DUMMY_GREETING],
    ["a doubled slash after the name", "sales//call_f", "Sales here."],
  ];
  for (const [name, path, greeting] of reached) {
    await t.step(`reaches ${name}: ${path}`, async () => {
      await using retell = await connectAsRetell(server.url(path));
      assert.equal((await retell.next()).response_type, "config");
      assert.equal(spoken(await retell.untilComplete(0), 0), greeting);
      const callId = path.replace(/^.*\/(?=[^/]+\/?$)/, "").replace("/", "");
      assert.equal(
        server.logs.events("call_accepted").at(-1)?.call_id,
        callId,
      );
    });
  }
  const refused = [
    "unknown/call_x",
    "Sales/call_x",
    "sales/support/call_x",
    "sales///call_x",
  ];
  for (const path of refused) {
    await t.step(`refuses ${path} with 404 before any upgrade`, async () => {
      assert.equal(await handshakeStatus(server.url(path)), 404);
    });
  }
  await t.step("lists the agents for other routes", () => {
    assert.deepStrictEqual(server.retell.agentNames, [
      "default",
      "sales",
      "support",
    ]);
  });
});

Deno.test("the socket path with WS_SECRET: {agent}/{secret}/{call_id} and ?token=", async (t) => {
  await using server = startTestServer({
    wsSecret: SECRET,
    agents: [{ name: "sales", responder: saying("Sales here.") }],
  });
  const reached: Array<[string, string]> = [
    [`sales/${SECRET}/call_a`, "Sales here."],
    [`sales/${SECRET}//call_b`, "Sales here."],
    [`sales/call_c?token=${SECRET}`, "Sales here."],
    [`${SECRET}/call_d`, DUMMY_GREETING],
    [`${SECRET}//call_e`, DUMMY_GREETING],
  ];
  for (const [path, greeting] of reached) {
    await t.step(`reaches ${path.replace(SECRET, "{secret}")}`, async () => {
      await using retell = await connectAsRetell(server.url(path));
      assert.equal((await retell.next()).response_type, "config");
      assert.equal(spoken(await retell.untilComplete(0), 0), greeting);
    });
  }
  const refused: Array<[string, number]> = [
    ["sales/call_x", 403],
    ["sales/wrong-secret-0123456789/call_x", 403],
    [`unknown/${SECRET}/call_x`, 404],
    [`unknown/call_x?token=${SECRET}`, 404],
  ];
  for (const [path, status] of refused) {
    await t.step(
      `refuses ${path.replace(SECRET, "{secret}")} with ${status}`,
      async () => {
        assert.equal(await handshakeStatus(server.url(path)), status);
      },
    );
  }
});

Deno.test("an invalid agents file reports every problem at once", async () => {
  const path = await Deno.makeTempFile({ dir: "/tmp", suffix: ".json" });
  try {
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        agents: {
          "Sales Line": { responder: "dummy" },
          default: {},
          support: {
            responder: "robot",
            port: 9000,
            openaiModel: "x",
            llm_temperature: 5,
            begin_message: ["Hello"],
          },
          billing: { responder: "llm", agent_prompt_file: "missing.md" },
        },
        extra: true,
      }),
    );
    const error = configErrorOf({ AGENTS_FILE: path, PORT: "0x" });
    const folder = path.slice(0, path.lastIndexOf("/"));
    assert.deepStrictEqual(error.problems.slice(0, -1), [
      'PORT must be a whole number from 1 to 65535: current value is "0x"',
      'AGENTS_FILE has an unknown key "extra"',
      'AGENTS_FILE agent "Sales Line" cannot be used as a name: it must be a lowercase letter, then up to 31 lowercase letters, digits, _ and -',
      `AGENTS_FILE agent "default" cannot be used as a name: it is the environment's own agent`,
      'AGENTS_FILE agent "support": port is a server setting: set PORT in the environment',
      `AGENTS_FILE agent "support": openaiModel is not an agent setting: use one of ${agentKeys()}`,
      'AGENTS_FILE agent "support": begin_message must be a string, number or boolean',
      `AGENTS_FILE agent "support": responder must be one of ${
        RESPONDER_NAMES.join(", ")
      }: current value is "robot"`,
      'AGENTS_FILE agent "support": llm_temperature must be a number from 0 to 2: current value is "5"',
      'AGENTS_FILE agent "billing": OPENAI_API_KEY is required when responder=llm',
      'AGENTS_FILE agent "billing": OPENAI_MODEL is required when responder=llm',
    ]);
    // A relative prompt file is looked for next to the agents file.
    assert.match(
      error.problems.at(-1)!,
      new RegExp(
        `^AGENTS_FILE agent "billing": agent_prompt_file cannot be read \\(NotFound: .*\\): current value is "${folder}/missing\\.md"$`,
      ),
    );
    assert.match(error.message, /^Cannot start: 12 settings are invalid\n- /);

    await Deno.writeTextFile(path, "{ agents: }");
    assert.match(
      configErrorOf({ AGENTS_FILE: path }).problems.join("\n"),
      /^AGENTS_FILE is not JSON \(.+\)$/,
    );
    await Deno.writeTextFile(path, '{"agents": []}');
    assert.deepStrictEqual(configErrorOf({ AGENTS_FILE: path }).problems, [
      'AGENTS_FILE must hold an object {"agents": {"<name>": {...}}}',
    ]);
    assert.match(
      configErrorOf({ AGENTS_FILE: `${path}.missing` }).problems.join("\n"),
      /^AGENTS_FILE cannot be read \(NotFound: .*\): current value is ".*\.missing"$/,
    );
  } finally {
    await Deno.remove(path);
  }
});

/** What `loadConfig` throws for `variables`. */
function configErrorOf(variables: Record<string, string>): ConfigError {
  try {
    loadConfig(new Map(Object.entries(variables)));
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail("loadConfig accepted the variables");
}

/** The agent-scope keys, as the loader lists them. */
function agentKeys(): string {
  // Every agent-scope setting, in snake case: settings added later work in
  // the file with no change to the loader.
  return Object.entries(SETTINGS)
    .filter(([, setting]) => setting.scope === "agent")
    .map(([name]) => name.toLowerCase())
    .join(", ");
}

Deno.test("serveRetell({ agents }): settings and tools in code, a prompt file next to the agents file, agents_loaded", async () => {
  await using llm = startFakeLlm({ defaultScript: tokens("Noted.") });
  const folder = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    await Deno.writeTextFile(`${folder}/billing.md`, "You handle invoices.");
    await Deno.writeTextFile(
      `${folder}/agents.json`,
      JSON.stringify({
        agents: {
          billing: { responder: "llm", agent_prompt_file: "billing.md" },
        },
      }),
    );
    const logs = captureLogs("info");
    const service = await serveRetell({
      env: new Map([
        ["PORT", String(freePort())],
        ["LISTEN_HOST", "127.0.0.1"],
        ["ALLOW_LOOPBACK", "true"],
        ["AGENTS_FILE", `${folder}/agents.json`],
        ["OPENAI_API_KEY", "sk-test"],
        ["OPENAI_BASE_URL", llm.baseUrl],
        ["OPENAI_MODEL", "env-model"],
      ]),
      agents: [
        { name: "sales", settings: { begin_message: "", responder: "llm" } },
        { name: "greeter", responder: saying("Welcome.") },
      ],
      log: logs.log,
      signals: false,
    });
    try {
      assert.deepStrictEqual(logs.events("agents_loaded")[0]?.agents, [
        {
          name: "default",
          responder: "dummy",
          path: "/llm-websocket/{call_id}",
        },
        {
          name: "billing",
          responder: "llm",
          path: "/llm-websocket/billing/{call_id}",
        },
        {
          name: "sales",
          responder: "llm",
          path: "/llm-websocket/sales/{call_id}",
        },
        {
          name: "greeter",
          responder: "custom",
          path: "/llm-websocket/greeter/{call_id}",
        },
      ]);
      const base = `ws://127.0.0.1:${service.address.port}/llm-websocket`;
      {
        await using billing = await connectAsRetell(`${base}/billing/call_b`);
        await billing.next();
        await billing.untilComplete(0);
        billing.send(responseRequired(1, [said("user", "My invoice?")]));
        assert.equal(spoken(await billing.untilComplete(1), 1), "Noted.");
        const request = await llm.waitForRequest(0);
        assert.equal(request.body.model, "env-model");
        assert.match(
          JSON.stringify(request.body.messages),
          /You handle invoices\./,
        );
      }
      {
        await using sales = await connectAsRetell(`${base}/sales/call_s`);
        await sales.next();
        // An empty begin message lets the caller speak first.
        sales.send(responseRequired(1, [said("user", "Hello?")]));
        assert.equal(spoken(await sales.untilComplete(1), 1), "Noted.");
      }
      {
        await using greeter = await connectAsRetell(`${base}/greeter/call_g`);
        await greeter.next();
        assert.equal(spoken(await greeter.untilComplete(0), 0), "Welcome.");
      }
    } finally {
      await service.stop();
    }
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("createRetellServer({ agents }) refuses agents it cannot serve as given", () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      "a bad name",
      () => createRetellServer({ agents: [{ name: "Sales" }] }),
      /^Cannot add agent "Sales": a name is a lowercase letter/,
    ],
    [
      "the default name",
      () => createRetellServer({ agents: [{ name: "default" }] }),
      /^Cannot add agent "default"/,
    ],
    [
      "a name twice",
      () => createRetellServer({ agents: [{ name: "a" }, { name: "a" }] }),
      /^Cannot add agent "a": the name is taken$/,
    ],
    [
      "settings the config was not loaded with",
      () =>
        createRetellServer({
          agents: [{ name: "a", settings: { responder: "llm" } }],
        }),
      /^Cannot add agent "a": its settings are read with the environment/,
    ],
    [
      "metrics without the agent names",
      () =>
        createRetellServer({
          agents: [{ name: "a" }],
          metrics: createServerMetrics(),
        }),
      /^Cannot count metrics per agent: the metrics were created without default, a/,
    ],
  ];
  for (const [name, create, message] of cases) {
    assert.throws(create, (error: unknown) => {
      assert.ok(error instanceof TypeError, name);
      assert.match(error.message, message, name);
      return true;
    });
  }
});

Deno.test("createServerMetrics({ agents }): forAgent counts under the name, and only known names", () => {
  const metrics = createServerMetrics({ agents: ["default", "sales"] });
  metrics.forAgent("sales").turns.inc({ kind: "begin", outcome: "completed" });
  metrics.liveCalls.inc();
  const text = metrics.render();
  assert.equal(
    sampleOf(
      text,
      'retell_turns_total{agent="sales",kind="begin",outcome="completed"}',
    ),
    1,
  );
  assert.equal(sampleOf(text, 'retell_live_calls{agent="default"}'), 1);
  assert.equal(sampleOf(text, 'retell_live_calls{agent="sales"}'), 0);
  assert.throws(() => metrics.forAgent("other"), RangeError);
  const plain = createServerMetrics();
  assert.equal(plain.forAgent("anything"), plain);
  assert.deepStrictEqual(plain.agents, []);
});

/** The fenced blocks of `lang` in docs/agents.md, in order. */
async function docBlocks(lang: string): Promise<string[]> {
  const text = await Deno.readTextFile(
    new URL("../docs/agents.md", import.meta.url),
  );
  return [
    ...text.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g")),
  ]
    .map((match) => match[1]!);
}

Deno.test("docs/agents.md shows examples/agents.json as it is, and the loader's own error lines", async () => {
  const [shown] = await docBlocks("json");
  assert.deepStrictEqual(
    JSON.parse(shown!),
    JSON.parse(await Deno.readTextFile(EXAMPLE)),
  );
  const [message] = await docBlocks("text");
  const path = await Deno.makeTempFile({ dir: "/tmp", suffix: ".json" });
  try {
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        agents: { sales: { llm_temperature: 5 }, support: { port: 1 } },
      }),
    );
    assert.equal(message!.trim(), configErrorOf({ AGENTS_FILE: path }).message);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("docs/agents.md: the code example type-checks against the library", async () => {
  const [code] = await docBlocks("ts ignore");
  const file = await Deno.makeTempFile({ dir: "/tmp", suffix: ".ts" });
  try {
    const mod = new URL("../src/mod.ts", import.meta.url).href;
    await Deno.writeTextFile(file, code!.replace("../src/mod.ts", mod));
    const checked = await new Deno.Command("deno", {
      args: [
        "check",
        "--quiet",
        `--config=${new URL("../deno.json", import.meta.url).pathname}`,
        file,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(checked.success, new TextDecoder().decode(checked.stderr));
  } finally {
    await Deno.remove(file);
  }
});
