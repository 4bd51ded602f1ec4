import assert from "node:assert/strict";
import {
  createMetricRegistry,
  PROMETHEUS_CONTENT_TYPE,
} from "../src/metric_registry.ts";
import { createServerMetrics } from "../src/metrics.ts";
import {
  createMetricsGuard,
  type MetricsAccess,
  type MetricsGuardOptions,
} from "../src/metrics_access.ts";

function lines(...text: string[]): string {
  return `${text.join("\n")}\n`;
}

Deno.test("createMetricRegistry() renders a counter from zero, ignoring negative and NaN increments", () => {
  const registry = createMetricRegistry();
  const calls = registry.counter({ name: "calls_total", help: "Calls." });
  assert.equal(
    registry.render(),
    lines(
      "# HELP calls_total Calls.",
      "# TYPE calls_total counter",
      "calls_total 0",
    ),
  );
  calls.inc();
  calls.inc(2.5);
  calls.inc(-1);
  calls.inc(Number.NaN);
  assert.equal(
    registry.render(),
    lines(
      "# HELP calls_total Calls.",
      "# TYPE calls_total counter",
      "calls_total 3.5",
    ),
  );
});

Deno.test("createMetricRegistry() renders a labelled counter with every declared combination in declared order", () => {
  const registry = createMetricRegistry();
  const turns = registry.counter({
    name: "turns_total",
    help: "Turns.",
    labels: { kind: ["response", "reminder"], outcome: ["ok", "failed"] },
  });
  turns.inc({ kind: "reminder", outcome: "failed" });
  turns.inc({ kind: "response", outcome: "ok" }, 3);
  // A value that is not a number, after the labels, is ignored like NaN.
  turns.inc({ kind: "response", outcome: "ok" }, Number.NaN);
  turns.inc({ kind: "response", outcome: "ok" }, "2" as unknown as number);
  assert.equal(
    registry.render(),
    lines(
      "# HELP turns_total Turns.",
      "# TYPE turns_total counter",
      'turns_total{kind="response",outcome="ok"} 3',
      'turns_total{kind="response",outcome="failed"} 0',
      'turns_total{kind="reminder",outcome="ok"} 0',
      'turns_total{kind="reminder",outcome="failed"} 1',
    ),
  );
});

Deno.test("createMetricRegistry() renders a gauge that goes up, down and is set, ignoring NaN", () => {
  const registry = createMetricRegistry();
  const live = registry.gauge({ name: "live_calls", help: "Live calls." });
  const degraded = registry.gauge({
    name: "store_degraded",
    help: "Store state.",
    labels: { store: ["kv", "redis"] },
  });
  live.inc();
  live.inc(4);
  live.dec();
  degraded.set({ store: "redis" }, 1);
  degraded.set({ store: "kv" }, -0.5);
  assert.equal(
    registry.render(),
    lines(
      "# HELP live_calls Live calls.",
      "# TYPE live_calls gauge",
      "live_calls 4",
      "# HELP store_degraded Store state.",
      "# TYPE store_degraded gauge",
      'store_degraded{store="kv"} -0.5',
      'store_degraded{store="redis"} 1',
    ),
  );
  live.set(Infinity);
  live.set(Number.NaN);
  live.inc(Number.NaN);
  assert.match(registry.render(), /^live_calls \+Inf$/m);
});

Deno.test("createMetricRegistry() renders histogram buckets cumulatively with le inclusive, +Inf, _sum and _count", () => {
  const registry = createMetricRegistry();
  const latency = registry.histogram({
    name: "latency_seconds",
    help: "Latency.",
    buckets: [0.1, 1],
  });
  assert.equal(
    registry.render(),
    lines(
      "# HELP latency_seconds Latency.",
      "# TYPE latency_seconds histogram",
      'latency_seconds_bucket{le="0.1"} 0',
      'latency_seconds_bucket{le="1"} 0',
      'latency_seconds_bucket{le="+Inf"} 0',
      "latency_seconds_sum 0",
      "latency_seconds_count 0",
    ),
  );
  for (const value of [0.05, 0.1, 0.5, 5, Number.NaN]) latency.observe(value);
  assert.equal(
    registry.render(),
    lines(
      "# HELP latency_seconds Latency.",
      "# TYPE latency_seconds histogram",
      'latency_seconds_bucket{le="0.1"} 2',
      'latency_seconds_bucket{le="1"} 3',
      'latency_seconds_bucket{le="+Inf"} 4',
      "latency_seconds_sum 5.65",
      "latency_seconds_count 4",
    ),
  );
});

Deno.test("createMetricRegistry() renders a labelled histogram with le after the labels", () => {
  const registry = createMetricRegistry();
  const latency = registry.histogram({
    name: "first_frame_seconds",
    help: "First frame.",
    labels: { kind: ["response", "reminder"] },
    buckets: [0.005, 0.25],
  });
  latency.observe({ kind: "reminder" }, 0.25);
  latency.observe({ kind: "reminder" }, 0.001);
  assert.equal(
    registry.render(),
    lines(
      "# HELP first_frame_seconds First frame.",
      "# TYPE first_frame_seconds histogram",
      'first_frame_seconds_bucket{kind="response",le="0.005"} 0',
      'first_frame_seconds_bucket{kind="response",le="0.25"} 0',
      'first_frame_seconds_bucket{kind="response",le="+Inf"} 0',
      'first_frame_seconds_sum{kind="response"} 0',
      'first_frame_seconds_count{kind="response"} 0',
      'first_frame_seconds_bucket{kind="reminder",le="0.005"} 1',
      'first_frame_seconds_bucket{kind="reminder",le="0.25"} 2',
      'first_frame_seconds_bucket{kind="reminder",le="+Inf"} 2',
      'first_frame_seconds_sum{kind="reminder"} 0.251',
      'first_frame_seconds_count{kind="reminder"} 2',
    ),
  );
});

Deno.test("createMetricRegistry() escapes label values and help text", () => {
  const registry = createMetricRegistry();
  const odd = 'say "hi"\\now\nthen';
  const counter = registry.counter({
    name: "odd_total",
    help: 'Back\\slash and\nnewline, "quotes" kept.',
    labels: { text: [odd] },
  });
  counter.inc({ text: odd });
  assert.equal(
    registry.render(),
    lines(
      '# HELP odd_total Back\\\\slash and\\nnewline, "quotes" kept.',
      "# TYPE odd_total counter",
      'odd_total{text="say \\"hi\\"\\\\now\\nthen"} 1',
    ),
  );
});

Deno.test("createMetricRegistry() renders the same text whatever order the updates came in", () => {
  function build(order: readonly ("a" | "b")[]): string {
    const registry = createMetricRegistry();
    const hits = registry.counter({
      name: "hits_total",
      help: "Hits.",
      labels: { path: ["a", "b"] },
    });
    const size = registry.histogram({
      name: "size",
      help: "Size.",
      buckets: [1],
    });
    for (const path of order) {
      hits.inc({ path });
      size.observe(path === "a" ? 0.5 : 2);
    }
    return registry.render();
  }
  const text = build(["a", "b", "b"]);
  assert.equal(build(["b", "a", "b"]), text);
  assert.equal(build(["b", "b", "a"]), text);
  assert.ok(text.indexOf("hits_total") < text.indexOf("# HELP size"));
});

Deno.test("createMetricRegistry() refuses bad names, taken names, reserved labels and bad buckets", () => {
  const registry = createMetricRegistry();
  registry.counter({ name: "taken_total", help: "Taken." });
  assert.throws(() => registry.gauge({ name: "taken_total", help: "Again." }), {
    name: "TypeError",
    message: 'Cannot register metric "taken_total": the name is taken',
  });
  assert.throws(() => registry.counter({ name: "2fast", help: "Bad." }), {
    name: "TypeError",
    message:
      'Cannot register metric "2fast": the name must match [a-zA-Z_:][a-zA-Z0-9_:]*',
  });
  for (const label of ["__reserved", "has-dash", ""]) {
    assert.throws(
      () =>
        registry.counter({
          name: "labelled_total",
          help: "Bad label.",
          labels: { [label]: ["x"] },
        }),
      {
        name: "TypeError",
        message: `Cannot register metric "labelled_total": label name ${
          JSON.stringify(label)
        } is invalid or reserved`,
      },
    );
  }
  assert.throws(
    () =>
      registry.histogram({
        name: "le_seconds",
        help: "Reserved le.",
        labels: { le: ["1"] },
        buckets: [1],
      }),
    { name: "TypeError" },
  );
  for (const buckets of [[], [1, 1], [2, 1], [1, Infinity], [Number.NaN]]) {
    assert.throws(
      () => registry.histogram({ name: "bad_seconds", help: "Bad.", buckets }),
      {
        name: "RangeError",
        message:
          'Cannot register histogram "bad_seconds": buckets must be finite and increasing, at least one',
      },
    );
  }
  // None of the refused metrics was registered.
  assert.equal(
    registry.render(),
    lines(
      "# HELP taken_total Taken.",
      "# TYPE taken_total counter",
      "taken_total 0",
    ),
  );
});

Deno.test("createMetricRegistry() types updates by the declared labels", () => {
  const registry = createMetricRegistry();
  const turns = registry.counter({
    name: "typed_total",
    help: "Typed.",
    labels: { kind: ["response", "reminder"] },
  });
  const plain = registry.histogram({
    name: "plain_seconds",
    help: "Plain.",
    buckets: [1],
  });
  // @ts-expect-error: a labelled counter needs its labels
  turns.inc();
  // @ts-expect-error: "other" is not a declared value
  turns.inc({ kind: "other" });
  // @ts-expect-error: an unlabelled histogram takes the value alone
  plain.observe({ kind: "response" }, 1);
  // At run time nothing throws: undeclared and missing values count after
  // the declared ones, and a value that is not a number is ignored.
  assert.equal(
    registry.render(),
    lines(
      "# HELP typed_total Typed.",
      "# TYPE typed_total counter",
      'typed_total{kind="response"} 0',
      'typed_total{kind="reminder"} 0',
      'typed_total{kind=""} 1',
      'typed_total{kind="other"} 1',
      "# HELP plain_seconds Plain.",
      "# TYPE plain_seconds histogram",
      'plain_seconds_bucket{le="1"} 0',
      'plain_seconds_bucket{le="+Inf"} 0',
      "plain_seconds_sum 0",
      "plain_seconds_count 0",
    ),
  );
});

Deno.test("createServerMetrics() declares the server's metrics with Prometheus names and types", () => {
  const text = createServerMetrics().render();
  const types = text.split("\n").filter((line) => line.startsWith("# TYPE"));
  assert.deepEqual(types, [
    "# TYPE retell_live_calls gauge",
    "# TYPE retell_calls_ended_total counter",
    "# TYPE retell_reconnected_calls_total counter",
    "# TYPE retell_turns_total counter",
    "# TYPE retell_superseded_responses_total counter",
    "# TYPE retell_turn_first_frame_seconds histogram",
    "# TYPE retell_turn_first_sentence_seconds histogram",
    "# TYPE retell_turn_complete_seconds histogram",
    "# TYPE retell_model_first_token_seconds histogram",
    "# TYPE retell_model_errors_total counter",
    "# TYPE retell_model_requests_total counter",
    "# TYPE retell_frames_rejected_total counter",
    "# TYPE retell_connections_refused_total counter",
    "# TYPE retell_accept_restarts_total counter",
    "# TYPE retell_call_store_errors_total counter",
    "# TYPE retell_call_store_degraded gauge",
    "# TYPE retell_turn_stalls_total counter",
  ]);
  const samples = text.split("\n").filter((line) =>
    line !== "" && !line.startsWith("#")
  );
  assert.ok(samples.every((line) => line.endsWith(" 0")), "all start at 0");
  assert.equal(
    samples.filter((line) => line.startsWith("retell_turns_total{")).length,
    15,
  );
  assert.deepEqual(
    samples.filter((line) =>
      line.startsWith(
        'retell_turn_first_frame_seconds_bucket{kind="response_required"',
      )
    ).map((line) => line.slice(line.indexOf("le=")).split("}")[0]),
    [
      "0.005",
      "0.01",
      "0.025",
      "0.05",
      "0.1",
      "0.2",
      "0.3",
      "0.5",
      "0.75",
      "1",
      "1.5",
      "2",
      "3",
      "5",
      "10",
      "+Inf",
    ].map((bound) => `le="${bound}"`),
  );
});

Deno.test("createServerMetrics() reports each update in its series", () => {
  const metrics = createServerMetrics();
  metrics.liveCalls.inc();
  metrics.liveCalls.inc();
  metrics.liveCalls.dec();
  metrics.callsEnded.inc({ reason: "dropped" });
  metrics.reconnectedCalls.inc();
  metrics.turns.inc({ kind: "reminder_required", outcome: "timed_out" });
  metrics.supersededResponses.inc();
  metrics.firstFrameSeconds.observe({ kind: "response_required" }, 0.18);
  metrics.completeSeconds.observe({ kind: "response_required" }, 45);
  metrics.firstTokenSeconds.observe(0.09);
  metrics.modelErrors.inc({ kind: "first_token_timeout" });
  metrics.framesRejected.inc({ kind: "not_json" });
  metrics.connectionsRefused.inc({ reason: "address" });
  metrics.storeErrors.inc();
  metrics.storeDegraded.set(1);
  metrics.turnStalls.inc();
  const text = metrics.render();
  for (
    const line of [
      "retell_live_calls 1",
      'retell_calls_ended_total{reason="dropped"} 1',
      "retell_reconnected_calls_total 1",
      'retell_turns_total{kind="reminder_required",outcome="timed_out"} 1',
      "retell_superseded_responses_total 1",
      'retell_turn_first_frame_seconds_bucket{kind="response_required",le="0.1"} 0',
      'retell_turn_first_frame_seconds_bucket{kind="response_required",le="0.2"} 1',
      'retell_turn_complete_seconds_bucket{kind="response_required",le="30"} 0',
      'retell_turn_complete_seconds_bucket{kind="response_required",le="60"} 1',
      "retell_model_first_token_seconds_sum 0.09",
      'retell_model_errors_total{kind="first_token_timeout"} 1',
      'retell_frames_rejected_total{kind="not_json"} 1',
      'retell_connections_refused_total{reason="address"} 1',
      "retell_call_store_errors_total 1",
      "retell_call_store_degraded 1",
      "retell_turn_stalls_total 1",
    ]
  ) {
    assert.ok(text.split("\n").includes(line), `renders ${line}`);
  }
});

/** One metrics request and the answer the guard must give. */
interface GuardCase {
  name: string;
  options: MetricsGuardOptions;
  peer: string;
  headers?: Record<string, string>;
  transport?: "tcp" | "unix";
  expected: MetricsAccess;
}

const LOOPBACK = ["127.0.0.0/8", "::1"];
const TOKEN = "metrics-token-0123456789";

const GUARD_CASES: GuardCase[] = [
  {
    name: "loopback caller, loopback allowed",
    options: { allowedIps: LOOPBACK },
    peer: "127.0.0.1",
    expected: "allowed",
  },
  {
    name: "IPv4-mapped loopback caller on a dual-stack listener",
    options: { allowedIps: LOOPBACK },
    peer: "::ffff:127.0.0.1",
    expected: "allowed",
  },
  {
    name: "IPv6 loopback caller",
    options: { allowedIps: LOOPBACK },
    peer: "::1",
    expected: "allowed",
  },
  {
    name: "remote caller, no token configured",
    options: { allowedIps: LOOPBACK },
    peer: "203.0.113.9",
    expected: "not_found",
  },
  {
    name: "remote caller sends a token, none configured",
    options: { allowedIps: LOOPBACK },
    peer: "203.0.113.9",
    headers: { authorization: `Bearer ${TOKEN}` },
    expected: "not_found",
  },
  {
    name: "remote caller sends a token, empty token configured",
    options: { allowedIps: LOOPBACK, token: "" },
    peer: "203.0.113.9",
    headers: { authorization: "Bearer " },
    expected: "not_found",
  },
  {
    name: "remote caller without a token, token configured",
    options: { allowedIps: LOOPBACK, token: TOKEN },
    peer: "203.0.113.9",
    expected: "not_found",
  },
  {
    name: "remote caller with the right token",
    options: { allowedIps: LOOPBACK, token: TOKEN },
    peer: "203.0.113.9",
    headers: { authorization: `Bearer ${TOKEN}` },
    expected: "allowed",
  },
  {
    name: "right token, scheme in lower case and extra spaces",
    options: { allowedIps: [], token: TOKEN },
    peer: "203.0.113.9",
    headers: { authorization: `bearer   ${TOKEN}` },
    expected: "allowed",
  },
  {
    name: "wrong token",
    options: { allowedIps: LOOPBACK, token: TOKEN },
    peer: "203.0.113.9",
    headers: { authorization: "Bearer metrics-token-0123456780" },
    expected: "forbidden",
  },
  {
    name: "the token's prefix",
    options: { allowedIps: LOOPBACK, token: TOKEN },
    peer: "203.0.113.9",
    headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
    expected: "forbidden",
  },
  {
    name: "the token and more",
    options: { allowedIps: LOOPBACK, token: TOKEN },
    peer: "203.0.113.9",
    headers: { authorization: `Bearer ${TOKEN}${TOKEN}` },
    expected: "forbidden",
  },
  {
    name: "the token under another scheme",
    options: { allowedIps: LOOPBACK, token: TOKEN },
    peer: "203.0.113.9",
    headers: { authorization: `Basic ${TOKEN}` },
    expected: "forbidden",
  },
  {
    name: "allowed address with a wrong token",
    options: { allowedIps: LOOPBACK, token: TOKEN },
    peer: "127.0.0.1",
    headers: { authorization: "Bearer wrong" },
    expected: "allowed",
  },
  {
    name: "nobody allowed and no token",
    options: { allowedIps: [] },
    peer: "127.0.0.1",
    expected: "not_found",
  },
  {
    name: "remote caller behind a trusted local proxy",
    options: { allowedIps: LOOPBACK, trustProxy: ["127.0.0.1"] },
    peer: "127.0.0.1",
    headers: { "x-forwarded-for": "203.0.113.9" },
    expected: "not_found",
  },
  {
    name: "allowed caller behind a trusted proxy",
    options: { allowedIps: ["10.1.0.0/16"], trustProxy: ["127.0.0.1"] },
    peer: "127.0.0.1",
    headers: { "x-forwarded-for": "10.1.2.3" },
    expected: "allowed",
  },
  {
    name: "forged X-Forwarded-For from an untrusted peer",
    options: { allowedIps: LOOPBACK, trustProxy: ["10.0.0.1"] },
    peer: "203.0.113.9",
    headers: { "x-forwarded-for": "127.0.0.1" },
    expected: "not_found",
  },
  {
    name: "unix socket peer",
    options: { allowedIps: ["*"] },
    peer: "/run/server.sock",
    transport: "unix",
    expected: "not_found",
  },
];

Deno.test("createMetricsGuard() allows listed addresses and the bearer token, and hides the route from others", () => {
  for (const testCase of GUARD_CASES) {
    const guard = createMetricsGuard(testCase.options);
    const request = new Request("http://server/metrics", {
      headers: testCase.headers ?? {},
    });
    const info: Deno.ServeHandlerInfo = {
      remoteAddr: testCase.transport === "unix"
        ? { transport: "unix", path: testCase.peer }
        : { transport: "tcp", hostname: testCase.peer, port: 40000 },
      completed: Promise.resolve(),
    };
    assert.equal(guard(request, info), testCase.expected, testCase.name);
  }
});

Deno.test("createMetricsGuard() throws when a rule cannot be parsed", () => {
  assert.throws(() => createMetricsGuard({ allowedIps: ["localhost"] }), {
    name: "TypeError",
    message:
      'Cannot parse IP rule "localhost": not an IPv4 or IPv6 address or CIDR range',
  });
  assert.throws(
    () => createMetricsGuard({ allowedIps: [], trustProxy: ["*"] }),
    { name: "TypeError" },
  );
});

Deno.test("createMetricsGuard() answers real requests on a real socket with 200, 403 or 404", async () => {
  const metrics = createServerMetrics();
  metrics.liveCalls.inc();
  const STATUS = { allowed: 200, forbidden: 403, not_found: 404 } as const;
  function serve(options: MetricsGuardOptions): Deno.HttpServer<Deno.NetAddr> {
    const guard = createMetricsGuard(options);
    return Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request, info) => {
        const access = guard(request, info);
        if (access !== "allowed") {
          return new Response(null, { status: STATUS[access] });
        }
        return new Response(metrics.render(), {
          headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
        });
      },
    );
  }
  async function get(
    server: Deno.HttpServer<Deno.NetAddr>,
    headers: Record<string, string> = {},
  ): Promise<[number, string | null, string]> {
    const response = await fetch(
      `http://127.0.0.1:${server.addr.port}/metrics`,
      { headers },
    );
    return [
      response.status,
      response.headers.get("content-type"),
      await response.text(),
    ];
  }

  const loopback = serve({ allowedIps: LOOPBACK });
  const tokenOnly = serve({ allowedIps: [], token: TOKEN });
  try {
    const [status, type, body] = await get(loopback);
    assert.equal(status, 200);
    assert.equal(type, "text/plain; version=0.0.4; charset=utf-8");
    assert.match(body, /^retell_live_calls 1$/m);

    assert.deepEqual(await get(tokenOnly), [404, null, ""]);
    assert.deepEqual(
      await get(tokenOnly, { authorization: "Bearer nope" }),
      [403, null, ""],
    );
    const [withToken] = await get(tokenOnly, {
      authorization: `Bearer ${TOKEN}`,
    });
    assert.equal(withToken, 200);
  } finally {
    await Promise.all([loopback.shutdown(), tokenOnly.shutdown()]);
  }
});
