import assert from "node:assert/strict";
import { loadConfig } from "../src/config/load.ts";
import { createPlaygroundRoute } from "../src/playground/route.ts";
import { configEvent, done } from "./_support/frames.ts";
import { type BrowserPage, startBrowser } from "./_support/browser.ts";
import { saying, slowResponder } from "./_support/responders.ts";
import { startScriptedServer } from "./_support/scripted_server.ts";
import { startTestServer } from "./_support/server.ts";

const BUNDLE = new URL("../src/playground/conformance.js", import.meta.url);

Deno.test("GET /playground is not found unless the playground is on", async () => {
  await using server = startTestServer();
  const response = await fetch(`${server.origin}/playground`);
  assert.equal(response.status, 404);
  await response.body?.cancel();
});

Deno.test("PLAYGROUND=true in the settings turns the playground on", async () => {
  await using server = startTestServer({
    config: loadConfig(new Map([["PLAYGROUND", "true"]])),
  });
  const response = await fetch(`${server.origin}/playground`);
  assert.equal(response.status, 200);
  assert.match(
    await response.text(),
    /<title>Retell agent playground<\/title>/,
  );
});

Deno.test("GET /playground serves the page, its script, style and checker to the metrics readers", async () => {
  await using server = startTestServer({
    playground: true,
    websocketPath: "/calls",
  });
  const page = await fetch(`${server.origin}/playground`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(
    page.headers.get("content-security-policy") ?? "",
    /script-src 'self'/,
  );
  const html = await page.text();
  assert.match(html, /"websocketPath":"\/calls","agents":\[\]/);
  for (
    const [path, type] of [
      ["playground.js", "text/javascript; charset=utf-8"],
      ["playground.css", "text/css; charset=utf-8"],
      ["conformance.js", "text/javascript; charset=utf-8"],
    ]
  ) {
    const asset = await fetch(`${server.origin}/playground/${path}`);
    assert.equal(asset.status, 200, path);
    assert.equal(asset.headers.get("content-type"), type, path);
    await asset.body?.cancel();
  }
  const missing = await fetch(`${server.origin}/playground/nothing.js`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const post = await fetch(`${server.origin}/playground`, { method: "POST" });
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

Deno.test("createPlaygroundRoute() offers the named agents to the page, escaped inside its script tag", async () => {
  const playground = createPlaygroundRoute({
    websocketPath: "/llm-websocket",
    agentNames: ["sales", "</script>"],
    access: () => "allowed",
  });
  const info = {
    remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 },
    completed: Promise.resolve(),
  };
  const html = await playground(
    new Request("http://server/playground"),
    info,
  )!.text();
  assert.ok(
    html.includes('"agents":["sales","\\u003c/script>"]'),
    html.slice(0, 600),
  );
});

Deno.test("GET /playground is guarded like /metrics: 404 to other addresses, 403 for a wrong token", async () => {
  await using server = startTestServer({
    playground: true,
    metricsAllowedIps: ["192.0.2.1"],
    metricsToken: "a-token-of-16-chars",
  });
  const url = `${server.origin}/playground`;
  const cases: Array<[Record<string, string>, number]> = [
    [{}, 404],
    [{ authorization: "Bearer a-wrong-token-16-chars" }, 403],
    [{ authorization: "Bearer a-token-of-16-chars" }, 200],
  ];
  for (const [headers, status] of cases) {
    const response = await fetch(url, { headers });
    assert.equal(response.status, status, JSON.stringify(headers));
    await response.body?.cancel();
  }
});

Deno.test("src/playground/conformance.js is the current bundle of src/simulator/conformance.ts (else run deno task playground:build)", async () => {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: [
      "bundle",
      "--quiet",
      "--platform=browser",
      "--minify",
      "src/simulator/conformance.ts",
    ],
    cwd: new URL("..", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.ok(
    new TextDecoder().decode(stdout) === await Deno.readTextFile(BUNDLE),
    "Cannot use the committed playground checker: it differs from src/simulator/conformance.ts; run `deno task playground:build`",
  );
});

Deno.test("the playground in Chromium greets, answers with its latency, takes a barge-in, reports a violation, lists events, reminds and hangs up", async (t) => {
  await using browser = await startBrowser();
  if (browser === undefined) return;
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  await using server = startTestServer({
    playground: true,
    responder: slowResponder(new Set([2])),
  });
  await page.goto(`${server.origin}/playground`);
  assert.equal(
    await page.$eval("#agent-field", (field) => field.checkVisibility()),
    false,
    "the agent choice shows only when there are named agents",
  );
  await page.$eval("#reminder-seconds", (input) => {
    (input as unknown as { value: string }).value = "0";
  });

  await t.step("the greeting streams in", async () => {
    await page.click("#start");
    await page.waitForFunction(
      `document.querySelector("#conversation li.agent")?.textContent
        .startsWith("Hello, slow here.")`,
      { timeout: 5000 },
    );
    await page.waitForSelector('#turns tr[data-response-id="0"]', {
      timeout: 5000,
    });
  });

  await t.step(
    "a line typed and sent with Enter gets its reply and latency",
    async () => {
      await page.type("#line", "What time is it?");
      await page.keyboard.press("Enter");
      const row = await page.waitForSelector(
        '#turns tr[data-response-id="1"]',
        { timeout: 5000 },
      );
      const cells = await row!.$$eval(
        "td",
        (tds) => tds.map((td) => td.textContent),
      );
      assert.equal(cells[0], "response 1");
      for (const ms of cells.slice(1)) {
        assert.match(ms ?? "", /^\d+$/);
      }
      const bubbles = await agentLines(page);
      assert.match(
        bubbles.at(-1) ?? "",
        /^Let me see\. Done\.first frame \d+ ms · first sentence \d+ ms · complete \d+ ms$/,
      );
    },
  );

  await t.step(
    "a line sent while the agent speaks is a barge-in under a newer response_id",
    async () => {
      await page.type("#line", "And tomorrow?");
      await page.keyboard.press("Enter");
      await page.waitForFunction(
        `document.querySelectorAll("#conversation li.agent").length === 3`,
        { timeout: 5000 },
      );
      await page.type("#line", "Actually, never mind");
      await page.keyboard.press("Enter");
      await page.waitForSelector('#turns tr[data-response-id="3"]', {
        timeout: 5000,
      });
      const events = await eventsShown(page);
      assert.ok(
        events.includes("Barge-in: response 2 superseded by 3"),
        JSON.stringify(events),
      );
      const interrupted = await page.$$eval(
        "#conversation li.agent.interrupted",
        (items) => items.map((item) => item.textContent),
      );
      assert.deepEqual(interrupted, ["Let me see. "]);
      await page.screenshot({ path: "/tmp/playground.png" });
    },
  );

  await t.step(
    "ending the call closes the socket with 1000 and no violation",
    async () => {
      await page.click("#end");
      await untilCallEnded(page);
      assert.equal(
        await page.$eval("#violation-count", (e) => e.textContent),
        "0",
      );
      const ended = await server.logs.waitFor("call_ended", 5000);
      assert.equal(ended.close_code, 1000);
      assert.equal(ended.superseded, 1);
    },
  );

  await t.step("a broken server's frame shows as a violation", async () => {
    await using broken = startScriptedServer({
      start: [configEvent(), done(0, "Hi.")],
      answer(frame, peer) {
        if (typeof frame.response_id !== "number") return;
        peer.send(
          `{"response_type":"response","response_id":${frame.response_id},"content":"Sure.","content_complete":"true"}`,
        );
      },
    });
    await page.$eval("#socket-url", (input, url) => {
      (input as unknown as { value: string }).value = url;
    }, broken.url);
    await page.click("#start");
    await page.waitForSelector('#turns tr[data-response-id="0"]', {
      timeout: 5000,
    });
    await page.type("#line", "Hello?");
    await page.keyboard.press("Enter");
    const violation = await page.waitForSelector(
      '#violations li[data-code="invalid_frame"]',
      { timeout: 5000 },
    );
    assert.match(
      await violation!.evaluate((item) => item.textContent ?? ""),
      /^invalid_frame \(§4\.0, §8\.9\): /,
    );
    await page.click("#end");
    await page.waitForFunction(
      `document.querySelector("#status").textContent.startsWith("Call ended")`,
      { timeout: 5000 },
    );
  });

  await t.step(
    "tool calls, agent_interrupt, update_agent, metadata and a transfer are listed",
    async () => {
      await using scripted = startScriptedServer({
        start: [
          configEvent(),
          done(0, "Hi."),
          {
            response_type: "agent_interrupt",
            interrupt_id: 1,
            content: "One more thing.",
            content_complete: true,
          },
          { response_type: "metadata", metadata: { step: "greeted" } },
          {
            response_type: "update_agent",
            agent_config: { reminder_trigger_ms: 4000 },
          },
        ],
        answer(frame, peer) {
          if (typeof frame.response_id !== "number") return;
          peer.send({
            response_type: "tool_call_invocation",
            tool_call_id: "t1",
            name: "lookup",
            arguments: '{"day":"Saturday"}',
          });
          peer.send({
            response_type: "tool_call_result",
            tool_call_id: "t1",
            content: "open",
          });
          peer.send(
            done(frame.response_id, "Transferring you.", {
              transfer_number: "+15550100",
            }),
          );
        },
      });
      await page.$eval("#socket-url", (input, url) => {
        (input as unknown as { value: string }).value = url;
      }, scripted.url);
      await page.click("#start");
      await page.waitForFunction(
        `[...document.querySelectorAll("#events li")]
        .some((item) => item.textContent.startsWith("update_agent"))`,
        { timeout: 5000 },
      );
      assert.equal(
        await page.$eval(
          "#reminder-seconds",
          (input) => (input as unknown as { value: string }).value,
        ),
        "4",
      );
      await page.type("#line", "Is it open?");
      await page.keyboard.press("Enter");
      await untilCallEnded(page);
      const events = await eventsShown(page);
      assert.deepEqual(events, [
        "config: {}",
        "agent_interrupt 1: the agent cuts in",
        'metadata: {"step":"greeted"}',
        'update_agent: {"reminder_trigger_ms":4000}',
        'tool call lookup({"day":"Saturday"})',
        "tool result t1: open",
        "The agent transfers the call to +15550100",
        "Call ended by the playground: close code 1000",
      ]);
      assert.equal(
        await page.$eval("#violation-count", (e) => e.textContent),
        "0",
      );
    },
  );

  await t.step(
    "a silence after the agent's turn brings one reminder_required",
    async () => {
      await page.$eval("#socket-url", (input, url) => {
        (input as unknown as { value: string }).value = url;
      }, server.url("").slice(0, -1));
      await page.$eval("#reminder-seconds", (input) => {
        (input as unknown as { value: string }).value = "0.2";
      });
      await page.click("#start");
      await page.waitForSelector('#turns tr[data-response-id="1"]', {
        timeout: 5000,
      });
      const cells = await page.$$eval(
        '#turns tr[data-response-id="1"] td',
        (tds) => tds.map((td) => td.textContent),
      );
      assert.equal(cells[0], "reminder 1");
      await page.click("#end");
      await untilCallEnded(page);
      const events = await eventsShown(page);
      assert.equal(
        events.filter((text) => text?.startsWith("reminder_required")).length,
        1,
        JSON.stringify(events),
      );
    },
  );

  await t.step(
    "with WS_SECRET set, the call opens only once the secret is entered",
    async () => {
      await using locked = startTestServer({
        playground: true,
        wsSecret: "a-secret-of-16-chars",
      });
      await page.goto(`${locked.origin}/playground`);
      await page.click("#start");
      await page.waitForFunction(
        `document.querySelector("#events").textContent
        .startsWith("Cannot open the call: the server refused the socket")`,
        { timeout: 5000 },
      );
      const refused = await locked.logs.waitFor("connection_refused", 5000);
      assert.equal(refused.reason, "secret");
      await page.type("#secret", "a-secret-of-16-chars");
      await page.click("#start");
      await page.waitForSelector('#turns tr[data-response-id="0"]', {
        timeout: 5000,
      });
      await page.click("#end");
      await untilCallEnded(page);
    },
  );

  assert.deepEqual(pageErrors, []);
});

Deno.test("the playground in Chromium talks to the agent chosen on the page", async () => {
  await using browser = await startBrowser();
  if (browser === undefined) return;
  const page = await browser.newPage();
  await using server = startTestServer({
    playground: true,
    responder: saying("The default agent."),
    agents: [
      { name: "sales", responder: saying("Sales here.") },
      { name: "support", responder: saying("Support here.") },
    ],
  });
  await page.goto(`${server.origin}/playground`);
  assert.deepEqual(
    await page.$$eval(
      "#agent option",
      (options) => options.map((option) => option.textContent),
    ),
    ["default", "sales", "support"],
  );
  await page.select("#agent", "support");
  await page.click("#start");
  await page.waitForFunction(
    `document.querySelector("#conversation li.agent")?.textContent
      .startsWith("Support here.")`,
    { timeout: 5000 },
  );
  await page.click("#end");
  await untilCallEnded(page);
  // The server saw the call under the agent chosen.
  assert.deepStrictEqual(
    server.logs.events("call_started").map((line) => line.agent),
    ["support"],
  );
});

/** Resolves once the page says the call ended with code 1000. */
async function untilCallEnded(page: BrowserPage): Promise<void> {
  await page.waitForFunction(
    `document.querySelector("#status").textContent === "Call ended (1000)"`,
    { timeout: 5000 },
  );
}

/** The event lines as shown. */
function eventsShown(page: BrowserPage): Promise<(string | null)[]> {
  return page.$$eval(
    "#events li",
    (items) => items.map((item) => item.textContent),
  );
}

/** The agent's lines as shown, latency included. */
function agentLines(page: BrowserPage): Promise<string[]> {
  return page.$$eval(
    "#conversation li.agent",
    (items) => items.map((item) => item.textContent ?? ""),
  );
}
