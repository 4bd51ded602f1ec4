import assert from "node:assert/strict";
import { startFakeLlm } from "../../_support/llm_server.ts";
import { parseArgs } from "./load.ts";
import { runS1, runS4, transcriptAt, turnEvents } from "./_scenarios.ts";
import { startBareDummy, startOurs, startOursLlm } from "./_servers.ts";
import {
  median,
  medianFigures,
  percentile,
  type RunFigures,
  spread,
} from "./_stats.ts";
import {
  checkTargets,
  type Comparison,
  comparisonRows,
  formatTable,
  HEADINGS,
} from "./_table.ts";

function figures(overrides: Partial<RunFigures> = {}): RunFigures {
  return {
    turns: 10,
    answered: 10,
    calls: 1,
    connected: 1,
    errors: [],
    latency: { p50: 1, p99: 2, max: 3 },
    connectP99: 4,
    serverCpuMs: 100,
    rssPerCallKiB: 30,
    wallMs: 1000,
    generatorCpuPercent: 10,
    generatorLoopP99: 1,
    ...overrides,
  };
}

Deno.test("percentile is nearest-rank, and NaN for no values", () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(percentile(values, 0.5), 50);
  assert.equal(percentile(values, 0.99), 99);
  assert.equal(percentile(values, 1), 100);
  assert.equal(percentile([7], 0.01), 7);
  assert.ok(Number.isNaN(percentile([], 0.5)));
  assert.deepEqual(spread([3, 1, 2]), { p50: 2, p99: 3, max: 3 });
});

Deno.test("medianFigures sums counts and takes the median of figures", () => {
  assert.equal(median([3, undefined, 1, 2, NaN]), 2);
  assert.equal(median([undefined]), undefined);
  const folded = medianFigures([
    figures({ latency: { p50: 1, p99: 9, max: 9 }, errors: ["a"] }),
    figures({ latency: { p50: 5, p99: 2, max: 2 }, serverCpuMs: undefined }),
    figures({ latency: { p50: 3, p99: 4, max: 4 }, serverCpuMs: 300 }),
  ]);
  assert.equal(folded.turns, 30);
  assert.equal(folded.answered, 30);
  assert.deepEqual(folded.errors, ["a"]);
  assert.deepEqual(folded.latency, { p50: 3, p99: 4, max: 4 });
  assert.equal(folded.serverCpuMs, 100);
  assert.equal(folded.lateFrames, undefined);
});

Deno.test("checkTargets holds ours to the issue's ratios and absolutes", () => {
  const bare = figures();
  const s1 = (p50: number): Comparison => ({
    scenario: "S1",
    kind: "S1",
    metric: "first frame",
    bare,
    ours: figures({ latency: { p50, p99: 2, max: 3 } }),
  });
  assert.deepEqual(checkTargets(s1(1.25)).map((check) => check.pass), [true]);
  assert.deepEqual(checkTargets(s1(1.3)).map((check) => check.pass), [false]);

  const s3 = checkTargets({
    scenario: "S3 2000",
    kind: "S3",
    metric: "first frame",
    bare,
    ours: figures({ answered: 9, rssPerCallKiB: 40 }),
  });
  assert.deepEqual(s3.map((check) => check.pass), [
    false,
    true,
    true,
    true,
    false,
  ]);

  const s4i = (lateFrames: number, supersededClosed: number) =>
    checkTargets({
      scenario: "S4i",
      kind: "S4i",
      metric: "token to frame",
      ours: figures({ lateFrames, superseded: 4, supersededClosed }),
    }).map((check) => check.pass);
  assert.deepEqual(s4i(0, 4), [true, true]);
  assert.deepEqual(s4i(1, 3), [false, false]);
  // Without a server CPU figure the ratio cannot pass.
  const s2 = checkTargets({
    scenario: "S2",
    kind: "S2",
    metric: "first frame",
    bare: figures({ serverCpuMs: undefined }),
    ours: figures(),
  });
  assert.deepEqual(s2.map((check) => check.pass), [true, false]);
});

Deno.test("formatTable lines up bare, ours and the ratio row with a verdict", () => {
  const rows = comparisonRows({
    scenario: "S2",
    kind: "S2",
    metric: "first frame",
    bare: figures(),
    ours: figures({
      latency: { p50: 1, p99: 4, max: 6 },
      generatorLoopP99: 80,
    }),
  });
  assert.deepEqual(rows.map((row) => row[2]), ["bare", "ours", "ratio"]);
  assert.equal(rows[2]![6], "2.00x");
  assert.match(rows[2]![13]!, /^FAIL p99 2\.00x<=1\.5x cpu 1\.00x<=1\.5x/);
  assert.match(rows[2]![13]!, /\(generator-limited\)$/);
  assert.match(rows[1]![12]!, /LIMIT$/);
  const lines = formatTable(rows).split("\n");
  assert.equal(lines.length, 4);
  assert.ok(lines[0]!.startsWith(HEADINGS.join("").slice(0, 8)));
  const column = lines[0]!.indexOf("p99 ms") + "p99 ms".length;
  assert.equal(lines[3]!.slice(column - 5, column), "2.00x");
});

Deno.test("turnEvents grows the caller's sentence, then asks", () => {
  assert.equal(transcriptAt("c1", 30).length, 20);
  const events = turnEvents("c1", 3, 3, 2);
  assert.deepEqual(
    events.map((event) => event.interaction_type),
    ["update_only", "update_only", "response_required"],
  );
  const last = (event: Record<string, unknown>) =>
    (event.transcript as { content: string }[]).at(-1)!.content;
  assert.ok(last(events[0]!).length < last(events[1]!).length);
  assert.equal(last(events[2]!), "This is c1, turn 3, asking about my order.");
  assert.equal(events[2]!.response_id, 3);
});

Deno.test("parseArgs reads --quick and --only, and refuses the rest", () => {
  const { plan, only } = parseArgs(["--quick", "--only=S1,S4i"]);
  assert.equal(plan.repeats, 1);
  assert.deepEqual([...only], ["S1", "S4i"]);
  // Issue 10: S1 and S2 at least three times each.
  assert.ok(parseArgs([]).plan.repeats >= 3);
  assert.throws(() => parseArgs(["--only=S9"]), /Cannot run scenario S9/);
  assert.throws(() => parseArgs(["--fast"]), /Cannot read flag "--fast"/);
});

Deno.test("S1 with 5 turns is answered by the bare server and ours", async () => {
  await using bare = await startBareDummy();
  await using ours = await startOurs();
  for (const server of [bare, ours]) {
    const result = await runS1(server, 5, `t${server.name}`);
    assert.deepEqual(result.errors, [], server.name);
    assert.equal(result.answered, 5, server.name);
    assert.equal(result.connected, 1, server.name);
    assert.ok(result.latency.p50 > 0, server.name);
  }
});

Deno.test("S4i on ours: no late frame, every superseded request closed", async () => {
  await using fake = startFakeLlm();
  await using ours = await startOursLlm(fake.baseUrl);
  const result = await runS4(
    ours,
    fake,
    { calls: 2, turns: 1, interrupt: true },
    "t4i",
  );
  assert.deepEqual(result.errors, []);
  assert.equal(result.answered, 2);
  assert.equal(result.lateFrames, 0);
  assert.equal(typeof result.inFlightFrames, "number");
  assert.equal(result.superseded, 2);
  assert.equal(result.supersededClosed, 2);
  assert.ok(result.upstreamP99! > 0);
});

Deno.test("docs/performance.md runs the bench:load task with flags it reads", async () => {
  const docs = await Deno.readTextFile("docs/performance.md");
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  assert.match(
    config.tasks["bench:load"].command,
    / tests\/bench\/load\/load\.ts$/,
  );
  const commands = [...docs.matchAll(/^deno task bench:load(.*)$/gm)];
  assert.ok(commands.length >= 3);
  for (const [, flags] of commands) {
    parseArgs(flags!.trim().split(/\s+/).filter((flag) => flag !== ""));
  }
});
