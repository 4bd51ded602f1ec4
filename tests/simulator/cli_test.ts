import assert from "node:assert/strict";
import { createMetadataEvent } from "../../src/protocol/outbound.ts";
import { SIMULATOR_USAGE } from "../../src/simulator/args.ts";
import {
  main,
  type MainOptions,
  type SimulatorIo,
} from "../../src/simulator/cli.ts";
import { startTestServer } from "../_support/server.ts";
import { waitUntil } from "../_support/wait.ts";
import { slowResponder } from "../_support/responders.ts";
import {
  chunk,
  configEvent,
  done,
  toolCallRecord,
} from "../_support/frames.ts";
import {
  answerPolitely,
  startScriptedServer,
} from "../_support/scripted_server.ts";

/**
 * A terminal for `main`: stdin is a stream the test types into, output is
 * kept, and `until` waits (bounded) for text to appear in it.
 */
function fakeTerminal(files: Record<string, string> = {}) {
  const encoder = new TextEncoder();
  let input!: ReadableStreamDefaultController<Uint8Array>;
  let inputOpen = true;
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((waiter) => waiter());
  const io: SimulatorIo = {
    stdin: new ReadableStream({
      start(controller) {
        input = controller;
      },
      cancel() {
        inputOpen = false;
      },
    }),
    write(text) {
      out += text;
      notify();
    },
    error(text) {
      err += text;
      notify();
    },
    readTextFile: (path) =>
      path in files ? Promise.resolve(files[path]!) : Deno.readTextFile(path),
  };
  let running: Promise<number> | undefined;
  return {
    io,
    /** Starts `main` on this terminal; disposing ends the input and waits for it. */
    run(args: string[], options?: MainOptions): Promise<number> {
      running = main(args, io, options);
      return running;
    },
    async [Symbol.asyncDispose]() {
      if (inputOpen) input.close();
      inputOpen = false;
      await running?.catch(() => {});
    },
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    type(line: string) {
      input.enqueue(encoder.encode(`${line}\n`));
    },
    endInput() {
      if (inputOpen) input.close();
      inputOpen = false;
    },
    /** Resolves once `text` appears `count` times in the output. */
    until(text: string, count = 1, timeoutMs = 3000): Promise<void> {
      const enough = () => out.split(text).length - 1 >= count;
      return waitUntil(
        enough,
        waiters,
        timeoutMs,
        () =>
          `${
            JSON.stringify(text)
          } did not appear ${count} time(s) within ${timeoutMs} ms; output:\n${out}`,
      );
    },
  };
}

const ONE_TURN = JSON.stringify({
  name: "one turn",
  timeout_ms: 500,
  steps: [{ say: "Hello there" }],
});

/** Runs `main` in scripted mode with `scenario` as the file `scenario.json`. */
async function script(
  url: string,
  scenario = ONE_TURN,
  extra: string[] = [],
) {
  const terminal = fakeTerminal({ "scenario.json": scenario });
  const code = await main(
    ["--script", "scenario.json", url, ...extra],
    terminal.io,
    { settleMs: 20 },
  );
  return { code, out: terminal.out, err: terminal.err };
}

Deno.test("main() explains itself and its arguments", async (t) => {
  await t.step("--help prints usage and exits 0", async () => {
    const terminal = fakeTerminal();
    assert.equal(await main(["--help"], terminal.io), 0);
    // What the usage says is in args_test.ts.
    assert.equal(terminal.out, SIMULATOR_USAGE);
    assert.equal(terminal.err, "");
  });

  // What each message says is in args_test.ts.
  const bad: Array<[string[], RegExp]> = [
    [["--frobnicate"], /^Cannot use --frobnicate: /],
    [["--var", "novalue"], /^Cannot use --var .*"novalue"/],
    [["--script"], /^Cannot use --script: /],
    [["ws://a/x", "ws://b/y"], /^Cannot use 2 URLs: /],
    [
      ["--script", "a.json", "--reconnect-after", "1", "--no-wait"],
      /^Cannot use --no-wait and --reconnect-after with --script: /,
    ],
  ];
  for (const [args, message] of bad) {
    await t.step(`exits 2 on ${args.join(" ")}`, async () => {
      const terminal = fakeTerminal();
      assert.equal(await main(args, terminal.io), 2);
      assert.match(terminal.err, message);
      assert.match(terminal.err, /\nRun with --help for usage\.\n$/);
      assert.equal(terminal.out, "");
    });
  }
});

Deno.test("main() refuses a scenario file it cannot use", async (t) => {
  await t.step("a missing file", async () => {
    const terminal = fakeTerminal();
    const code = await main(
      ["--script", "tests/scenarios/missing.json"],
      terminal.io,
    );
    assert.equal(code, 2);
    assert.match(
      terminal.err,
      /^Cannot read scenario file "tests\/scenarios\/missing\.json":/,
    );
  });

  await t.step("an invalid file, naming the field", async () => {
    const terminal = fakeTerminal({
      "bad.json": JSON.stringify({
        steps: [{ say: "Hi", wait: "later" }, { silence: "yes" }],
      }),
    });
    assert.equal(await main(["--script", "bad.json"], terminal.io), 2);
    assert.equal(
      terminal.err,
      'Cannot use scenario file "bad.json":\n' +
        '  steps[0].wait: Invalid option: expected one of "complete"|"first_frame"|"none"\n' +
        "  steps[1].silence: Invalid input: expected true\n",
    );
  });
});

Deno.test("main() exits 2 with a hint when it cannot connect", async (t) => {
  await t.step("nothing listens", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const terminal = fakeTerminal();
    terminal.endInput();
    const code = await main(
      [`ws://127.0.0.1:${port}/llm-websocket`],
      terminal.io,
    );
    assert.equal(code, 2);
    assert.match(terminal.err, /connection refused/);
    assert.match(terminal.err, /deno task dev/);
  });

  await t.step("the server refuses this address (403)", async () => {
    await using server = startTestServer({ allowLoopback: false });
    const { code, err } = await script(server.url("").slice(0, -1));
    assert.equal(code, 2);
    assert.match(err, /refused the upgrade with HTTP 403/);
    assert.match(err, /ALLOW_LOOPBACK=true/);
    assert.match(err, /WS_SECRET/);
  });

  await t.step("--json also prints an error record", async () => {
    await using server = startTestServer({ allowLoopback: false });
    const { code, out } = await script(
      server.url("").slice(0, -1),
      ONE_TURN,
      ["--json"],
    );
    assert.equal(code, 2);
    assert.equal(JSON.parse(out).type, "error");
  });
});

Deno.test("main() passes the shipped scenarios against the dummy server", async (t) => {
  await using server = startTestServer();
  for (const name of ["dummy", "barge_in", "keepalive"]) {
    await t.step(name, async () => {
      const terminal = fakeTerminal();
      const code = await main(
        [
          "--script",
          `tests/scenarios/${name}.json`,
          server.url("").slice(0, -1),
        ],
        terminal.io,
      );
      assert.equal(code, 0, terminal.out + terminal.err);
      assert.match(
        terminal.out,
        /^#\s+id\s+kind\s+caller\s+reply\s+first ms\s+complete ms\s+frames\s+violations\s+expectations$/m,
      );
      assert.match(terminal.out, /^PASS /m);
      assert.ok(!terminal.out.includes("! §"));
    });
  }
});

Deno.test("main() prints a turn table for a scripted run", async () => {
  await using server = startTestServer();
  const terminal = fakeTerminal();
  const code = await main(
    [
      "--script",
      "tests/scenarios/dummy.json",
      server.url("").slice(0, -1),
      "--call-id",
      "sim_table",
    ],
    terminal.io,
  );
  assert.equal(code, 0);
  const lines = terminal.out.split("\n");
  assert.equal(lines[0], `Scenario "dummy": ${server.url("sim_table")}`);
  const rows = lines.slice(2, 7).map((line) => line.split(/\s{2,}/));
  assert.deepStrictEqual(
    rows.map((row) => row.slice(0, 5).concat(row.slice(-3))),
    [
      ["1", "0", "begin", "-", "How may I help you?", "1", "0", "ok"],
      [
        "2",
        "1",
        "say",
        "What time is it?",
        "I am sorry, can you say that again?",
        "1",
        "0",
        "ok",
      ],
      [
        "3",
        "2",
        "silence",
        "-",
        "I am sorry, can you say that again?",
        "1",
        "0",
        "ok",
      ],
      [
        "4",
        "3",
        "say",
        "Can I book a cleaning f…",
        "I am sorry, can you say that again?",
        "1",
        "0",
        "-",
      ],
      [
        "5",
        "4",
        "say",
        "Can I book a cleaning f…",
        "I am sorry, can you say that again?",
        "1",
        "0",
        "ok",
      ],
    ],
  );
  assert.equal(
    lines.at(-2),
    "PASS dummy: 5 turns, no violations, every expectation met",
  );
});

Deno.test("main() exits 1 and names the rule a bad server breaks", async (t) => {
  await t.step("missing response_type", async () => {
    await using server = startScriptedServer({
      answer(frame, peer) {
        if (frame.response_id === 1) {
          peer.send({
            response_id: 1,
            content: "Sure.",
            content_complete: true,
          });
        }
      },
    });
    const { code, out } = await script(server.url);
    assert.equal(code, 1);
    assert.match(out, /^! §4\.0, §8\.4 missing response_type: /m);
    assert.match(out, /^FAIL one turn: 1 violation, 0 failed expectations$/m);
  });

  await t.step('content_complete as the string "true"', async () => {
    await using server = startScriptedServer({
      answer(frame, peer) {
        if (frame.response_id === 1) {
          peer.send({ ...done(1, "Sure."), content_complete: "true" });
        }
      },
    });
    const { code, out } = await script(server.url);
    assert.equal(code, 1);
    assert.match(
      out,
      /^! §4\.0, §8\.9 invalid frame: .*"content_complete": "true"/m,
    );
    assert.match(out, /the reply did not complete within 500 ms/);
  });

  await t.step("a close with code 1011", async () => {
    await using server = startScriptedServer({
      answer(frame, peer) {
        if (frame.response_id === 1) peer.close(1011);
      },
    });
    const { code, out } = await script(server.url);
    assert.equal(code, 1);
    assert.match(out, /^! §5\.8, §8\.12 bad close code: .*code 1011/m);
  });

  await t.step("ping_pong never echoed", async () => {
    await using server = startScriptedServer({
      start: [configEvent({ auto_reconnect: true }), done(0, "Hi.")],
      answer: (frame, peer) => {
        if (frame.interaction_type !== "ping_pong") answerPolitely(frame, peer);
      },
    });
    const terminal = fakeTerminal({
      "scenario.json": JSON.stringify({ steps: [{ pause_ms: 200 }] }),
    });
    const code = await main(
      ["--script", "scenario.json", server.url],
      terminal.io,
      {
        pingIntervalMs: 30,
        checkIntervalMs: 10,
        conformance: { pingDeadlineMs: 50 },
        settleMs: 0,
      },
    );
    assert.equal(code, 1);
    assert.match(terminal.out, /^! §4\.4, §5\.7, §8\.5 missing ping echo: /m);
  });

  await t.step("a failed expectation alone", async () => {
    await using server = startScriptedServer({ answer: answerPolitely });
    const { code, out } = await script(
      server.url,
      JSON.stringify({
        steps: [{ say: "Hi", expect: { contains: "goodbye" } }],
      }),
    );
    assert.equal(code, 1);
    assert.match(out, /^2\s+1\s+say\s+Hi\s+Okay\.\s.*\s0\s+1 failed$/m);
    assert.match(
      out,
      /^FAIL scenario\.json: 0 violations, 1 failed expectation$/m,
    );
    assert.match(
      out,
      /^ {2}- step 1 of 1 \(say "Hi"\): the reply does not contain "goodbye": it was "Okay\."$/m,
    );
  });
});

Deno.test("main() --json prints one JSON record per event", async (t) => {
  await using server = startTestServer();

  await t.step("in scripted mode, the report last", async () => {
    const terminal = fakeTerminal();
    const code = await main(
      [
        "--json",
        "--script",
        "tests/scenarios/dummy.json",
        server.url("").slice(0, -1),
      ],
      terminal.io,
    );
    assert.equal(code, 0);
    const records = terminal.out.trimEnd().split("\n").map((line) =>
      JSON.parse(line)
    );
    assert.equal(records[0].type, "open");
    assert.ok(records.some((record) => record.type === "response_complete"));
    const report = records.at(-1);
    assert.equal(report.type, "report");
    assert.equal(report.ok, true);
    assert.equal(report.turns.length, 5);
  });

  await t.step("in interactive mode", async () => {
    await using terminal = fakeTerminal();
    const running = terminal.run([
      "--json",
      "--reminder-ms",
      "0",
      server.url("").slice(0, -1),
    ]);
    await terminal.until('"type":"response_complete"');
    terminal.type("What time is it?");
    await terminal.until('"type":"response_complete"', 2);
    terminal.endInput();
    assert.equal(await running, 0);
    const records = terminal.out.trimEnd().split("\n").map((line) =>
      JSON.parse(line)
    );
    assert.deepStrictEqual(
      records.filter((record) => record.type === "request").map((record) => [
        record.responseId,
        record.said,
      ]),
      [[1, "What time is it?"]],
    );
    assert.equal(records.at(-1).type, "closed");
  });
});

Deno.test("main() runs an interactive call", async (t) => {
  // Reply 1 streams its first piece, then holds until it is superseded.
  const responder = slowResponder(new Set([1]));
  await using server = startTestServer({ responder });
  await using terminal = fakeTerminal();
  const running = terminal.run([
    server.url("").slice(0, -1),
    "--var",
    "customer_name=Dana",
    "--reminder-ms",
    "0",
    "--no-wait",
  ]);

  await t.step(
    "shows the begin message with its latency, then a prompt",
    async () => {
      await terminal.until("you> ");
      assert.match(
        terminal.out,
        /^Connected to ws:\/\/127\.0\.0\.1:\d+\/llm-websocket\/sim_[0-9a-f]{12}\n/,
      );
      assert.match(
        terminal.out,
        /\[config: auto_reconnect on, call_details on\]\n/,
      );
      assert.match(
        terminal.out,
        /\[call_details sent; dynamic variables: customer_name=Dana\]\n/,
      );
      assert.match(
        terminal.out,
        /agent> Hello, slow here\.\n {2}\(first frame [\d.]+ ms, complete [\d.]+ ms\)\nyou> $/,
      );
    },
  );

  await t.step("streams the reply as it comes", async () => {
    terminal.type("Can you check Friday?");
    await terminal.until("Let me see. ");
    assert.ok(
      terminal.out.endsWith("you> Can you check Friday?\nagent> Let me see. "),
    );
  });

  await t.step(
    "a line typed while the agent speaks interrupts it",
    async () => {
      terminal.type("Actually, Monday.");
      await terminal.until("(first frame", 2);
      assert.ok(
        terminal.out.includes(
          "agent> Let me see. …\n  [interrupted]\nyou> Actually, Monday.\n" +
            "agent> Let me see. Done.\n  (first frame ",
        ),
        terminal.out,
      );
    },
  );

  await t.step("end of input hangs up and exits 0", async () => {
    terminal.endInput();
    assert.equal(await running, 0);
    assert.ok(terminal.out.endsWith("[call ended]\n"), terminal.out);
    assert.equal(terminal.err, "");
  });
});

Deno.test("main() sends a reminder after the caller's silence", async () => {
  await using server = startTestServer();
  await using terminal = fakeTerminal();
  const running = terminal.run([
    server.url("").slice(0, -1),
    "--reminder-ms",
    "20",
  ]);
  await terminal.until("(first frame", 2);
  assert.match(
    terminal.out,
    /you> \n\[the caller is silent: reminder_required, response 1\]\nagent> I am sorry, can you say that again\?\n/,
  );
  terminal.endInput();
  assert.equal(await running, 0);
  // One reminder per silence, as Retell's default reminder_max_count.
  assert.equal(terminal.out.split("reminder_required").length - 1, 1);
});

Deno.test("main() shows the server's actions and events, and hangs up on end_call", async () => {
  await using server = startScriptedServer({
    answer(frame, peer) {
      if (frame.response_id === 1) {
        toolCallRecord().forEach(peer.send);
        peer.send(createMetadataEvent({ step: 2 }));
        peer.send({
          response_type: "update_agent",
          agent_config: { responsiveness: 0.5 },
        });
        peer.send(
          done(1, "Transferring you.", { transfer_number: "+14155550123" }),
        );
      }
      if (frame.response_id === 2) {
        peer.send(done(2, "Goodbye!", { end_call: true }));
      }
    },
  });
  await using terminal = fakeTerminal();
  const running = terminal.run([server.url, "--reminder-ms", "0"]);
  await terminal.until("you> ");
  terminal.type("Is Friday free?");
  await terminal.until("[transfer to +14155550123]");
  terminal.type("Bye.");
  // The agent hangs up: main returns without the input ending.
  assert.equal(await running, 0);
  const expected = [
    "[config: defaults]",
    "agent> Hi.",
    "you> Is Friday free?",
    '[tool check_availability({"day":"Friday"})]',
    '[tool result {"slots":["09:00"]} (ok)]',
    '[metadata {"step":2}]',
    '[update_agent {"responsiveness":0.5}]',
    "agent> Transferring you.",
    "[transfer to +14155550123]",
    "you> Bye.",
    "agent> Goodbye!",
    "[agent hangs up]",
    "[call ended]",
  ];
  const lines = terminal.out.split("\n").filter((line) =>
    !line.startsWith("  (first frame") && line !== "you> " &&
    !line.startsWith("Connected") && !line.startsWith("Type what")
  );
  assert.deepStrictEqual(lines.filter((line) => line !== ""), expected);
});

Deno.test("main() prints violations at once in interactive mode", async () => {
  await using server = startScriptedServer({
    answer(frame, peer) {
      if (frame.response_id === 1) {
        peer.send(done(1, "Sure."));
        peer.send(chunk(1, " More."));
        peer.send(chunk(1, " Even more."));
      }
    },
  });
  await using terminal = fakeTerminal();
  const running = terminal.run([server.url, "--reminder-ms", "0"]);
  await terminal.until("you> ");
  terminal.type("Hello");
  await terminal.until("! §5.1, §8.7 content after completion: ");
  terminal.endInput();
  assert.equal(await running, 0);
  // Reported once per response, not once per frame.
  assert.equal(terminal.out.split("content after completion").length - 1, 1);
  assert.ok(
    terminal.out.endsWith(
      "[call ended]\n1 protocol violation (lines starting with !)\n",
    ),
    terminal.out,
  );
});

Deno.test("main() says piped lines one per turn, after the greeting held for call_details", async () => {
  // The greeting waits for call_details, as an LLM agent's with {{variables}} does.
  const responder = {
    ...slowResponder(),
    beginAfterCallDetails: true,
  };
  await using server = startTestServer({ responder });
  await using terminal = fakeTerminal();
  // Both lines are there before the call opens, as with printf ... | deno task simulate.
  terminal.type("Can you check Friday?");
  terminal.type("And Monday?");
  terminal.endInput();
  const code = await terminal.run([
    server.url("").slice(0, -1),
    "--reminder-ms",
    "0",
  ]);
  assert.equal(code, 0);
  assert.ok(
    terminal.out.includes(
      "agent> Hello, slow here.\n  (first frame ",
    ),
    terminal.out,
  );
  const turns = terminal.out.split("\n").filter((line) =>
    /^(you|agent)> ./.test(line)
  );
  assert.deepStrictEqual(turns, [
    "agent> Hello, slow here.",
    "you> Can you check Friday?",
    "agent> Let me see. Done.",
    "you> And Monday?",
    "agent> Let me see. Done.",
  ]);
  assert.ok(!terminal.out.includes("[interrupted]"), terminal.out);
  assert.ok(!terminal.out.includes("! §"), terminal.out);
});

Deno.test("main() --no-wait sends piped lines at once, for barge-in tests", async () => {
  await using server = startTestServer({
    responder: slowResponder(new Set([1])),
  });
  await using terminal = fakeTerminal();
  terminal.type("Can you check Friday?");
  terminal.type("Actually, Monday.");
  terminal.endInput();
  const code = await terminal.run([
    server.url("").slice(0, -1),
    "--reminder-ms",
    "0",
    "--no-wait",
  ]);
  assert.equal(code, 0);
  // Reply 1 never completes: the second line superseded it.
  assert.equal(terminal.out.split("(first frame").length - 1, 2);
  assert.match(
    terminal.out,
    /you> Actually, Monday\.\nagent> Let me see\. Done\./,
  );
});

Deno.test("main() --reconnect-after drops the socket and continues the call as Retell does", async () => {
  await using server = startTestServer();
  await using terminal = fakeTerminal();
  terminal.type("What time is it?");
  terminal.type("Are you still there?");
  terminal.endInput();
  const code = await terminal.run([
    server.url("").slice(0, -1),
    "--reminder-ms",
    "0",
    "--call-id",
    "sim_reconnect",
    "--reconnect-after",
    "1",
  ]);
  assert.equal(code, 0, terminal.out + terminal.err);
  assert.ok(
    terminal.out.includes(
      "[socket dropped without a close frame (1006), as a network failure would]\n" +
        "[reconnecting as Retell does: same call id sim_reconnect]\n" +
        `Connected again to ${server.url("sim_reconnect")}\n`,
    ),
    terminal.out,
  );
  assert.ok(
    terminal.out.includes(
      "[reconnect ok: the call continued on the new socket, no second greeting, no violation]",
    ),
    terminal.out,
  );
  // One greeting for the whole call; the second line is answered on the new socket.
  assert.equal(terminal.out.split("How may I help you?").length - 1, 1);
  assert.match(terminal.out, /you> Are you still there\?\nagent> I am sorry/);
  assert.ok(!terminal.out.includes("! §"), terminal.out);
  await server.logs.waitFor("call_reconnected");
});

Deno.test("main() --reconnect-after reports a server that greets the call again", async () => {
  // Without a call store that remembers the call, every socket is greeted.
  await using server = startScriptedServer({ answer: answerPolitely });
  await using terminal = fakeTerminal();
  terminal.type("Hello");
  terminal.type("Still there?");
  terminal.endInput();
  const code = await terminal.run([
    server.url,
    "--reminder-ms",
    "0",
    "--reconnect-after",
    "1",
  ]);
  assert.equal(code, 0);
  assert.match(
    terminal.out,
    /! §5\.7, §11 second greeting: The server sent a begin message \(response 0\) on a socket Retell reconnected/,
  );
  assert.ok(
    terminal.out.includes("[reconnect failed: 1 protocol violation"),
    terminal.out,
  );
});
