/**
 * Prometheus metrics: a small registry of counters, gauges and histograms
 * rendered in the text exposition format (version 0.0.4), this server's
 * metric set, and the access rule for the `/metrics` route.
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
import { createClientAddressResolver } from "./client_address.ts";
import { createIpAllowlist } from "./ip_allowlist.ts";
import type {
  InboundFailureKind,
  ReminderRequiredRequest,
  ResponseRequiredRequest,
} from "./protocol/inbound.ts";
import type { ModelErrorKind } from "./responder.ts";

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
 * import { createMetricRegistry } from "./metrics.ts";
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
  ): [seriesOf: (args: readonly unknown[]) => Series, at: 0 | 1] {
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

    function seriesOf(labels: Labels): Series {
      let key = "";
      for (let index = 0; index < labelNames.length; index++) {
        const label = labelNames[index]!;
        const value = escapeLabel(String(labels[label] ?? ""));
        key += `${index === 0 ? "" : ","}${label}="${value}"`;
      }
      let series = family.series.get(key);
      if (series === undefined) {
        series = {
          labels: key,
          value: 0,
          buckets: type === "histogram"
            ? new Float64Array(bounds.length + 1)
            : undefined,
        };
        family.series.set(key, series);
      }
      return series;
    }

    for (const labels of combinations(labelNames, domain)) seriesOf(labels);
    if (labelNames.length === 0) {
      const only = seriesOf({});
      return [() => only, 0];
    }
    return [(args) => seriesOf((args[0] ?? {}) as Labels), 1];
  }

  function counter(
    definition: MetricDefinition<LabelDomain>,
  ): Counter<Labels> {
    const [seriesOf, at] = register("counter", definition, []);
    return {
      inc(...args: unknown[]): void {
        const value = numberAt(args, at, 1);
        if (value >= 0) seriesOf(args).value += value;
      },
    } as Counter<Labels>;
  }

  function gauge(definition: MetricDefinition<LabelDomain>): Gauge<Labels> {
    const [seriesOf, at] = register("gauge", definition, []);
    return {
      set(...args: unknown[]): void {
        const value = numberAt(args, at, Number.NaN);
        if (!Number.isNaN(value)) seriesOf(args).value = value;
      },
      inc(...args: unknown[]): void {
        const value = numberAt(args, at, 1);
        if (!Number.isNaN(value)) seriesOf(args).value += value;
      },
      dec(...args: unknown[]): void {
        const value = numberAt(args, at, 1);
        if (!Number.isNaN(value)) seriesOf(args).value -= value;
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
      observe(...args: unknown[]): void {
        const value = numberAt(args, at, Number.NaN);
        if (Number.isNaN(value)) return;
        let bucket = 0;
        while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
        const series = seriesOf(args);
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
function numberAt(
  args: readonly unknown[],
  at: number,
  fallback: number,
): number {
  const value = args[at];
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

/**
 * What a turn answers: `begin` is the begin message (response 0), the
 * others are the requests of the same `interaction_type`.
 */
export type TurnKind =
  | "begin"
  | ResponseRequiredRequest["interaction_type"]
  | ReminderRequiredRequest["interaction_type"];

/** How a turn ended. */
export type TurnOutcome =
  /** The reply was sent to the end. */
  | "completed"
  /** A newer `response_id` arrived first. */
  | "superseded"
  /** The responder failed; the fallback text was sent. */
  | "failed"
  /** The responder went silent past its timeout; the fallback text was sent. */
  | "timed_out"
  /** The socket closed first. */
  | "closed";

/**
 * How a call's socket closed, by close code class (PROTOCOL.md §5.8). The
 * server never closes a call's socket, so Retell chose the code.
 */
export type CallEndReason =
  /** A clean close, 1000 or without a code (1005): the call is over. */
  | "normal"
  /** No close frame (1006): the connection dropped and Retell reconnects. */
  | "dropped"
  /** Any other code, which Retell uses for an error. */
  | "error";

/**
 * Why an inbound frame was rejected: the protocol module's reasons, and
 * `binary` for a binary frame, which the protocol never uses.
 */
export type FrameRejectKind = InboundFailureKind | "binary";

/** Why a connection was refused before it became a call. */
export type RefusalReason =
  /** The caller's address is not allowed (403). */
  | "address"
  /** The server is stopping (503). */
  | "draining"
  /** The WebSocket handshake is invalid (400). */
  | "handshake";

/** This server's metrics, each to be told what happened. */
export interface ServerMetrics {
  /** `retell_live_calls`: calls whose socket is open. */
  liveCalls: Gauge;
  /** `retell_calls_ended_total{reason}`: calls ended, by how. */
  callsEnded: Counter<{ reason: CallEndReason }>;
  /** `retell_reconnected_calls_total`: connections for a call id seen before. */
  reconnectedCalls: Counter;
  /** `retell_turns_total{kind,outcome}`: turns finished, by request and outcome. */
  turns: Counter<{ kind: TurnKind; outcome: TurnOutcome }>;
  /** `retell_superseded_responses_total`: replies cut off by a newer `response_id`. */
  supersededResponses: Counter;
  /** `retell_turn_first_frame_seconds{kind}`: request to first response frame. */
  firstFrameSeconds: Histogram<{ kind: TurnKind }>;
  /** `retell_turn_complete_seconds{kind}`: request to the `content_complete` frame. */
  completeSeconds: Histogram<{ kind: TurnKind }>;
  /**
   * `retell_model_first_token_seconds`: request to the model's first token,
   * for responders that mark `first_token` (the LLM responder does).
   */
  firstTokenSeconds: Histogram;
  /** `retell_model_errors_total{kind}`: failed model requests, by kind. */
  modelErrors: Counter<{ kind: ModelErrorKind }>;
  /** `retell_frames_rejected_total{kind}`: inbound frames rejected, by kind. */
  framesRejected: Counter<{ kind: FrameRejectKind }>;
  /** `retell_connections_refused_total{reason}`: connections refused, by reason. */
  connectionsRefused: Counter<{ reason: RefusalReason }>;
  /** `retell_call_store_errors_total`: call store operations that failed. */
  storeErrors: Counter;
  /** `retell_call_store_degraded`: 1 while the call store is failing, else 0. */
  storeDegraded: Gauge;
  /** `retell_turn_stalls_total`: turns whose responder went silent past the watchdog. */
  turnStalls: Counter;
  /** Renders every metric for `GET /metrics`. */
  render(): string;
}

/** Every member of a string union, from a record naming each exactly once. */
function allOf<T extends string>(members: Record<T, true>): T[] {
  return Object.keys(members) as T[];
}

const TURN_KINDS = allOf<TurnKind>({
  begin: true,
  response_required: true,
  reminder_required: true,
});

/** Voice latency: 5 ms to 10 s, finest where a caller hears the gap. */
const LATENCY_BUCKETS = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.2,
  0.3,
  0.5,
  0.75,
  1,
  1.5,
  2,
  3,
  5,
  10,
];

/** A whole reply can run long (tool calls, long answers). */
const COMPLETE_BUCKETS = [...LATENCY_BUCKETS, 20, 30, 60];

/**
 * Creates this server's metrics in a registry of their own, every series at
 * zero.
 *
 * Durations are in seconds (`ms / 1000`), as Prometheus expects.
 *
 * @returns The metrics and their renderer.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createServerMetrics } from "./metrics.ts";
 *
 * const metrics = createServerMetrics();
 * metrics.liveCalls.inc();
 * metrics.turns.inc({ kind: "response_required", outcome: "completed" });
 * metrics.firstFrameSeconds.observe({ kind: "response_required" }, 0.42);
 * const text = metrics.render();
 * assert.match(text, /^retell_live_calls 1$/m);
 * assert.match(
 *   text,
 *   /^retell_turns_total\{kind="response_required",outcome="completed"\} 1$/m,
 * );
 * ```
 */
export function createServerMetrics(): ServerMetrics {
  const registry = createMetricRegistry();
  const kind = { kind: TURN_KINDS };
  return {
    liveCalls: registry.gauge({
      name: "retell_live_calls",
      help: "Calls whose WebSocket is open.",
    }),
    callsEnded: registry.counter({
      name: "retell_calls_ended_total",
      help: "Calls ended, by how they ended.",
      labels: {
        reason: allOf<CallEndReason>({
          normal: true,
          dropped: true,
          error: true,
        }),
      },
    }),
    reconnectedCalls: registry.counter({
      name: "retell_reconnected_calls_total",
      help: "Connections for a call id that had connected before.",
    }),
    turns: registry.counter({
      name: "retell_turns_total",
      help: "Turns finished, by request kind and outcome.",
      labels: {
        ...kind,
        outcome: allOf<TurnOutcome>({
          completed: true,
          superseded: true,
          failed: true,
          timed_out: true,
          closed: true,
        }),
      },
    }),
    supersededResponses: registry.counter({
      name: "retell_superseded_responses_total",
      help: "Responses abandoned because a newer response_id arrived.",
    }),
    firstFrameSeconds: registry.histogram({
      name: "retell_turn_first_frame_seconds",
      help: "Time from a request to the first response frame sent.",
      labels: kind,
      buckets: LATENCY_BUCKETS,
    }),
    completeSeconds: registry.histogram({
      name: "retell_turn_complete_seconds",
      help: "Time from a request to its content_complete frame.",
      labels: kind,
      buckets: COMPLETE_BUCKETS,
    }),
    firstTokenSeconds: registry.histogram({
      name: "retell_model_first_token_seconds",
      help: "Time from a request to the model's first token.",
      buckets: LATENCY_BUCKETS,
    }),
    modelErrors: registry.counter({
      name: "retell_model_errors_total",
      help: "Model requests that failed, by kind.",
      labels: {
        kind: allOf<ModelErrorKind>({
          http: true,
          network: true,
          first_token_timeout: true,
          stall: true,
          stream: true,
        }),
      },
    }),
    framesRejected: registry.counter({
      name: "retell_frames_rejected_total",
      help: "Inbound frames rejected, by kind.",
      labels: {
        kind: allOf<FrameRejectKind>({
          not_json: true,
          not_event: true,
          null_optional: true,
          invalid: true,
          binary: true,
        }),
      },
    }),
    connectionsRefused: registry.counter({
      name: "retell_connections_refused_total",
      help: "Connections refused before they became calls, by reason.",
      labels: {
        reason: allOf<RefusalReason>({
          address: true,
          draining: true,
          handshake: true,
        }),
      },
    }),
    storeErrors: registry.counter({
      name: "retell_call_store_errors_total",
      help: "Call store operations that failed.",
    }),
    storeDegraded: registry.gauge({
      name: "retell_call_store_degraded",
      help: "1 while the call store is failing, else 0.",
    }),
    turnStalls: registry.counter({
      name: "retell_turn_stalls_total",
      help: "Turns whose responder went silent past the stall watchdog.",
    }),
    render: registry.render,
  };
}

/** Who may read the metrics; see {@linkcode createMetricsGuard}. */
export interface MetricsGuardOptions {
  /** Addresses and CIDR ranges that may read without a token (`METRICS_ALLOWED_IPS`). */
  allowedIps: readonly string[];
  /**
   * Bearer token that lets any address read (`METRICS_TOKEN`); empty or
   * absent means no token is accepted.
   */
  token?: string;
  /**
   * Reverse proxies whose `X-Forwarded-For` names the caller, as for calls.
   *
   * @default {[]}
   */
  trustProxy?: readonly string[];
}

/** What to answer a metrics request: the numbers, 403, or 404. */
export type MetricsAccess = "allowed" | "forbidden" | "not_found";

const BEARER_REGEXP = /^bearer +(\S+) *$/i;

/**
 * Creates the access rule for `GET /metrics`.
 *
 * A caller whose address (behind trusted proxies, as
 * {@linkcode createClientAddressResolver} resolves it) is in `allowedIps`
 * may read. So may any caller sending `Authorization: Bearer <token>` with
 * the configured token, compared in constant time. A caller that sends an
 * `Authorization` header with anything else gets `"forbidden"` (403) when a
 * token is configured; every other caller gets `"not_found"` (404), so the
 * route does not show that it exists.
 *
 * @param options Allowed addresses, token and trusted proxies.
 * @returns A function from a request and its connection info to the answer.
 * @throws {TypeError} When an address or proxy rule cannot be parsed.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMetricsGuard } from "./metrics.ts";
 *
 * const guard = createMetricsGuard({ allowedIps: ["127.0.0.1"], token: "s3cret" });
 * const from = (hostname: string) => ({
 *   remoteAddr: { transport: "tcp" as const, hostname, port: 40000 },
 *   completed: Promise.resolve(),
 * });
 * const url = "http://server/metrics";
 * assert.equal(guard(new Request(url), from("127.0.0.1")), "allowed");
 * assert.equal(guard(new Request(url), from("203.0.113.9")), "not_found");
 * const withToken = (token: string) =>
 *   new Request(url, { headers: { authorization: `Bearer ${token}` } });
 * assert.equal(guard(withToken("s3cret"), from("203.0.113.9")), "allowed");
 * assert.equal(guard(withToken("guess"), from("203.0.113.9")), "forbidden");
 * ```
 */
export function createMetricsGuard(
  options: MetricsGuardOptions,
): (request: Request, info: Deno.ServeHandlerInfo) => MetricsAccess {
  const isAllowed = createIpAllowlist(options.allowedIps);
  const resolveClient = createClientAddressResolver(options.trustProxy ?? []);
  const encoder = new TextEncoder();
  const token = encoder.encode(options.token ?? "");
  return function metricsAccess(request, info): MetricsAccess {
    const peer = info.remoteAddr.transport === "tcp"
      ? info.remoteAddr.hostname
      : "";
    const client = resolveClient(peer, request.headers.get("x-forwarded-for"));
    if (isAllowed(client)) return "allowed";
    const authorization = request.headers.get("authorization");
    if (token.length === 0 || authorization === null) return "not_found";
    const presented = BEARER_REGEXP.exec(authorization)?.[1];
    if (
      presented !== undefined && sameBytes(encoder.encode(presented), token)
    ) {
      return "allowed";
    }
    return "forbidden";
  };
}

/**
 * Compares a presented token with the secret in time that depends only on
 * the presented length, never on where they differ or the secret's length.
 */
function sameBytes(presented: Uint8Array, secret: Uint8Array): boolean {
  let difference = presented.length ^ secret.length;
  for (let index = 0; index < presented.length; index++) {
    difference |= presented[index]! ^ secret[index % secret.length]!;
  }
  return difference === 0;
}
