/**
 * The arithmetic of the load benchmark: percentiles, medians over repeats
 * and the figures of one run of a scenario against one server.
 *
 * @module
 */

/** Nearest-rank percentile (`q` in 0..1) of values; NaN when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Median of the defined, finite values; undefined when there are none. */
export function median(
  values: readonly (number | undefined)[],
): number | undefined {
  const known = values.filter((value): value is number =>
    value !== undefined && Number.isFinite(value)
  );
  return known.length === 0 ? undefined : percentile(known, 0.5);
}

/** p50, p99 and max of a set of latencies, in ms. */
export interface Spread {
  p50: number;
  p99: number;
  max: number;
}

/** The {@linkcode Spread} of latencies (NaN everywhere when empty). */
export function spread(values: readonly number[]): Spread {
  return {
    p50: percentile(values, 0.5),
    p99: percentile(values, 0.99),
    max: percentile(values, 1),
  };
}

/** What one run of a scenario against one server measured. */
export interface RunFigures {
  /** Turns asked, and turns whose reply completed. */
  turns: number;
  answered: number;
  /** Calls attempted and calls that got their begin message. */
  calls: number;
  connected: number;
  /** Errors of the run (failed connects, timeouts, closes, server stderr). */
  errors: string[];
  /** The scenario's main latency: first frame, or token to frame for S4. */
  latency: Spread;
  /** Connect (socket opened to begin message received) p99, ms. */
  connectP99: number;
  /** Request sent to the model request arriving upstream, p99 ms (S4). */
  upstreamP99?: number;
  /**
   * Frames under a superseded id received after a frame of the newer reply
   * (S4i): the server sent them after it had read the newer request.
   */
  lateFrames?: number;
  /**
   * Frames under a superseded id received after the newer request went out
   * but before its reply began (S4i): they may have been on the way.
   */
  inFlightFrames?: number;
  /** Superseded upstream requests, and how many of them were closed (S4i). */
  superseded?: number;
  supersededClosed?: number;
  /** Server CPU time over the measured phase, ms (undefined without procfs). */
  serverCpuMs?: number;
  /** Server resident memory per call, KiB: (at level - idle) / calls. */
  rssPerCallKiB?: number;
  /** Wall time of the measured phase, ms. */
  wallMs: number;
  /** The generator's CPU over the phase (% of one core), loop delay p99 ms. */
  generatorCpuPercent: number;
  generatorLoopP99: number;
}

/**
 * The figures of several repeats folded into one: counts and errors summed,
 * every measured figure the median over the repeats.
 */
export function medianFigures(runs: readonly RunFigures[]): RunFigures {
  const pick = (get: (run: RunFigures) => number | undefined) =>
    median(runs.map(get));
  const sum = (get: (run: RunFigures) => number) =>
    runs.reduce((total, run) => total + get(run), 0);
  const sumKnown = (get: (run: RunFigures) => number | undefined) =>
    runs.some((run) => get(run) !== undefined)
      ? runs.reduce((total, run) => total + (get(run) ?? 0), 0)
      : undefined;
  return {
    turns: sum((run) => run.turns),
    answered: sum((run) => run.answered),
    calls: sum((run) => run.calls),
    connected: sum((run) => run.connected),
    errors: runs.flatMap((run) => run.errors),
    latency: {
      p50: pick((run) => run.latency.p50) ?? NaN,
      p99: pick((run) => run.latency.p99) ?? NaN,
      max: pick((run) => run.latency.max) ?? NaN,
    },
    connectP99: pick((run) => run.connectP99) ?? NaN,
    upstreamP99: pick((run) => run.upstreamP99),
    lateFrames: sumKnown((run) => run.lateFrames),
    inFlightFrames: sumKnown((run) => run.inFlightFrames),
    superseded: sumKnown((run) => run.superseded),
    supersededClosed: sumKnown((run) => run.supersededClosed),
    serverCpuMs: pick((run) => run.serverCpuMs),
    rssPerCallKiB: pick((run) => run.rssPerCallKiB),
    wallMs: pick((run) => run.wallMs) ?? NaN,
    generatorCpuPercent: pick((run) => run.generatorCpuPercent) ?? NaN,
    generatorLoopP99: pick((run) => run.generatorLoopP99) ?? NaN,
  };
}
