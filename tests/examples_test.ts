import assert from "node:assert/strict";
import { main, type SimulatorIo } from "../src/simulator/cli.ts";
import {
  chunk,
  done,
  ping,
  pong,
  responseRequired,
  said,
} from "./_support/frames.ts";
import { startFakeLlm } from "./_support/llm_server.ts";
import { connectAsRetell } from "./_support/retell_client.ts";
import {
  ROOT,
  type ServerProcess,
  startServerProcess,
} from "./_support/server_process.ts";

/**
 * The run command in an example's top comment, as the variables it sets
 * and the arguments of `deno` (without `--env-file`: the test gives every
 * setting itself).
 */
async function runCommandOf(
  file: string,
): Promise<{ env: Record<string, string>; args: string[] }> {
  const text = await Deno.readTextFile(new URL(file, ROOT));
  const line = text.split("\n").map((l) => l.replace(/^\s*\*\s*/, ""))
    .find((l) => l.includes(` deno run `) && l.endsWith(` ${file}`));
  assert.ok(line, `${file} has no run command ending in ${file}`);
  const words = line.split(/\s+/);
  const deno = words.indexOf("deno");
  const env = Object.fromEntries(
    words.slice(0, deno).map((word) => word.split("=", 2) as [string, string]),
  );
  const args = words.slice(deno + 1).filter((word) =>
    !word.startsWith("--env-file")
  );
  return { env, args };
}

/** Starts an example the way its run command says, with `settings` on top. */
async function startExample(
  file: string,
  settings: Record<string, string> = {},
  extraArgs: string[] = [],
): Promise<ServerProcess> {
  const { env, args } = await runCommandOf(file);
  assert.deepStrictEqual(env, { ALLOW_LOOPBACK: "true" });
  return await startServerProcess({
    args: [...args, ...extraArgs],
    env: { ...settings, ...env },
  });
}

/** Plays `scenario` against the server with the simulator's scripted mode. */
async function simulate(server: ServerProcess, scenario: object) {
  let out = "";
  const io: SimulatorIo = {
    stdin: new ReadableStream(),
    write: (text) => void (out += text),
    error: (text) => void (out += text),
    readTextFile: () => Promise.resolve(JSON.stringify(scenario)),
  };
  const status = await main(
    ["--script", "scenario.json", `${server.origin}/llm-websocket`],
    io,
  );
  return { status, out };
}

/** Stops the example with SIGTERM, as a platform would. */
async function stop(server: ServerProcess): Promise<void> {
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0);
}

Deno.test("examples/own_responder.ts answers the simulator", async () => {
  await using server = await startExample("examples/own_responder.ts");
  const { status, out } = await simulate(server, {
    name: "own responder",
    steps: [
      { expect_begin: { contains: "repeat it" } },
      {
        say: "Good morning",
        expect: { contains: "You said: Good morning", action: "none" },
      },
      { silence: true, expect: { contains: "still there" } },
      { say: "Bye for now", expect: { action: "end_call" } },
    ],
  });
  assert.equal(status, 0, out);
  assert.match(out, /^PASS own responder: 4 turns/m);
  await stop(server);
});

Deno.test("examples/tools.ts runs its tool against a clinic API when the model calls it", async () => {
  const slotRequests: URL[] = [];
  await using clinic = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      slotRequests.push(new URL(request.url));
      return Response.json({ slots: ["10:00", "14:30"] });
    },
  );
  await using llm = startFakeLlm();
  llm.enqueue(
    {
      steps: [{
        toolCall: {
          id: "call_1",
          name: "check_availability",
          arguments: '{"doctor":"Lee","date":"2026-12-04"}',
        },
      }],
    },
    { steps: [{ text: "Dr. Lee is free at 10:00 or 14:30." }] },
  );
  await using server = await startExample(
    "examples/tools.ts",
    {
      RESPONDER: "llm",
      OPENAI_API_KEY: "test-key",
      OPENAI_BASE_URL: llm.baseUrl,
      OPENAI_MODEL: "test-model",
    },
    [`http://127.0.0.1:${clinic.addr.port}`],
  );

  const { status, out } = await simulate(server, {
    name: "tools",
    steps: [
      { expect_begin: { contains: "help" } },
      {
        say: "Is Dr. Lee free on December 4?",
        expect: { contains: ["one moment while I check", "10:00 or 14:30"] },
      },
    ],
  });

  assert.equal(status, 0, out);
  assert.deepStrictEqual(
    slotRequests.map((url) => `${url.pathname}${url.search}`),
    ["/slots?doctor=Lee&date=2026-12-04"],
  );
  const answer = await llm.waitForRequest(1);
  const messages = answer.body.messages as { role: string; content: string }[];
  assert.deepStrictEqual(
    messages.filter((message) => message.role === "tool").map((message) =>
      JSON.parse(message.content)
    ),
    [{ slots: ["10:00", "14:30"] }],
  );
  await stop(server);
});

Deno.test("the docs show each example as it is in examples/", async () => {
  for (
    const [doc, file] of [
      ["docs/llm.md", "examples/tools.ts"],
      ["docs/responders.md", "examples/own_responder.ts"],
    ] as const
  ) {
    const docText = await Deno.readTextFile(new URL(doc, ROOT));
    const text = await Deno.readTextFile(new URL(file, ROOT));
    assert.ok(
      docText.includes(`\`\`\`ts\n${text}\`\`\`\n`),
      `${doc} has no ts block equal to ${file}`,
    );
  }
});

Deno.test("examples/front_desk.ts screens callers, holds its disclaimer and records the call", async (t) => {
  await using server = await startExample("examples/front_desk.ts");
  const details = (from: string) => ({
    interaction_type: "call_details",
    call: { call_id: "call_front", from_number: from },
  });

  await t.step(
    "a known caller: settings, metadata, greeting by name",
    async () => {
      await using retell = await connectAsRetell(server.url("call_front"));
      assert.equal((await retell.next()).response_type, "config");
      retell.send(details("+14155550100"));
      assert.deepStrictEqual(await retell.take(3), [
        {
          response_type: "update_agent",
          agent_config: { reminder_trigger_ms: 15_000, reminder_max_count: 2 },
        },
        { response_type: "metadata", metadata: { screen: "welcome" } },
        done(0, "Hi Dana, thanks for calling."),
      ]);
      retell.send(responseRequired(1, [said("user", "Hello")]));
      const held = { no_interruption_allowed: true };
      assert.deepStrictEqual(await retell.untilComplete(1), [
        chunk(1, "Before we start: "),
        chunk(1, "this call may be recorded. How can I help?", held),
        done(1, "", held),
      ]);
      retell.send(responseRequired(2, [said("user", "A person, please")]));
      assert.deepStrictEqual(await retell.untilComplete(2), [
        chunk(2, "Connecting you to the desk."),
        done(2, "", { transfer_number: "+14155550123" }),
      ]);
      await retell.close(1000);
      const record = await server.waitForLog("crm_record");
      assert.equal(record.call_id, "call_front");
      assert.equal(record.turns, 2);
    },
  );

  await t.step(
    "a blocked caller hears one line, then the hang-up",
    async () => {
      await using retell = await connectAsRetell(server.url("call_blocked"));
      assert.equal((await retell.next()).response_type, "config");
      retell.send(details("+15550000666"));
      assert.deepStrictEqual(await retell.next(), {
        response_type: "agent_interrupt",
        no_interruption_allowed: true,
        end_call: true,
        interrupt_id: 1,
        content: "Sorry, this line cannot take your call. Goodbye.",
        content_complete: true,
      });
      // No greeting after the goodbye.
      retell.send(ping(5));
      assert.deepStrictEqual(await retell.next(), pong(5));
    },
  );

  await stop(server);
});

Deno.test("examples/queue_callback.ts cuts in with the transfer once someone is free", async () => {
  await using server = await startExample("examples/queue_callback.ts");
  await using retell = await connectAsRetell(server.url("call_queue"));
  assert.deepStrictEqual(
    (await retell.take(2))[1],
    done(0, "Hello! Ask for a person and I will find one for you."),
  );
  retell.send(responseRequired(1, [said("user", "A person, please")]));
  assert.deepStrictEqual(await retell.take(2), [
    { response_type: "update_agent", agent_config: { reminder_max_count: 0 } },
    done(
      1,
      "Everyone is busy right now. Stay on the line and I will tell you.",
    ),
  ]);
  const interrupt = (content: string, complete: boolean, extra = {}) => ({
    response_type: "agent_interrupt",
    no_interruption_allowed: true,
    interrupt_id: 1,
    content,
    content_complete: complete,
    ...extra,
  });
  assert.deepStrictEqual(await retell.take(3), [
    interrupt("Good news, someone is free now. ", false),
    interrupt("Transferring you.", false, { transfer_number: "+14155550123" }),
    interrupt("", true),
  ]);
  await retell.close(1000);
  await stop(server);
});

Deno.test("docs/build_your_agent.md shows each example as it is in examples/", async () => {
  const page = await Deno.readTextFile(
    new URL("docs/build_your_agent.md", ROOT),
  );
  for (const file of ["examples/queue_callback.ts", "examples/front_desk.ts"]) {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    assert.ok(
      page.includes(`\`\`\`ts\n${text}\`\`\`\n`),
      `docs/build_your_agent.md has no ts block equal to ${file}`,
    );
  }
});
