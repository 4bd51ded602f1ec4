import assert from "node:assert/strict";
import type { Responder } from "../src/responder.ts";
import { createServerMetrics } from "../src/metrics.ts";
import { createDummyResponder } from "../src/responders/dummy.ts";
import { createRetellServer, type RetellServerOptions } from "../src/server.ts";
import {
  chunk,
  defaultConfig,
  done,
  ping,
  pong,
  responseRequired,
} from "./_support/frames.ts";
import { captureLogs } from "./_support/logs.ts";
import { sampleOf } from "./_support/metrics.ts";
import { connectAsRetell, handshakeStatus } from "./_support/retell_client.ts";
import { slowResponder } from "./_support/responders.ts";
import { startTestServer } from "./_support/server.ts";
import { handshakeFrom } from "./_support/source_address.ts";

/** Calls the handler directly, as if `hostname` had connected. */
function requestFrom(
  hostname: string,
  path: string,
  options: {
    headers?: Record<string, string>;
    server?: Partial<RetellServerOptions>;
    method?: string;
  } = {},
) {
  const logs = captureLogs();
  const retell = createRetellServer({
    responder: createDummyResponder(),
    log: logs.log,
    ...options.server,
  });
  const response = retell.handler(
    new Request(`http://example.test${path}`, {
      method: options.method ?? "GET",
      headers: options.headers,
    }),
    {
      remoteAddr: { transport: "tcp", hostname, port: 40000 },
      completed: Promise.resolve(),
    },
  );
  return { response, logs };
}

Deno.test("server answers plain HTTP routes", async (t) => {
  await using server = startTestServer();

  await t.step("GET / describes the server", async () => {
    const response = await fetch(`${server.origin}/`);
    assert.equal(response.status, 200);
    assert.match(
      await response.text(),
      /Retell custom-LLM WebSocket server.*\/llm-websocket/,
    );
  });

  await t.step("GET /healthz reports status and live calls", async () => {
    const idle = await fetch(`${server.origin}/healthz`);
    assert.equal(idle.status, 200);
    assert.deepStrictEqual(await idle.json(), { status: "ok", live_calls: 0 });
    await using retell = await connectAsRetell(server.url("call_health"));
    await retell.take(2);
    const busy = await fetch(`${server.origin}/healthz`);
    assert.deepStrictEqual(await busy.json(), { status: "ok", live_calls: 1 });
  });

  for (
    const path of [
      "/nope",
      "/llm-websocket",
      "/llm-websocket/",
      "/llm-websocket/a/b",
      "/llm-websocketx/a",
    ]
  ) {
    await t.step(`GET ${path} is 404`, async () => {
      const response = await fetch(`${server.origin}${path}`);
      assert.equal(response.status, 404);
      await response.body?.cancel();
    });
  }

  await t.step("a plain GET on the socket path is 426", async () => {
    const response = await fetch(`${server.origin}/llm-websocket/call_1`);
    assert.equal(response.status, 426);
    assert.equal(response.headers.get("upgrade"), "websocket");
    await response.body?.cancel();
  });

  await t.step("POST on the socket path and on /healthz is 405", async () => {
    for (const path of ["/llm-websocket/call_1", "/healthz"]) {
      const response = await fetch(`${server.origin}${path}`, {
        method: "POST",
      });
      assert.equal(response.status, 405);
      await response.body?.cancel();
    }
  });

  await t.step("a broken handshake is 400, not a crash", async () => {
    const response = await fetch(`${server.origin}/llm-websocket/call_1`, {
      headers: { upgrade: "websocket", connection: "Upgrade" },
    });
    assert.equal(response.status, 400);
    await response.body?.cancel();
    assert.equal(server.logs.events("upgrade_failed")[0]?.call_id, "call_1");
  });
});

Deno.test("server takes the call id from the path", async (t) => {
  await t.step("with a query string and a trailing slash", async () => {
    await using server = startTestServer();
    await using retell = await connectAsRetell(
      `${server.url("call_q")}/?tenant=acme`,
    );
    assert.deepStrictEqual(await retell.take(2), [
      defaultConfig(),
      done(0, "How may I help you?"),
    ]);
    assert.equal(server.logs.events("call_accepted")[0]?.call_id, "call_q");
  });

  await t.step("under a configured path", async () => {
    await using server = startTestServer({ websocketPath: "/retell/ws/" });
    await using retell = await connectAsRetell(
      server.url("call_p", "/retell/ws"),
    );
    assert.deepStrictEqual((await retell.take(2))[0], defaultConfig());
    const old = await fetch(`${server.origin}/llm-websocket/call_p`);
    assert.equal(old.status, 404);
    await old.body?.cancel();
  });
});

Deno.test("server refuses callers outside the allowlist before upgrading", async (t) => {
  await t.step(
    "over a real socket: 403, one log line with the address, no call",
    async () => {
      await using server = startTestServer({
        allowedIps: ["127.0.0.2"],
        allowLoopback: false,
      });
      assert.equal(await handshakeStatus(server.url("call_refused")), 403);
      const refused = server.logs.events("connection_refused");
      assert.equal(refused.length, 1);
      assert.deepStrictEqual(
        [refused[0]?.address, refused[0]?.call_id, refused[0]?.level],
        ["127.0.0.1", "call_refused", "warn"],
      );
      assert.equal(server.logs.events("call_accepted").length, 0);
    },
  );

  await t.step(
    "over a real socket: an allowed address upgrades (101)",
    async () => {
      await using server = startTestServer({
        allowedIps: ["127.0.0.1"],
        allowLoopback: false,
      });
      assert.equal(await handshakeStatus(server.url("call_allowed")), 101);
      await Promise.all([...server.retell.calls].map((call) => call.ended));
    },
  );

  const cases: Array<
    [
      string,
      string,
      Record<string, string>,
      Partial<RetellServerOptions>,
      number,
    ]
  > = [
    ["Retell's address by default", "100.20.5.228", {}, {}, 426],
    [
      "Retell's address through a dual-stack listener",
      "::ffff:100.20.5.228",
      {},
      {},
      426,
    ],
    ["any other address by default", "100.20.5.229", {}, {}, 403],
    ["loopback by default", "127.0.0.1", {}, {}, 403],
    ["loopback when allowed", "::1", {}, { allowLoopback: true }, 426],
    ["everyone with *", "203.0.113.7", {}, { allowedIps: ["*"] }, 426],
    ["anyone with an empty list", "100.20.5.228", {}, { allowedIps: [] }, 403],
    [
      "a spoofed X-Forwarded-For from an untrusted peer",
      "203.0.113.7",
      {
        "x-forwarded-for": "100.20.5.228",
      },
      {},
      403,
    ],
    [
      "X-Forwarded-For from a trusted proxy",
      "127.0.0.1",
      {
        "x-forwarded-for": "100.20.5.228",
      },
      { trustProxy: ["127.0.0.1"] },
      426,
    ],
    [
      "a spoofed left-most entry behind a trusted proxy",
      "10.0.0.5",
      {
        "x-forwarded-for": "100.20.5.228, 203.0.113.7",
      },
      { trustProxy: ["10.0.0.0/8"] },
      403,
    ],
  ];
  for (const [name, address, headers, options, status] of cases) {
    await t.step(
      `${status === 403 ? "refuses" : "allows"} ${name}`,
      async () => {
        const { response } = requestFrom(address, "/llm-websocket/call_x", {
          headers,
          server: options,
        });
        assert.equal(response.status, status);
        await response.body?.cancel();
      },
    );
  }

  await t.step("logs the resolved address and the direct peer", () => {
    const { logs } = requestFrom("10.0.0.5", "/llm-websocket/call_x", {
      headers: { "x-forwarded-for": "203.0.113.7" },
      server: { trustProxy: ["10.0.0.0/8"] },
    });
    const [line] = logs.events("connection_refused");
    assert.deepStrictEqual([line?.address, line?.peer], [
      "203.0.113.7",
      "10.0.0.5",
    ]);
  });

  await t.step("warns at startup when the allowlist is open or empty", () => {
    assert.equal(
      requestFrom("::1", "/", { server: { allowedIps: ["*"] } }).logs.events(
        "allowlist_open",
      ).length,
      1,
    );
    assert.equal(
      requestFrom("::1", "/", { server: { allowedIps: [] } }).logs.events(
        "allowlist_empty",
      ).length,
      1,
    );
    assert.equal(requestFrom("::1", "/").logs.records.length, 0);
  });

  await t.step("throws on a bad rule", () => {
    assert.throws(
      () =>
        createRetellServer({
          responder: createDummyResponder(),
          log: captureLogs().log,
          allowedIps: ["1.2.3"],
        }),
      TypeError,
    );
  });
});

Deno.test("server drains: no new calls, waits only for responses in flight", async (t) => {
  const gate = Promise.withResolvers<void>();
  const responder: Responder = {
    begin: () => "Hello.",
    async *respond(turn) {
      yield "Part one. ";
      if (turn.responseId === 1) await gate.promise;
      yield "Part two.";
    },
  };
  await using server = startTestServer({ responder });
  await using retell = await connectAsRetell(server.url("call_live"));
  await retell.take(2);

  await t.step("resolves at once when every open call is idle", async () => {
    assert.deepStrictEqual(await server.retell.drain(10_000), {
      openCalls: 1,
      responding: 0,
    });
  });

  await t.step("reports draining on /healthz with 503", async () => {
    const response = await fetch(`${server.origin}/healthz`);
    assert.equal(response.status, 503);
    assert.deepStrictEqual(await response.json(), {
      status: "draining",
      live_calls: 1,
    });
  });

  await t.step("refuses new calls with 503", async () => {
    assert.equal(await handshakeStatus(server.url("call_new")), 503);
  });

  await t.step("waits for the response in flight to complete", async () => {
    retell.send(responseRequired(1));
    await retell.next();
    let drained = false;
    const drain = server.retell.drain(10_000).finally(() => drained = true);
    // The drain cannot end while the gate is shut; a ping round trip shows
    // the server went on working meanwhile.
    retell.send(ping(1));
    assert.deepStrictEqual(await retell.next(), pong(1));
    assert.equal(drained, false);
    gate.resolve();
    assert.deepStrictEqual(await drain, { openCalls: 1, responding: 0 });
    assert.deepStrictEqual(await retell.take(2), [
      chunk(1, "Part two."),
      done(1),
    ]);
  });

  await t.step("keeps answering the open call", async () => {
    retell.send(responseRequired(2));
    assert.deepStrictEqual(await retell.untilComplete(2), [
      chunk(2, "Part one. "),
      chunk(2, "Part two."),
      done(2),
    ]);
  });

  await t.step("resolves with what is left when time runs out", async () => {
    await using other = startTestServer({
      responder: slowResponder(new Set([1])),
    });
    await using stuck = await connectAsRetell(other.url("call_stuck"));
    await stuck.take(2);
    stuck.send(responseRequired(1));
    await stuck.next();
    assert.deepStrictEqual(await other.retell.drain(20), {
      openCalls: 1,
      responding: 1,
    });
  });
});

Deno.test("server tells /healthz callers who may not read the metrics only the status", async () => {
  const { response } = requestFrom("203.0.113.9", "/healthz");
  assert.equal(response.status, 200);
  assert.deepStrictEqual(await response.json(), { status: "ok" });
});

Deno.test({
  name:
    "server caps live calls: 503 past maxCalls, counted, logged a bounded number of times",
  async fn() {
    const metrics = createServerMetrics();
    await using server = startTestServer({ maxCalls: 1, metrics });
    await using first = await connectAsRetell(server.url("call_first"));
    await first.take(2);
    for (let n = 0; n < 12; n++) {
      assert.equal(await handshakeStatus(server.url(`call_${n}`)), 503);
    }
    const lines = server.logs.events("connection_refused_capacity");
    assert.equal(lines.length, 10, "the rest are counted, not written");
    assert.deepStrictEqual(
      [lines[0]?.call_id, lines[0]?.max_calls],
      ["call_0", 1],
    );
    assert.equal(
      sampleOf(
        metrics.render(),
        'retell_connections_refused_total{reason="capacity"}',
      ),
      12,
    );
    await first.close();
    await Promise.all([...server.retell.calls].map((call) => call.ended));
    await using next = await connectAsRetell(server.url("call_next"));
    await next.take(2);
  },
});

Deno.test({
  name:
    "server caps live calls per client address: 429 past maxCallsPerAddress, other addresses and Retell unaffected",
  // node:net keeps internal handles of its own past the sockets' close.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await t.step(
      "127.0.0.1 and 127.0.0.2 each hold their own share",
      async () => {
        const metrics = createServerMetrics();
        await using server = startTestServer({
          allowedIps: ["127.0.0.1", "127.0.0.2"],
          allowLoopback: false,
          maxCallsPerAddress: 1,
          metrics,
        });
        await using first = await connectAsRetell(server.url("call_one"));
        await first.take(2);
        assert.equal(await handshakeStatus(server.url("call_two")), 429);
        await using other = await handshakeFrom(
          "127.0.0.2",
          server.url("call_b1"),
        );
        assert.equal(other.status, 101);
        await using refused = await handshakeFrom(
          "127.0.0.2",
          server.url("call_b2"),
        );
        assert.equal(refused.status, 429);
        assert.equal(
          sampleOf(
            metrics.render(),
            'retell_connections_refused_total{reason="address_limit"}',
          ),
          2,
        );
        const line = server.logs.events("connection_refused_address_limit")[0];
        assert.deepStrictEqual(
          [line?.address, line?.max_calls_per_address],
          ["127.0.0.1", 1],
        );
        await other[Symbol.asyncDispose]();
        await first.close();
      },
    );

    await t.step(
      "Retell's address, behind a trusted proxy, is exempt",
      async () => {
        await using server = startTestServer({
          allowedIps: ["100.20.5.228"],
          allowLoopback: false,
          trustProxy: ["127.0.0.1"],
          maxCallsPerAddress: 1,
        });
        const retell = { "x-forwarded-for": "100.20.5.228" };
        await using one = await handshakeFrom(
          "127.0.0.1",
          server.url("r1"),
          retell,
        );
        await using two = await handshakeFrom(
          "127.0.0.1",
          server.url("r2"),
          retell,
        );
        assert.deepStrictEqual([one.status, two.status], [101, 101]);
        assert.equal(server.retell.calls.size, 2);
        await one[Symbol.asyncDispose]();
        await two[Symbol.asyncDispose]();
      },
    );
  },
});
