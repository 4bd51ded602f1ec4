/**
 * The load benchmark's verdicts and its one table: the targets of issue 10
 * checked against the figures of the bare baseline and of our server, and
 * the rows that print both with their ratios.
 *
 * @module
 */
import type { RunFigures } from "./_stats.ts";

/** One scenario's figures for both servers. */
export interface Comparison {
  /** Scenario label, e.g. `S1` or `S3 5000`. */
  scenario: string;
  /** The kind of targets that apply: the scenario without its level. */
  kind: "S1" | "S2" | "S3" | "S4" | "S4i";
  /** What the latency columns measure, e.g. `first frame`. */
  metric: string;
  /** The baseline's figures (absent for S4i: the bare relay never cancels). */
  bare?: RunFigures;
  ours: RunFigures;
}

/** One target and whether it held. */
export interface Check {
  /** What is compared, e.g. `p99 1.31x <= 1.5x`. */
  label: string;
  pass: boolean;
}

/** The generator's loop delay p99 (ms) above which it may be the limit. */
export const GENERATOR_LOOP_LIMIT_MS = 50;
/** The generator's CPU (% of one core) above which it may be the limit. */
export const GENERATOR_CPU_LIMIT_PERCENT = 85;

/** Whether the load generator, not the server, may have set the pace. */
export function generatorLimited(figures: RunFigures): boolean {
  return figures.generatorLoopP99 > GENERATOR_LOOP_LIMIT_MS ||
    figures.generatorCpuPercent > GENERATOR_CPU_LIMIT_PERCENT;
}

function ratio(ours: number | undefined, bare: number | undefined): number {
  return ours === undefined || bare === undefined ? NaN : ours / bare;
}

function ratioCheck(
  name: string,
  ours: number | undefined,
  bare: number | undefined,
  limit: number,
): Check {
  const value = ratio(ours, bare);
  return {
    label: `${name} ${
      Number.isFinite(value) ? value.toFixed(2) : "n/a"
    }x<=${limit}x`,
    pass: Number.isFinite(value) && value <= limit,
  };
}

/** Every call connected, every turn answered, no errors. */
function completeCheck(figures: RunFigures): Check {
  const pass = figures.connected === figures.calls &&
    figures.answered === figures.turns && figures.errors.length === 0;
  return { label: pass ? "all answered" : "NOT all answered", pass };
}

/** The targets of issue 10 for one comparison (ratios of medians). */
export function checkTargets(comparison: Comparison): Check[] {
  const { bare, ours } = comparison;
  const cpu = (figures?: RunFigures) => figures?.serverCpuMs;
  switch (comparison.kind) {
    case "S1":
      return [ratioCheck("p50", ours.latency.p50, bare?.latency.p50, 1.25)];
    case "S2":
      return [
        ratioCheck("p99", ours.latency.p99, bare?.latency.p99, 1.5),
        ratioCheck("cpu", cpu(ours), cpu(bare), 1.5),
      ];
    case "S3":
      return [
        completeCheck(ours),
        ratioCheck("p99", ours.latency.p99, bare?.latency.p99, 1.5),
        ratioCheck("conn", ours.connectP99, bare?.connectP99, 1.5),
        ratioCheck("cpu", cpu(ours), cpu(bare), 1.5),
        ratioCheck("rss", ours.rssPerCallKiB, bare?.rssPerCallKiB, 1.3),
      ];
    case "S4":
      return [
        ratioCheck("p99", ours.latency.p99, bare?.latency.p99, 1.2),
        ratioCheck("upstream", ours.upstreamP99, bare?.upstreamP99, 1.5),
      ];
    case "S4i": {
      const closed = ours.superseded === undefined || ours.superseded === 0
        ? NaN
        : (ours.supersededClosed ?? 0) / ours.superseded;
      return [
        {
          label: `late ${ours.lateFrames ?? "n/a"}==0 (in flight ${
            ours.inFlightFrames ?? "n/a"
          })`,
          pass: ours.lateFrames === 0,
        },
        {
          label: `closed ${
            Number.isFinite(closed) ? (closed * 100).toFixed(0) : "n/a"
          }%==100%`,
          pass: closed === 1,
        },
      ];
    }
  }
}

/** The table's column headings. */
export const HEADINGS = [
  "scenario",
  "metric",
  "server",
  "answered",
  "err",
  "p50 ms",
  "p99 ms",
  "max ms",
  "conn p99",
  "up p99",
  "CPU s",
  "RSS/call",
  "generator",
  "verdict",
] as const;

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value)
    ? "-"
    : value.toFixed(digits);
}

function times(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : "-";
}

function serverRow(
  comparison: Comparison,
  server: string,
  figures: RunFigures,
): string[] {
  const generator = `${fixed(figures.generatorCpuPercent, 0)}%/${
    fixed(figures.generatorLoopP99, 0)
  }ms`;
  return [
    comparison.scenario,
    comparison.metric,
    server,
    `${figures.answered}/${figures.turns}`,
    String(figures.errors.length),
    fixed(figures.latency.p50, 2),
    fixed(figures.latency.p99, 2),
    fixed(figures.latency.max, 1),
    fixed(figures.connectP99, 1),
    fixed(figures.upstreamP99, 2),
    fixed(
      figures.serverCpuMs === undefined
        ? undefined
        : figures.serverCpuMs / 1000,
      2,
    ),
    figures.rssPerCallKiB === undefined
      ? "-"
      : `${figures.rssPerCallKiB.toFixed(1)}K`,
    generatorLimited(figures) ? `${generator} LIMIT` : generator,
    "",
  ];
}

/** The rows of one comparison: bare, ours, and the ratios with the verdict. */
export function comparisonRows(comparison: Comparison): string[][] {
  const { bare, ours } = comparison;
  const rows: string[][] = [];
  if (bare) rows.push(serverRow(comparison, "bare", bare));
  rows.push(serverRow(comparison, "ours", ours));
  const checks = checkTargets(comparison);
  const failed = checks.filter((check) => !check.pass);
  const limited = [bare, ours].some((figures) =>
    figures !== undefined && generatorLimited(figures)
  );
  const verdict = `${failed.length === 0 ? "PASS" : "FAIL"} ${
    checks.map((check) => check.label).join(" ")
  }${limited ? " (generator-limited)" : ""}`;
  const r = (get: (figures: RunFigures) => number | undefined) =>
    times(bare ? ratio(get(ours), get(bare)) : NaN);
  rows.push([
    comparison.scenario,
    comparison.metric,
    "ratio",
    "",
    "",
    r((f) => f.latency.p50),
    r((f) => f.latency.p99),
    r((f) => f.latency.max),
    r((f) => f.connectP99),
    r((f) => f.upstreamP99),
    r((f) => f.serverCpuMs),
    r((f) => f.rssPerCallKiB),
    "",
    verdict,
  ]);
  return rows;
}

/** Lays rows out under the headings, text left, figures right. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const all = [[...HEADINGS], ...rows];
  const widths = HEADINGS.map((_, column) =>
    Math.max(...all.map((row) => (row[column] ?? "").length))
  );
  const left = new Set([0, 1, 2, HEADINGS.length - 1]);
  return all.map((row) =>
    row.map((cell, column) =>
      left.has(column)
        ? cell.padEnd(widths[column]!)
        : cell.padStart(widths[column]!)
    ).join("  ").trimEnd()
  ).join("\n");
}
