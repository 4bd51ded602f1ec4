import assert from "node:assert/strict";
import { loadConfig } from "../src/config/load.ts";
import { serveRetell } from "../src/serve.ts";
import { createRetellServer } from "../src/server.ts";
import { main, type SimulatorIo } from "../src/simulator/cli.ts";
import { startSimulatedCall } from "../src/simulator/call.ts";
import { configEvent, done, responseRequired } from "./_support/frames.ts";
import { type FakeLlm, startFakeLlm } from "./_support/llm_server.ts";
import { captureLogs } from "./_support/logs.ts";
import { connectAsRetell, handshakeStatus } from "./_support/retell_client.ts";
import {
  freePort,
  MAIN_ARGS,
  ROOT,
  type ServerProcess,
  spawnServer,
  startServerProcess,
  timed,
} from "./_support/server_process.ts";

/** The settings of a server process whose `llm` responder talks to `llm`. */
function llmSettings(llm: FakeLlm): Record<string, string> {
  return {
    RESPONDER: "llm",
    OPENAI_API_KEY: "test-key",
    OPENAI_BASE_URL: llm.baseUrl,
    OPENAI_MODEL: "test-model",
    BEGIN_MESSAGE: "Hello.",
  };
}

/**
 * Opens a call on `server` and starts response 1, whose model answer says
 * "Let me check. " and then waits for `gate` before "It is booked.".
 */
async function callWithHeldResponse(
  server: ServerProcess,
  llm: FakeLlm,
  gate: Promise<void>,
) {
  llm.enqueue({
    steps: [{ text: "Let me check. " }, { waitFor: gate }, {
      text: "It is booked.",
    }],
  });
  const call = await startSimulatedCall({
    url: `${server.origin}/llm-websocket`,
  });
  assert.equal((await call.waitForCompletion(0, 5000)).status, "complete");
  const id = call.say("Book me in, please.");
  assert.equal((await call.waitForFirstFrame(id, 5000)).text, "Let me check. ");
  return Object.assign(call, { id });
}

/** Status and body of `GET /healthz`. */
async function health(server: ServerProcess) {
  const response = await fetch(`${server.origin}/healthz`);
  return { status: response.status, body: await response.json() };
}

Deno.test("SIGTERM to `deno task start` with an idle call open: exits within 1 s, dropping the call without a close frame", async () => {
  await using server = await startServerProcess({ args: ["task", "start"] });
  await using retell = await connectAsRetell(server.url("call_idle"));
  await retell.take(2);

  server.child.kill("SIGTERM");
  const { value: status, ms } = await timed(server.exited);
  const closed = await retell.closed;

  assert.equal(status.code, 0);
  assert.ok(ms < 1000, `exited ${ms.toFixed(0)} ms after SIGTERM`);
  // Deno's client reports a drop as code 0 (other clients: 1006); never a close frame.
  assert.equal(closed.wasClean, false);
  assert.ok(![1000, 1001].includes(closed.code), `close code ${closed.code}`);
  const finished = server.logs.find((r) => r.event === "shutdown_finished");
  assert.equal(finished?.open_calls, 1);
  assert.equal(finished?.responses_cut, 0);
});

Deno.test("SIGTERM with a response streaming: the response completes, then the process exits and the call drops (1006)", async () => {
  await using llm = startFakeLlm();
  await using server = await startServerProcess({ env: llmSettings(llm) });
  const gate = Promise.withResolvers<void>();
  await using held = await callWithHeldResponse(server, llm, gate.promise);

  server.child.kill("SIGTERM");
  const started = await server.waitForLog("shutdown_started");
  assert.equal(started.open_calls, 1);
  assert.equal(started.responding, 1);
  assert.deepStrictEqual(await health(server), {
    status: 503,
    body: { status: "draining", live_calls: 1 },
  });
  assert.equal(await handshakeStatus(server.url("call_late")), 503);

  gate.resolve();
  const reply = await held.waitForCompletion(held.id, 5000);
  assert.equal(reply.status, "complete");
  assert.equal(reply.text, "Let me check. It is booked.");
  const closed = await held.closed;
  assert.equal(closed.code, 1006);
  assert.equal(closed.byServer, true);
  assert.deepStrictEqual(held.violations, []);
  assert.equal((await server.exited).code, 0);
  const finished = server.logs.find((r) => r.event === "shutdown_finished");
  assert.equal(finished?.open_calls, 1);
  assert.equal(finished?.responses_cut, 0);
});

Deno.test("a signal repeated within 1 s counts once: Ctrl-C under `deno task` arrives twice", async () => {
  await using llm = startFakeLlm();
  await using server = await startServerProcess({ env: llmSettings(llm) });
  const gate = Promise.withResolvers<void>();
  await using held = await callWithHeldResponse(server, llm, gate.promise);

  server.child.kill("SIGINT");
  server.child.kill("SIGINT");
  server.child.kill("SIGTERM");
  await server.waitForLog("shutdown_started");
  // Still draining after all three: the process answers.
  assert.equal((await health(server)).status, 503);

  gate.resolve();
  assert.equal(
    (await held.waitForCompletion(held.id, 5000)).status,
    "complete",
  );
  assert.equal((await server.exited).code, 0);
  assert.equal(server.logs.some((r) => r.event === "shutdown_forced"), false);
});

Deno.test("a second signal more than 1 s after the first exits at once, cutting the response", async () => {
  await using llm = startFakeLlm();
  await using server = await startServerProcess({ env: llmSettings(llm) });
  const gate = Promise.withResolvers<void>();
  await using held = await callWithHeldResponse(server, llm, gate.promise);

  server.child.kill("SIGTERM");
  await server.waitForLog("shutdown_started");
  // The rule under test is about time: the second signal must come later than 1 s.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  server.child.kill("SIGTERM");
  const { value: status, ms } = await timed(server.exited);

  assert.equal(status.code, 1);
  assert.ok(ms < 1000, `exited ${ms.toFixed(0)} ms after the second signal`);
  const forced = server.logs.find((r) => r.event === "shutdown_forced");
  assert.equal(forced?.responding, 1);
  assert.equal((await held.waitForCompletion(held.id, 1000)).status, "closed");
  assert.equal((await held.closed).code, 1006);
  gate.resolve();
});

Deno.test("SHUTDOWN_GRACE_MS bounds the wait for a response in flight", async () => {
  await using llm = startFakeLlm();
  await using server = await startServerProcess({
    env: { ...llmSettings(llm), SHUTDOWN_GRACE_MS: "300" },
  });
  const gate = Promise.withResolvers<void>();
  await using held = await callWithHeldResponse(server, llm, gate.promise);

  server.child.kill("SIGTERM");
  const { value: status, ms } = await timed(server.exited);

  assert.equal(status.code, 0);
  assert.ok(ms >= 250 && ms < 1500, `exited after ${ms.toFixed(0)} ms`);
  const finished = server.logs.find((r) => r.event === "shutdown_finished");
  assert.equal(finished?.responses_cut, 1);
  assert.equal((await held.closed).code, 1006);
  gate.resolve();
});

Deno.test("the simulator calls a dropped call what it is: reconnected by Retell, not a failure", async () => {
  await using server = await startServerProcess();
  let out = "";
  const saw = Promise.withResolvers<void>();
  const io: SimulatorIo = {
    stdin: new ReadableStream(),
    write(text) {
      out += text;
      if (out.includes("How may I help you?")) saw.resolve();
    },
    error(text) {
      out += text;
    },
    readTextFile: () => Promise.reject(new Error("no files")),
  };
  const running = main([`${server.origin}/llm-websocket`], io);
  await saw.promise;
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0);
  assert.equal(await running, 0);
  assert.match(
    out,
    /^\[socket dropped without a close frame \(1006\): Retell reconnects with the same call id, since the server's config asked for auto_reconnect/m,
  );
  assert.doesNotMatch(out, /violation|^!/m);
});

Deno.test("serveRetell() turns startup failures into one line on stderr and exit status 1", async (t) => {
  async function failure(env: Record<string, string>) {
    await using server = spawnServer({ env });
    const status = await server.exited;
    const lines = server.stderrText.filter((line) =>
      !line.includes("Permissions in the config file is an experimental")
    );
    return { code: status.code, lines };
  }

  await t.step("the port is in use", async () => {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = taken.addr.port;
    assert.deepStrictEqual(await failure({ PORT: String(port) }), {
      code: 1,
      lines: [
        `Cannot start: port ${port} on "127.0.0.1" is already in use: change PORT or stop the other server`,
      ],
    });
  });

  await t.step("LISTEN_HOST is not an address of this machine", async () => {
    assert.deepStrictEqual(await failure({ LISTEN_HOST: "192.0.2.1" }), {
      code: 1,
      lines: [
        'Cannot start: LISTEN_HOST is not an address of this machine: current value is "192.0.2.1"',
      ],
    });
  });

  await t.step("LISTEN_HOST does not resolve", async () => {
    const { code, lines } = await failure({
      LISTEN_HOST: "no-such-host.invalid",
    });
    assert.equal(code, 1);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(
      lines[0]!,
      /^Cannot start: LISTEN_HOST cannot be used \(.+\): current value is "no-such-host\.invalid"$/,
    );
  });

  await t.step("a setting is invalid", async () => {
    assert.deepStrictEqual(await failure({ PORT: "80a" }), {
      code: 1,
      lines: [
        "Cannot start: 1 setting is invalid",
        '- PORT must be a whole number from 1 to 65535: current value is "80a"',
      ],
    });
  });

  await t.step("a permission is missing", async () => {
    await using server = spawnServer({
      args: ["run", "--no-prompt", "--allow-env", "--allow-read", "main.ts"],
    });
    assert.equal((await server.exited).code, 1);
    assert.equal(server.stderrText.length, 1, server.stderrText.join("\n"));
    assert.match(
      server.stderrText[0]!,
      /^Cannot start: a permission is missing: Requires net access to "127\.0\.0\.1:\d+"/,
    );
  });
});

Deno.test("serveRetell() with signals off: listens, stops on stop(), rejects a startup failure", async (t) => {
  const logs = captureLogs();
  const config = loadConfig(
    new Map([
      ["LISTEN_HOST", "127.0.0.1"],
      ["PORT", String(freePort())],
      ["ALLOW_LOOPBACK", "true"],
    ]),
  );

  await t.step("serves every route and logs the listening line", async () => {
    const service = await serveRetell({
      config,
      log: logs.log,
      signals: false,
    });
    const origin = `http://127.0.0.1:${service.address.port}`;
    assert.equal(service.address.port, config.port);
    assert.deepStrictEqual(logs.events("listening").map((r) => r.url), [
      origin,
    ]);
    {
      await using retell = await connectAsRetell(
        `ws://127.0.0.1:${config.port}/llm-websocket/call_1`,
      );
      assert.deepStrictEqual(await retell.take(2), [
        configEvent({
          auto_reconnect: true,
          call_details: true,
          transcript_with_tool_calls: false,
        }),
        done(0, "How may I help you?"),
      ]);
    }
    await service.stop();
    await service.finished;
    assert.deepStrictEqual(
      logs.events("shutdown_finished").map((r) => r.open_calls),
      [0],
    );
  });

  await t.step(
    "rejects with the Cannot start line when the port is taken",
    async () => {
      using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      await assert.rejects(
        serveRetell({
          config: { ...config, port: taken.addr.port },
          log: logs.log,
          signals: false,
        }),
        new Error(
          `Cannot start: port ${taken.addr.port} on "127.0.0.1" is already in use: change PORT or stop the other server`,
        ),
      );
    },
  );
});

Deno.test("createRetellServer({ config }) takes every setting from the config", async () => {
  const logs = captureLogs();
  const config = loadConfig(
    new Map([
      ["ALLOWED_IPS", ""],
      ["ALLOW_LOOPBACK", "true"],
      ["WEBSOCKET_PATH", "/retell"],
      ["AUTO_RECONNECT", "false"],
      ["TRANSCRIPT_WITH_TOOL_CALLS", "true"],
    ]),
  );
  const retell = createRetellServer({ config, log: logs.log });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    retell.handler,
  );
  const base = `ws://127.0.0.1:${server.addr.port}`;
  assert.equal(await handshakeStatus(`${base}/llm-websocket/call_1`), 404);
  await using call = await connectAsRetell(`${base}/retell/call_1`);
  assert.deepStrictEqual(await call.take(2), [
    configEvent({
      auto_reconnect: false,
      call_details: true,
      transcript_with_tool_calls: true,
    }),
    done(0, "How may I help you?"),
  ]);
  call.send(responseRequired(1));
  assert.deepStrictEqual(
    await call.next(),
    done(1, "I am sorry, can you say that again?"),
  );
});

Deno.test("the start task's V8 flags reach dev, compile, the Dockerfile and the tests' server", async () => {
  const deno = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const v8Flags = (command: string) =>
    command.split(/\s+/).filter((word) => word.startsWith("--v8-flags"));
  const start = v8Flags(deno.tasks.start.command);
  assert.equal(start.length, 1, "deno task start sets its V8 flags");
  for (const name of ["dev", "compile"]) {
    assert.deepStrictEqual(
      v8Flags(deno.tasks[name].command),
      start,
      `the ${name} task's V8 flags`,
    );
  }
  const dockerfile = await Deno.readTextFile(new URL("Dockerfile", ROOT));
  const cmd = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)![1]!) as string[];
  assert.deepStrictEqual(v8Flags(cmd.join(" ")), start, "the Dockerfile's CMD");
  assert.deepStrictEqual(v8Flags(MAIN_ARGS.join(" ")), start, "MAIN_ARGS");
});

Deno.test("deno.json: dev, start and compile run with one permission set", async () => {
  const deno = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const sets = ["dev", "start", "compile"].map((name) => {
    const task = deno.tasks[name];
    const command: string = typeof task === "string" ? task : task.command;
    const flags = command.split(/\s+/).filter((word) =>
      /^(-P|--permission-set)\b|^--allow-|^-A$|^--allow-all$/.test(word)
    );
    return { name, flags };
  });
  for (const { name, flags } of sets) {
    assert.deepStrictEqual(
      flags,
      ["-P=server"],
      `the ${name} task's permissions`,
    );
  }
  assert.ok(
    deno.permissions?.server,
    'deno.json has no "server" permission set',
  );
});
