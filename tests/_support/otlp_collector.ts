/**
 * A local OTLP/HTTP JSON collector on 127.0.0.1 and the `deno eval` child
 * that exports its traces to it, for tests of tracing with Deno's own
 * OpenTelemetry (`OTEL_DENO=true` only takes effect in a fresh process).
 */
import { fileURLToPath } from "node:url";

/** One span as OTLP/HTTP JSON carries it. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  events: { name: string }[];
  status: { code?: number; message?: string };
}

/** A span with the name of the instrumentation scope that made it. */
export interface ScopedSpan {
  /** The scope, e.g. our `TRACER_NAME` or Deno's own for `fetch`. */
  scope: string;
  /** The span. */
  span: OtlpSpan;
}

interface ExportTraceRequest {
  resourceSpans: {
    scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[];
  }[];
}

/** A span's attributes as a plain record of their values. */
export function attributesOf(span: OtlpSpan): Record<string, unknown> {
  return Object.fromEntries(
    span.attributes.map(({ key, value }) => [key, Object.values(value)[0]]),
  );
}

/** A running collector. */
export interface OtlpCollector {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Every span received on `/v1/traces` so far, in order of arrival. */
  spans(): ScopedSpan[];
  /** Stops the server once the requests in flight are answered. */
  shutdown(): Promise<void>;
}

/**
 * Starts a collector. Traces are kept; logs, metrics and any other path get
 * an empty JSON answer, except the paths of `routes`, answered by their
 * function.
 */
export function startOtlpCollector(
  routes: Record<string, () => Response> = {},
): OtlpCollector {
  const exports: ExportTraceRequest[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const { pathname } = new URL(request.url);
      const body = await request.text();
      if (pathname === "/v1/traces") exports.push(JSON.parse(body));
      return routes[pathname]?.() ?? Response.json({});
    },
  );
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    spans: () =>
      exports.flatMap((request) =>
        request.resourceSpans.flatMap((resource) =>
          resource.scopeSpans.flatMap((scope) =>
            scope.spans.map((span) => ({ scope: scope.scope.name, span }))
          )
        )
      ),
    shutdown: () => server.shutdown(),
  };
}

/**
 * `deno eval` of `script` with the repository's config and Deno's
 * OpenTelemetry on, sampling every trace and exporting it as JSON to the
 * collector at `origin`; stdout and stderr piped, killed when `signal` aborts.
 */
export function tracedChild(
  script: string,
  options: { origin: string; serviceName: string; signal: AbortSignal },
): Deno.Command {
  const { origin } = options;
  return new Deno.Command("deno", {
    args: [
      "eval",
      "--quiet",
      "--config",
      fileURLToPath(new URL("../../deno.json", import.meta.url)),
      script,
    ],
    env: {
      OTEL_DENO: "true",
      OTEL_SDK_DISABLED: "false",
      OTEL_TRACES_SAMPLER: "always_on",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: origin,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${origin}/v1/traces`,
      OTEL_SERVICE_NAME: options.serviceName,
    },
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  });
}
