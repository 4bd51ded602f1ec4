/** A scripted server, for testing the simulator against what a server sends. */
import type { OutboundEvent } from "../../src/protocol/outbound.ts";
import { configEvent, done } from "./frames.ts";
import type { Frame } from "./retell_client.ts";
import { waitUntil } from "./wait.ts";

/** What a scripted server can send: an event or any object (sent as JSON), raw text, or bytes. */
export type Sendable = OutboundEvent | Frame | string | Uint8Array;

/** The socket of one call, as the script sees it. */
export interface ScriptedPeer {
  /** Sends a frame; does nothing once the socket is no longer open. */
  send(frame: Sendable): void;
  /** Closes the socket. */
  close(code?: number, reason?: string): void;
  /** Runs `action` after `ms`, unless the call has closed by then. */
  later(ms: number, action: () => void): void;
}

/** What a scripted server does on each call. */
export interface Script {
  /** Sent in order as soon as a call opens; by default {@linkcode DEFAULT_START}. */
  start?: readonly Sendable[];
  /** Runs for every frame the simulator sends, parsed. */
  answer?(frame: Frame, peer: ScriptedPeer): void;
}

/** A scripted server on 127.0.0.1 and an ephemeral port. */
export interface ScriptedServer extends AsyncDisposable {
  /** `ws://127.0.0.1:<port>/llm-websocket`, without a call id. */
  readonly url: string;
  /** Every frame received from the simulator, parsed, in order. */
  readonly received: Frame[];
  /** Resolves once `enough` holds for the frames received; rejects after `timeoutMs`. */
  until(
    enough: (received: Frame[]) => boolean,
    timeoutMs?: number,
  ): Promise<void>;
}

/** A config with every setting off, then the begin message "Hi.". */
export const DEFAULT_START: readonly Frame[] = [configEvent(), done(0, "Hi.")];

/**
 * Starts a real `Deno.serve` on 127.0.0.1:0 that upgrades every request and
 * plays `script` on the socket. Timers started with `later` are cleared when
 * the call closes; disposing shuts the server down.
 */
export function startScriptedServer(script: Script = {}): ScriptedServer {
  const received: Frame[] = [];
  const waiters = new Set<() => void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      const timers = new Set<ReturnType<typeof setTimeout>>();
      const peer: ScriptedPeer = {
        send(frame) {
          if (socket.readyState !== WebSocket.OPEN) return;
          socket.send(
            typeof frame === "string" || frame instanceof Uint8Array
              ? frame
              : JSON.stringify(frame),
          );
        },
        close: (code, reason) => socket.close(code, reason),
        later(ms, action) {
          const timer = setTimeout(() => {
            timers.delete(timer);
            if (socket.readyState === WebSocket.OPEN) action();
          }, ms);
          timers.add(timer);
        },
      };
      socket.onopen = () => {
        for (const frame of script.start ?? DEFAULT_START) peer.send(frame);
      };
      socket.onmessage = (event) => {
        const frame = JSON.parse(event.data) as Frame;
        received.push(frame);
        waiters.forEach((waiter) => waiter());
        script.answer?.(frame, peer);
      };
      socket.onclose = () => timers.forEach(clearTimeout);
      return response;
    },
  );
  return {
    url: `ws://127.0.0.1:${server.addr.port}/llm-websocket`,
    received,
    until: (enough, timeoutMs = 3000) =>
      waitUntil(
        () => enough(received),
        waiters,
        timeoutMs,
        () =>
          `Cannot see the expected frames within ${timeoutMs} ms: received ${
            JSON.stringify(received)
          }`,
      ),
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A script's `answer` that answers every request with one complete frame, "Okay.". */
export function answerPolitely(frame: Frame, peer: ScriptedPeer): void {
  if (typeof frame.response_id === "number") {
    peer.send(done(frame.response_id, "Okay."));
  }
}
