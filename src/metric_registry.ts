/**
 * A small Prometheus registry: counters, gauges and histograms rendered in
 * the text exposition format (version 0.0.4).
 *
 * A metric's labels are declared with every value they can take, so each
 * series exists (at zero) from the first scrape: `rate()` and `increase()`
 * then see the first event, and a typo in a label value is a type error.
 * Updates run on the call path and never throw: an update whose value is
 * not a number (or is NaN) is ignored, and one that breaks the types anyway
 * still counts, under the label values it gave (empty when missing).
 *
 * @module
 */
/** The `Content-Type` of {@linkcode MetricRegistry.render}'s text. */
export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/** Every value of each label, by label name, in the order they render. */
export type LabelDomain = { readonly [name: string]: readonly string[] };

/** One value for each label of a metric, by label name. */
export type Labels = { readonly [name: string]: string };

/** The label values a {@linkcode LabelDomain} allows. */
export type LabelsOf<D extends LabelDomain> = {
  readonly [K in keyof D]: D[K][number];
};

/**
 * Arguments of an update: the label values first when the metric has
 * labels, then `Rest`.
 */
export type UpdateArgs<L extends Labels, Rest extends unknown[]> =
  [keyof L] extends [never] ? Rest : [labels: L, ...Rest];

/** A count that only goes up, rendered as type `counter`. */
export interface Counter<L extends Labels = Record<never, never>> {
  /** Adds `value` (default 1); a negative or NaN value is ignored. */
  inc(...args: UpdateArgs<L, [value?: number]>): void;
}

/** A value that goes up and down, rendered as type `gauge`. */
export interface Gauge<L extends Labels = Record<never, never>> {
  /** Sets the value; NaN is ignored, as by every gauge update. */
  set(...args: UpdateArgs<L, [value: number]>): void;
  /** Adds `value` (default 1). */
  inc(...args: UpdateArgs<L, [value?: number]>): void;
  /** Subtracts `value` (default 1). */
  dec(...args: UpdateArgs<L, [value?: number]>): void;
}

/** Observations counted in buckets, rendered as type `histogram`. */
export interface Histogram<L extends Labels = Record<never, never>> {
  /** Records one observation; NaN is ignored so it cannot spoil `_sum`. */
  observe(...args: UpdateArgs<L, [value: number]>): void;
}

/** What a metric is called and what it means. */
export interface MetricDefinition<D extends LabelDomain> {
  /** Metric name, matching `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  name: string;
  /** One line for `# HELP`. */
  help: string;
  /**
   * Label names and every value each can take; all combinations render
   * from the start.
   *
   * @default {{}}
   */
  labels?: D;
}

/** A histogram's definition: a metric plus its bucket bounds. */
export interface HistogramDefinition<D extends LabelDomain>
  extends MetricDefinition<D> {
  /** Upper bounds, finite and increasing; `+Inf` is added. */
  buckets: readonly number[];
}

/** Metrics registered together and rendered in registration order. */
export interface MetricRegistry {
  /**
   * Registers a counter.
   *
   * @throws {TypeError} When the name or a label name is invalid or taken.
   */
  counter<const D extends LabelDomain = Record<never, never>>(
    definition: MetricDefinition<D>,
  ): Counter<LabelsOf<D>>;
  /**
   * Registers a gauge.
   *
   * @throws {TypeError} When the name or a label name is invalid or taken.
   */
  gauge<const D extends LabelDomain = Record<never, never>>(
    definition: MetricDefinition<D>,
  ): Gauge<LabelsOf<D>>;
  /**
   * Registers a histogram.
   *
   * @throws {TypeError} When the name or a label name is invalid or taken,
   * `le` included.
   * @throws {RangeError} When the buckets are empty, not finite or not
   * increasing.
   */
  histogram<const D extends LabelDomain = Record<never, never>>(
    definition: HistogramDefinition<D>,
  ): Histogram<LabelsOf<D>>;
  /**
   * Renders every metric: metrics in registration order, series in the
   * order of their declared label values (then of first use).
   */
  render(): string;
}

const METRIC_NAME_REGEXP = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_REGEXP = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL_ESCAPE_REGEXP = /[\\"\n]/g;

type MetricType = "counter" | "gauge" | "histogram";

/** One label combination's numbers. */
interface Series {
  /** Rendered label pairs without braces, `kind="x",outcome="y"`. */
  readonly labels: string;
  /** Counter or gauge value; histogram sum. */
  value: number;
  /** Histogram only: observations per bucket, `+Inf` last, not cumulative. */
  readonly buckets: Float64Array | undefined;
}

interface Family {
  readonly header: string;
  readonly name: string;
  readonly type: MetricType;
  /** Histogram only: finite upper bounds, rendered. */
  readonly bounds: readonly number[];
  readonly series: Map<string, Series>;
}

/**
 * Creates an empty metric registry.
 *
 * @returns The registry, to register metrics with and render them.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMetricRegistry } from "./metric_registry.ts";
 *
 * const registry = createMetricRegistry();
 * const turns = registry.counter({
 *   name: "turns_total",
 *   help: "Turns answered.",
 *   labels: { kind: ["response", "reminder"] },
 * });
 * turns.inc({ kind: "reminder" });
 * assert.equal(
 *   registry.render(),
 *   [
 *     "# HELP turns_total Turns answered.",
 *     "# TYPE turns_total counter",
 *     'turns_total{kind="response"} 0',
 *     'turns_total{kind="reminder"} 1',
 *     "",
 *   ].join("\n"),
 * );
 * ```
 */
export function createMetricRegistry(): MetricRegistry {
  const families: Family[] = [];

  /**
   * Adds a family; returns how an update finds its series, and where in the
   * update's arguments the value is (after the labels, if any).
   */
  function register(
    type: MetricType,
    definition: MetricDefinition<LabelDomain>,
    bounds: readonly number[],
  ): [seriesOf: (first: unknown) => Series, at: 0 | 1] {
    const { name, help } = definition;
    const domain = definition.labels ?? {};
    const labelNames = Object.keys(domain);
    const quoted = JSON.stringify(name);
    if (!METRIC_NAME_REGEXP.test(name)) {
      throw new TypeError(
        `Cannot register metric ${quoted}: the name must match [a-zA-Z_:][a-zA-Z0-9_:]*`,
      );
    }
    if (families.some((family) => family.name === name)) {
      throw new TypeError(
        `Cannot register metric ${quoted}: the name is taken`,
      );
    }
    for (const label of labelNames) {
      if (
        !LABEL_NAME_REGEXP.test(label) || label.startsWith("__") ||
        (type === "histogram" && label === "le")
      ) {
        throw new TypeError(
          `Cannot register metric ${quoted}: label name ${
            JSON.stringify(label)
          } is invalid or reserved`,
        );
      }
    }
    const family: Family = {
      header: `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`,
      name,
      type,
      bounds,
      series: new Map(),
    };
    families.push(family);

    /** Makes the series of `labels`, keyed by its rendered label pairs. */
    function createSeries(labels: Labels): Series {
      let key = "";
      for (let index = 0; index < labelNames.length; index++) {
        const label = labelNames[index]!;
        const value = escapeLabel(String(labels[label] ?? ""));
        key += `${index === 0 ? "" : ","}${label}="${value}"`;
      }
      const series: Series = {
        labels: key,
        value: 0,
        buckets: type === "histogram"
          ? new Float64Array(bounds.length + 1)
          : undefined,
      };
      family.series.set(key, series);
      return series;
    }

    // The series by label value, one map level per label, so an update
    // builds and escapes no key string.
    const byValue = new Map<string, unknown>();

    function seriesOf(labels: Labels): Series {
      let level = byValue;
      const last = labelNames.length - 1;
      for (let index = 0; index < last; index++) {
        const value = String(labels[labelNames[index]!] ?? "");
        let next = level.get(value) as Map<string, unknown> | undefined;
        if (next === undefined) {
          next = new Map();
          level.set(value, next);
        }
        level = next;
      }
      const value = String(labels[labelNames[last]!] ?? "");
      let series = level.get(value) as Series | undefined;
      if (series === undefined) {
        series = createSeries(labels);
        level.set(value, series);
      }
      return series;
    }

    if (labelNames.length === 0) {
      const only = createSeries({});
      return [() => only, 0];
    }
    for (const labels of combinations(labelNames, domain)) seriesOf(labels);
    return [(first) => seriesOf((first ?? {}) as Labels), 1];
  }

  function counter(
    definition: MetricDefinition<LabelDomain>,
  ): Counter<Labels> {
    const [seriesOf, at] = register("counter", definition, []);
    return {
      inc(first?: unknown, second?: unknown): void {
        const value = numberOf(at === 0 ? first : second, 1);
        if (value >= 0) seriesOf(first).value += value;
      },
    } as Counter<Labels>;
  }

  function gauge(definition: MetricDefinition<LabelDomain>): Gauge<Labels> {
    const [seriesOf, at] = register("gauge", definition, []);
    return {
      set(first?: unknown, second?: unknown): void {
        const value = numberOf(at === 0 ? first : second, Number.NaN);
        if (!Number.isNaN(value)) seriesOf(first).value = value;
      },
      inc(first?: unknown, second?: unknown): void {
        const value = numberOf(at === 0 ? first : second, 1);
        if (!Number.isNaN(value)) seriesOf(first).value += value;
      },
      dec(first?: unknown, second?: unknown): void {
        const value = numberOf(at === 0 ? first : second, 1);
        if (!Number.isNaN(value)) seriesOf(first).value -= value;
      },
    } as Gauge<Labels>;
  }

  function histogram(
    definition: HistogramDefinition<LabelDomain>,
  ): Histogram<Labels> {
    const bounds = [...definition.buckets];
    const increasing = bounds.every((bound, index) =>
      Number.isFinite(bound) && (index === 0 || bound > bounds[index - 1]!)
    );
    if (bounds.length === 0 || !increasing) {
      throw new RangeError(
        `Cannot register histogram ${
          JSON.stringify(definition.name)
        }: buckets must be finite and increasing, at least one`,
      );
    }
    const [seriesOf, at] = register("histogram", definition, bounds);
    return {
      observe(first?: unknown, second?: unknown): void {
        const value = numberOf(at === 0 ? first : second, Number.NaN);
        if (Number.isNaN(value)) return;
        let bucket = 0;
        while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
        const series = seriesOf(first);
        series.buckets![bucket]!++;
        series.value += value;
      },
    } as Histogram<Labels>;
  }

  function render(): string {
    let text = "";
    for (const family of families) {
      text += family.header;
      for (const series of family.series.values()) {
        text += family.type === "histogram"
          ? renderHistogram(family, series)
          : `${family.name}${braced(series.labels)} ${
            formatNumber(series.value)
          }\n`;
      }
    }
    return text;
  }

  return {
    counter: counter as MetricRegistry["counter"],
    gauge: gauge as MetricRegistry["gauge"],
    histogram: histogram as MetricRegistry["histogram"],
    render,
  };
}

/** An update's value, `fallback` when absent, NaN when not a number. */
/**
 * The number an update was given, `fallback` when none. Updates take their
 * (labels, value) as two plain parameters, not a rest array: they run
 * several times a turn, and a rest array is an allocation each time.
 */
function numberOf(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  return typeof value === "number" ? value : Number.NaN;
}

function renderHistogram(family: Family, series: Series): string {
  const { name, bounds } = family;
  const prefix = series.labels === "" ? "" : `${series.labels},`;
  let text = "";
  let cumulative = 0;
  for (let bucket = 0; bucket <= bounds.length; bucket++) {
    cumulative += series.buckets![bucket]!;
    const bound = bucket < bounds.length ? bounds[bucket]! : Infinity;
    text += `${name}_bucket{${prefix}le="${formatNumber(bound)}"} ${
      formatNumber(cumulative)
    }\n`;
  }
  const labels = braced(series.labels);
  return `${text}${name}_sum${labels} ${formatNumber(series.value)}\n` +
    `${name}_count${labels} ${formatNumber(cumulative)}\n`;
}

/**
 * Every combination of the declared label values, first label slowest; one
 * empty combination when there are no labels.
 */
function combinations(
  labelNames: readonly string[],
  domain: LabelDomain,
): Labels[] {
  let result: Labels[] = [{}];
  for (const label of labelNames) {
    const next: Labels[] = [];
    for (const partial of result) {
      for (const value of domain[label]!) {
        next.push({ ...partial, [label]: value });
      }
    }
    result = next;
  }
  return result;
}

function braced(labels: string): string {
  return labels === "" ? "" : `{${labels}}`;
}

/** `# HELP` text escapes backslash and newline. */
function escapeHelp(help: string): string {
  return help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** Label values escape backslash, double quote and newline. */
function escapeLabel(value: string): string {
  return value.replace(
    LABEL_ESCAPE_REGEXP,
    (char) => char === "\n" ? "\\n" : `\\${char}`,
  );
}

function formatNumber(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
