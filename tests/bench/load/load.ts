/**
 * `deno task bench:load`: the load benchmark of issue 10. One load generator
 * (this process) plays Retell against two servers in turn, each its own
 * process on 127.0.0.1: a bare baseline (`bare_dummy.ts`, or
 * `../bare_relay.ts` for streaming) and ours (`main.ts`, the `start` task's
 * permissions, call store, metrics and tracing at their defaults). It runs
 * S1, S2, S3, S4 and S4i as the issue defines them, alternating bare and
 * ours within the run (S3 on a fresh, warmed-up process of each per repeat;
 * S1 with the generator and the servers on CPUs of their own where
 * `taskset` exists), and prints one table: both servers, ratios,
 * p50/p99/max, turns answered, errors, server CPU, RSS per call, the
 * generator's own CPU and loop delay, and PASS/FAIL against the targets.
 *
 * Flags: `--quick` (small levels, one repeat: a smoke run),
 * `--only=S1,S3` (pick scenarios; S4i needs no S4). Exits 0 when the run
 * completed (whatever the verdicts), 1 when it broke (a server exited, a
 * scenario could not run, or the 10-minute bound passed).
 *
 * @module
 */
import { startFakeLlm } from "../../_support/llm_server.ts";
import { loadAverages, pinProcess } from "../_process_stats.ts";
import { within } from "./_call.ts";
import {
  runS1,
  runS2,
  runS3,
  runS4,
  type S2Options,
  type S3Options,
  type S4Options,
} from "./_scenarios.ts";
import {
  type BenchServer,
  startBareDummy,
  startBareRelay,
  startOurs,
  startOursLlm,
} from "./_servers.ts";
import { medianFigures, type RunFigures } from "./_stats.ts";
import {
  type Comparison,
  comparisonRows,
  formatTable,
  GENERATOR_CPU_LIMIT_PERCENT,
  GENERATOR_LOOP_LIMIT_MS,
} from "./_table.ts";

/** The scenarios, by name. */
const SCENARIOS = ["S1", "S2", "S3", "S4", "S4i"] as const;
type Scenario = typeof SCENARIOS[number];

/** The sizes of one run. */
interface Plan {
  /** Repeats of S1, S2 and S4 (the medians are reported). */
  repeats: number;
  /** Repeats of S3's ramp, each on fresh processes. */
  s3Repeats: number;
  s1Turns: number;
  s2: S2Options;
  /** Back-to-back turns of one call that warm each server up. */
  warmUpTurns: number;
  /** Calls with update_only frames that warm each server up. */
  warmUpS2: S2Options;
  s3: S3Options;
  s4: Omit<S4Options, "interrupt">;
  /** Streaming calls that warm each server up before S4. */
  warmUpS4: Omit<S4Options, "interrupt">;
}

const FULL: Plan = {
  repeats: 7,
  s3Repeats: 3,
  s1Turns: 200,
  s2: { calls: 200, turns: 20, thinkMs: 50, updates: 2 },
  warmUpTurns: 3000,
  warmUpS2: { calls: 100, turns: 10, thinkMs: 10, updates: 2 },
  s3: { levels: [2000, 5000, 10_000], turnsPerLevel: 5, periodMs: 2000 },
  s4: { calls: 50, turns: 6 },
  warmUpS4: { calls: 50, turns: 2 },
};

const QUICK: Plan = {
  repeats: 1,
  s3Repeats: 1,
  s1Turns: 50,
  s2: { calls: 20, turns: 5, thinkMs: 50, updates: 2 },
  warmUpTurns: 20,
  warmUpS2: { calls: 5, turns: 2, thinkMs: 10, updates: 2 },
  s3: { levels: [100, 300], turnsPerLevel: 1, periodMs: 2000 },
  s4: { calls: 5, turns: 2 },
  warmUpS4: { calls: 2, turns: 1 },
};

/** The whole run's bound. */
const RUN_TIMEOUT_MS = 10 * 60_000;
const USAGE = "Usage: deno task bench:load [--quick] [--only=S1,S2,S3,S4,S4i]";

function print(line = ""): void {
  // deno-lint-ignore no-console -- a benchmark prints its figures
  console.log(line);
}

/** Reads the flags; throws on anything else. */
export function parseArgs(
  args: readonly string[],
): { plan: Plan; only: Set<Scenario> } {
  let plan = FULL;
  let only = new Set<Scenario>(SCENARIOS);
  for (const arg of args) {
    if (arg === "--quick") {
      plan = QUICK;
      continue;
    }
    const match = /^--only=(.+)$/.exec(arg);
    if (!match) {
      throw new Error(`Cannot read flag ${JSON.stringify(arg)}\n${USAGE}`);
    }
    const names = match[1]!.split(",");
    const unknown = names.filter((name) =>
      !(SCENARIOS as readonly string[]).includes(name)
    );
    if (unknown.length > 0) {
      throw new Error(`Cannot run scenario ${unknown.join(", ")}\n${USAGE}`);
    }
    only = new Set(names as Scenario[]);
  }
  return { plan, only };
}

/** Runs `run` for bare then ours, `repeats` times, and folds the medians. */
async function alternate(
  bare: BenchServer,
  ours: BenchServer,
  repeats: number,
  run: (server: BenchServer, label: string) => Promise<RunFigures>,
): Promise<{ bare: RunFigures; ours: RunFigures }> {
  const runs = { bare: [] as RunFigures[], ours: [] as RunFigures[] };
  for (let r = 1; r <= repeats; r++) {
    for (const server of [bare, ours]) {
      runs[server.name].push(await run(server, `${server.name}${r}`));
    }
  }
  return { bare: medianFigures(runs.bare), ours: medianFigures(runs.ours) };
}

/**
 * Brings a server to its steady state before anything is measured: the JIT
 * compiles the turn's path after some thousands of runs, and ours has more
 * code on it than the bare loop, so a cold start would measure V8's tiers
 * rather than the server.
 */
async function warmUp(server: BenchServer, plan: Plan): Promise<void> {
  await runS1(server, plan.warmUpTurns, `warm${server.name}`);
  await runS2(server, plan.warmUpS2, `warm2${server.name}`);
}

/** Puts this process on CPU 0 and the servers on CPU 1; false if it could not. */
async function pinForS1(servers: readonly BenchServer[]): Promise<boolean> {
  if (navigator.hardwareConcurrency < 2) return false;
  if (!await pinProcess(Deno.pid, "0")) return false;
  for (const server of servers) {
    if (!await pinProcess(server.pid, "1")) {
      await unpin(servers);
      return false;
    }
  }
  return true;
}

/** Lets this process and the servers run on every CPU again. */
async function unpin(servers: readonly BenchServer[]): Promise<void> {
  const all = `0-${navigator.hardwareConcurrency - 1}`;
  for (const pid of [Deno.pid, ...servers.map((server) => server.pid)]) {
    await pinProcess(pid, all);
  }
}

async function runPlan(
  plan: Plan,
  only: Set<Scenario>,
): Promise<Comparison[]> {
  const comparisons: Comparison[] = [];
  const progress = (what: string) =>
    print(`${new Date().toISOString().slice(11, 19)} ${what}`);
  if (only.has("S1") || only.has("S2")) {
    await using bare = await startBareDummy();
    await using ours = await startOurs();
    progress("warm-up");
    for (const server of [bare, ours]) await warmUp(server, plan);
    if (only.has("S1")) {
      // One request at a time: S1's tenths of a millisecond hang on whether
      // the OS runs the server on the generator's core or wakes the other
      // one, which it decides anew for each process. On cores of their own
      // both servers are woken the same way.
      const pinned = await pinForS1([bare, ours]);
      progress(
        `S1: 1 call x ${plan.s1Turns} turns, ${plan.repeats} repeat(s), ${
          pinned
            ? "generator on CPU 0, servers on CPU 1"
            : "not pinned (no taskset, or one core)"
        }`,
      );
      const s1 = await alternate(
        bare,
        ours,
        plan.repeats,
        (server, label) => runS1(server, plan.s1Turns, `s1${label}`),
      );
      if (pinned) await unpin([bare, ours]);
      comparisons.push({
        scenario: "S1",
        kind: "S1",
        metric: "first frame",
        ...s1,
      });
    }
    if (only.has("S2")) {
      const { calls, turns } = plan.s2;
      progress(
        `S2: ${calls} calls x ${turns} turns, ${plan.repeats} repeat(s)`,
      );
      const s2 = await alternate(
        bare,
        ours,
        plan.repeats,
        (server, label) => runS2(server, plan.s2, `s2${label}`),
      );
      comparisons.push({
        scenario: "S2",
        kind: "S2",
        metric: "first frame",
        ...s2,
      });
    }
  }
  if (only.has("S3")) {
    // Each repeat ramps a fresh process of each server, warmed up just
    // before its ramp (no idle minute in between), the order alternating:
    // the first level counts what the heap grows by as calls arrive.
    const runs = { bare: [] as RunFigures[][], ours: [] as RunFigures[][] };
    for (let r = 1; r <= plan.s3Repeats; r++) {
      const order = r % 2 === 1
        ? ["bare", "ours"] as const
        : ["ours", "bare"] as const;
      for (const name of order) {
        progress(
          `S3: ramp to ${
            plan.s3.levels.join(", ")
          } calls, ${name}, repeat ${r} of ${plan.s3Repeats}`,
        );
        await using server =
          await (name === "bare" ? startBareDummy() : startOurs());
        await warmUp(server, plan);
        runs[name].push(await runS3(server, plan.s3, `s3${name}${r}`));
      }
    }
    plan.s3.levels.forEach((level, i) =>
      comparisons.push({
        scenario: `S3 ${level}`,
        kind: "S3",
        metric: "first frame",
        bare: medianFigures(runs.bare.map((levels) => levels[i]!)),
        ours: medianFigures(runs.ours.map((levels) => levels[i]!)),
      })
    );
  }
  if (only.has("S4") || only.has("S4i")) {
    await using fake = startFakeLlm();
    await using bare = await startBareRelay(fake.baseUrl);
    await using ours = await startOursLlm(fake.baseUrl);
    const options = { ...plan.s4, interrupt: false };
    progress("warm-up (streaming)");
    for (const server of [bare, ours]) {
      await runS4(
        server,
        fake,
        { ...plan.warmUpS4, interrupt: false },
        `warm4${server.name}`,
      );
    }
    if (only.has("S4")) {
      progress(
        `S4: ${options.calls} calls x ${options.turns} turns, ${plan.repeats} repeat(s)`,
      );
      const s4 = await alternate(
        bare,
        ours,
        plan.repeats,
        (server, label) => runS4(server, fake, options, `s4${label}`),
      );
      comparisons.push({
        scenario: "S4",
        kind: "S4",
        metric: "token to frame",
        ...s4,
      });
    }
    if (only.has("S4i")) {
      progress(`S4i: ${options.calls} calls x ${options.turns} turns, ours`);
      comparisons.push({
        scenario: "S4i",
        kind: "S4i",
        metric: "token to frame",
        ours: await runS4(ours, fake, { ...options, interrupt: true }, "s4i"),
      });
    }
  }
  return comparisons;
}

async function main(): Promise<number> {
  const { plan, only } = parseArgs(Deno.args);
  print("Load benchmark (issue 10): bare baseline vs this server, on loopback");
  print(
    `deno ${Deno.version.deno}, v8 ${Deno.version.v8}, ${Deno.build.os}/${Deno.build.arch}, ` +
      `${navigator.hardwareConcurrency} cores; one generator process; ` +
      `scenarios ${[...only].join(",")}${plan === QUICK ? " (--quick)" : ""}`,
  );
  const loadBefore = await loadAverages();
  const started = performance.now();
  const comparisons = await within(
    runPlan(plan, only),
    RUN_TIMEOUT_MS,
    `Cannot finish the run: it took longer than ${
      RUN_TIMEOUT_MS / 60_000
    } minutes`,
  );
  print();
  print(formatTable(comparisons.flatMap(comparisonRows)));
  print();
  print(
    "latency in ms; S1-S3: response_required sent to first frame; S4/S4i: model " +
      "writes a token to the frame carrying it; conn: socket to begin message; " +
      "up: response_required to the model request arriving; CPU: server CPU " +
      "seconds over the measured phase; RSS/call: RSS added since the level before / calls added (the first level: since a tenth of it, warmed up); " +
      "ratio: ours / bare of the medians over repeats; generator: its CPU (% of " +
      `a core) / loop delay p99, LIMIT above ${GENERATOR_CPU_LIMIT_PERCENT}% or ` +
      `${GENERATOR_LOOP_LIMIT_MS} ms`,
  );
  let broken = false;
  for (const comparison of comparisons) {
    for (
      const [name, figures] of [["bare", comparison.bare], [
        "ours",
        comparison.ours,
      ]] as const
    ) {
      if (!figures || figures.errors.length === 0) continue;
      print(
        `${comparison.scenario} ${name}: ${figures.errors.length} error(s), e.g.`,
      );
      for (const error of figures.errors.slice(0, 3)) print(`  ${error}`);
      if (figures.errors.some((error) => error.endsWith(" exited"))) {
        broken = true;
      }
    }
  }
  print(
    `run took ${((performance.now() - started) / 1000).toFixed(0)} s; ` +
      `machine load average (1, 5, 15 min) ${loadBefore ?? "-"} before, ${
        (await loadAverages()) ?? "-"
      } after`,
  );
  return broken ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main();
  } catch (error) {
    // deno-lint-ignore no-console -- the benchmark's own failure
    console.error(
      `bench:load failed: ${error instanceof Error ? error.stack : error}`,
    );
    Deno.exitCode = 1;
  }
}
