/**
 * This server's metric set, rendered by `GET /metrics`: what each metric
 * counts, its labels and their vocabularies, and the latency buckets.
 *
 * @module
 */
import type {
  InboundFailureKind,
  ReminderRequiredRequest,
  ResponseRequiredRequest,
} from "./protocol/inbound.ts";
import type {
  ModelErrorKind,
  ModelRequestOutcome,
  ModelRole,
} from "./responder.ts";
import {
  type Counter,
  createMetricRegistry,
  type Gauge,
  type Histogram,
  type LabelDomain,
  type Labels,
} from "./metric_registry.ts";

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
 * Why an inbound frame was rejected: the protocol module's reasons,
 * `binary` for a binary frame, which the protocol never uses, and the
 * input limits (`src/limits.ts`): `too_large` for a frame or call details
 * over their size limit, or a message too large to read at all, and
 * `rate_limited` for a frame over the call's rate.
 */
export type FrameRejectKind =
  | InboundFailureKind
  | "binary"
  | "too_large"
  | "rate_limited";

/** Why a connection was refused before it became a call. */
export type RefusalReason =
  /** The caller's address is not allowed (403). */
  | "address"
  /** The server is stopping (503). */
  | "draining"
  /** The WebSocket handshake is invalid (400). */
  | "handshake"
  /** `MAX_CALLS` calls are live (503). */
  | "capacity"
  /** The caller's address holds `MAX_CALLS_PER_ADDRESS` live calls (429). */
  | "address_limit"
  /** The URL does not carry `WS_SECRET` (403). */
  | "secret";

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
  /**
   * `retell_turn_first_sentence_seconds{kind}`: request to the first frame
   * after which a whole sentence was sent (or the complete frame).
   */
  firstSentenceSeconds: Histogram<{ kind: TurnKind }>;
  /** `retell_turn_complete_seconds{kind}`: request to the `content_complete` frame. */
  completeSeconds: Histogram<{ kind: TurnKind }>;
  /**
   * `retell_model_first_token_seconds`: request to the model's first token,
   * for responders that mark `first_token` (the LLM responder does).
   */
  firstTokenSeconds: Histogram;
  /** `retell_model_errors_total{kind}`: failed model requests, by kind. */
  modelErrors: Counter<{ kind: ModelErrorKind }>;
  /**
   * `retell_model_requests_total{role,outcome}`: model requests by the
   * model's role (`primary`, `fallback`) and how they ended.
   */
  modelRequests: Counter<{ role: ModelRole; outcome: ModelRequestOutcome }>;
  /** `retell_frames_rejected_total{kind}`: inbound frames rejected, by kind. */
  framesRejected: Counter<{ kind: FrameRejectKind }>;
  /** `retell_connections_refused_total{reason}`: connections refused, by reason. */
  connectionsRefused: Counter<{ reason: RefusalReason }>;
  /**
   * `retell_accept_restarts_total`: times the accept loop failed (out of
   * file descriptors, say) and the server listened again.
   */
  acceptRestarts: Counter;
  /** `retell_call_store_errors_total`: call store operations that failed. */
  storeErrors: Counter;
  /** `retell_call_store_degraded`: 1 while the call store is failing, else 0. */
  storeDegraded: Gauge;
  /** `retell_turn_stalls_total`: turns whose responder went silent past the watchdog. */
  turnStalls: Counter;
  /**
   * The names of the `agent` label that the call and turn metrics
   * (`retell_live_calls`, `retell_calls_ended_total`, `retell_turns_total`,
   * `retell_turn_first_frame_seconds`, `retell_turn_complete_seconds`)
   * carry; empty when they carry none.
   */
  readonly agents: readonly string[];
  /**
   * The same metrics, with the call and turn metrics counted under
   * `agent="<name>"`. Without agents, every agent counts together and this
   * returns the metrics themselves; the members of the metrics themselves
   * count for the first agent.
   *
   * @throws {RangeError} When `name` is not one of `agents`.
   */
  forAgent(name: string): ServerMetrics;
  /** Renders every metric for `GET /metrics`. */
  render(): string;
}

/** Options of {@linkcode createServerMetrics}. */
export interface ServerMetricsOptions {
  /**
   * The agents of a server with several: the call and turn metrics get an
   * `agent` label with these values, the first being the environment's
   * agent. The names come from settings and code, never from a request, so
   * the series stay bounded.
   *
   * @default {[]: no agent label}
   */
  agents?: readonly string[];
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
 * @param options The agents, when the call and turn metrics are to be
 * counted per agent.
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
export function createServerMetrics(
  options: ServerMetricsOptions = {},
): ServerMetrics {
  const agents = Object.freeze([...options.agents ?? []]);
  const registry = createMetricRegistry();
  const kind = { kind: TURN_KINDS };
  const agent: LabelDomain = agents.length > 0 ? { agent: agents } : {};
  const liveCalls = registry.gauge({
    name: "retell_live_calls",
    help: "Calls whose WebSocket is open.",
    labels: agent,
  });
  const callsEnded = registry.counter({
    name: "retell_calls_ended_total",
    help: "Calls ended, by how they ended.",
    labels: {
      ...agent,
      reason: allOf<CallEndReason>({
        normal: true,
        dropped: true,
        error: true,
      }),
    },
  });
  const reconnectedCalls = registry.counter({
    name: "retell_reconnected_calls_total",
    help: "Connections for a call id that had connected before.",
  });
  const turns = registry.counter({
    name: "retell_turns_total",
    help: "Turns finished, by request kind and outcome.",
    labels: {
      ...agent,
      ...kind,
      outcome: allOf<TurnOutcome>({
        completed: true,
        superseded: true,
        failed: true,
        timed_out: true,
        closed: true,
      }),
    },
  });
  const supersededResponses = registry.counter({
    name: "retell_superseded_responses_total",
    help: "Responses abandoned because a newer response_id arrived.",
  });
  const firstFrameSeconds = registry.histogram({
    name: "retell_turn_first_frame_seconds",
    help: "Time from a request to the first response frame sent.",
    labels: { ...agent, ...kind },
    buckets: LATENCY_BUCKETS,
  });
  const firstSentenceSeconds = registry.histogram({
    name: "retell_turn_first_sentence_seconds",
    help: "Time from a request to the first frame that ends a sentence.",
    labels: { ...agent, ...kind },
    buckets: COMPLETE_BUCKETS,
  });
  const completeSeconds = registry.histogram({
    name: "retell_turn_complete_seconds",
    help: "Time from a request to its content_complete frame.",
    labels: { ...agent, ...kind },
    buckets: COMPLETE_BUCKETS,
  });
  const perAgent = {
    liveCalls,
    callsEnded,
    turns,
    firstFrameSeconds,
    firstSentenceSeconds,
    completeSeconds,
  } as PerAgentMetrics;
  const shared = {
    reconnectedCalls,
    supersededResponses,
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
    modelRequests: registry.counter({
      name: "retell_model_requests_total",
      help: "Model requests, by the model's role and how they ended.",
      labels: {
        role: allOf<ModelRole>({ primary: true, fallback: true }),
        outcome: allOf<ModelRequestOutcome>({
          ok: true,
          failed: true,
          cancelled: true,
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
          too_large: true,
          rate_limited: true,
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
          capacity: true,
          address_limit: true,
          secret: true,
        }),
      },
    }),
    acceptRestarts: registry.counter({
      name: "retell_accept_restarts_total",
      help: "Times the accept loop failed and the server listened again.",
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
  const views = new Map<string, ServerMetrics>();

  function forAgent(name: string): ServerMetrics {
    const view = views.get(agents.length === 0 ? "" : name);
    if (view === undefined) {
      throw new RangeError(
        `Cannot count metrics for agent ${
          JSON.stringify(name)
        }: the metrics were created for ${agents.join(", ")}`,
      );
    }
    return view;
  }

  for (const name of agents.length === 0 ? [""] : agents) {
    const labelled = name === "" ? perAgent : labelledWith(perAgent, name);
    views.set(name, {
      ...shared,
      ...labelled as unknown as Pick<ServerMetrics, keyof PerAgentMetrics>,
      agents,
      forAgent,
    });
  }
  return views.get(agents[0] ?? "")!;
}

/** The call and turn metrics, which carry the `agent` label. */
interface PerAgentMetrics {
  liveCalls: Gauge<Labels>;
  callsEnded: Counter<Labels>;
  turns: Counter<Labels>;
  firstFrameSeconds: Histogram<Labels>;
  firstSentenceSeconds: Histogram<Labels>;
  completeSeconds: Histogram<Labels>;
}

/**
 * The call and turn metrics with `agent` set to `name` in every update;
 * updates without labels (`liveCalls.inc()`) get it as their only label.
 */
function labelledWith(metrics: PerAgentMetrics, name: string): PerAgentMetrics {
  function bind<T extends object>(metric: T, takesLabels: boolean): T {
    const bound: Record<string, unknown> = {};
    for (const method of ["inc", "dec", "set", "observe"]) {
      const update = (metric as Record<string, unknown>)[method];
      if (typeof update !== "function") continue;
      bound[method] = (...args: unknown[]) =>
        takesLabels
          ? update({ ...args[0] as Labels, agent: name }, ...args.slice(1))
          : update({ agent: name }, ...args);
    }
    return bound as T;
  }
  return {
    liveCalls: bind(metrics.liveCalls, false),
    callsEnded: bind(metrics.callsEnded, true),
    turns: bind(metrics.turns, true),
    firstFrameSeconds: bind(metrics.firstFrameSeconds, true),
    firstSentenceSeconds: bind(metrics.firstSentenceSeconds, true),
    completeSeconds: bind(metrics.completeSeconds, true),
  };
}
