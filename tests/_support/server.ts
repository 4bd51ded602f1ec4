import { createDummyResponder } from "../../src/responders/dummy.ts";
import {
  createRetellServer,
  type RetellServer,
  type RetellServerOptions,
} from "../../src/server.ts";
import { captureLogs, type LogCapture } from "./logs.ts";

/** A real server on 127.0.0.1 and an ephemeral port. */
export interface TestServer extends AsyncDisposable {
  /** `ws://127.0.0.1:<port>{path}/{callId}`. */
  url(callId: string, path?: string): string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** The handler and its live calls. */
  readonly retell: RetellServer;
  /** What the server logged. */
  readonly logs: LogCapture;
}

/**
 * Starts `createRetellServer` behind a real `Deno.serve` on 127.0.0.1:0.
 * Loopback callers are allowed unless the options say otherwise; the dummy
 * responder answers unless another is given. Give `logs` to share one capture
 * with a responder. Disposing waits for every call
 * to end and the listener to close.
 */
export function startTestServer(
  options: Partial<RetellServerOptions> = {},
  logs: LogCapture = captureLogs(),
): TestServer {
  const retell = createRetellServer({
    responder: createDummyResponder(),
    log: logs.log,
    allowedIps: [],
    allowLoopback: true,
    ...options,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    retell.handler,
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    url: (callId, path = "/llm-websocket") =>
      `ws://127.0.0.1:${server.addr.port}${path}/${callId}`,
    origin,
    retell,
    logs,
    async [Symbol.asyncDispose]() {
      await Promise.all([...retell.calls].map((call) => call.ended));
      await server.shutdown();
    },
  };
}
